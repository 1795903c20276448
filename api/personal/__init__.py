"""Personal data at rest: encrypted with a key kept outside the database, masked on output."""

"""Buildings and their rooms."""

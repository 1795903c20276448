"""Working calendars, deadlines per step in natural or working time, pauses and extensions."""

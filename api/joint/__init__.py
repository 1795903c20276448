"""Joint handling: one case, a lead department and assisting ones, each with its sub-task."""

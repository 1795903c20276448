"""Escalation that reaches a person: each level's queue and the climb of a case."""

"""Database models, sessions, migrations and the embedded cluster."""

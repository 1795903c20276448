"""The one-map web client: its page, static files and read models."""

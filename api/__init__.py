"""The gridgov FastAPI application, database models and CLI."""

__version__ = "0.1.0"

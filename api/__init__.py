"""The gridgov FastAPI application, database models and CLI."""

from pathlib import Path

__version__ = "0.1.0"
#: the static files of the web clients (pages, scripts, styles)
STATIC_DIR = Path(__file__).resolve().parent / "static"

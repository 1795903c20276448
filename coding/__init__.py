"""Codes and QR: grid codes, building and room codes, BeiDou grid codes, QR plates.

Pure functions; no database, no web framework.
"""

__all__: list[str] = []

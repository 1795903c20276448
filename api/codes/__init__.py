"""Codes and QR: building code sequences, plates, scans, the plate page and BeiDou grid codes."""

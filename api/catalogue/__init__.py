"""The rules a district runs on: departments, event categories and routing rules.

``service`` changes them (every change audited), ``tables`` reads and writes
them as CSV/XLSX, ``preview`` answers where a report would go, ``router`` and
``cli`` are the admin's two ways in.
"""

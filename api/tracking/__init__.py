"""A resident's tracking page ``/t/{token}``.

The status and timeline of a report, its photos and the evaluation form, found by the
report's public token (no sign-in).
"""

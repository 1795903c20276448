"""Outbound requests to addresses users give: the one check against internal targets (SSRF)."""

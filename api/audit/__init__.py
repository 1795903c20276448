"""The audit trail: an append-only, hash-chained log of changes and of reads of personal data."""

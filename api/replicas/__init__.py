"""Reads from PostgreSQL streaming replicas (``GRIDGOV_DATABASE_READ_URL``).

Tiles, OGC features, event statistics and analytics read on a replica (round
robin over several); writes, and reads that must see one's own writes (a case
page after an action, the tracking page after a report), stay on the primary.
Caches stay correct under replica lag: they are keyed by the change counters
of the primary (``tile_versions``), and an answer that would be cached is
computed on the primary when the replica's counters are behind them
(:func:`api.replicas.routing.caught_up`).
"""

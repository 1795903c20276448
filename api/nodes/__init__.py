"""Several API processes against one database: what must run once per database.

Background work that must not run twice at once (the delivery worker, the
escalation pass) takes a PostgreSQL advisory lock; everything else an API
process keeps (the grid index, the tile cache, the analysis cache) follows the
change counters committed in the database, so any process sees every commit.
"""

"""gridgov spatial engine: pure functions over GeoDataFrames and arrays.

Nothing here imports a web framework or a database driver; every function is
usable from a notebook without the server.
"""

__all__: list[str] = []

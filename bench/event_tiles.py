"""Events tile sizes per zoom (issue 20: no events tile over 500 KB at any zoom).

Builds the events layer's tiles straight from the database (the size does not
depend on the transport) over the sample's extent: every tile up to z14 and
the ``--densest`` tiles with most events at each higher zoom, for all events
and for the one-map's default view (open events of the last 30 days). Prints
the number of tiles, the median, the largest size and the largest feature count
per zoom, and whether the 500 KB limit holds. Run::

    .venv/bin/python bench/event_tiles.py [--scale district] [--database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mapbox_vector_tile
from sqlalchemy import Connection, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from api.db.session import make_engine  # noqa: E402
from api.settings import TileSettings  # noqa: E402
from api.tiles.service import TileService  # noqa: E402
from layers import get_layer  # noqa: E402
from testkit.databases import analysed_sample_database as database  # noqa: E402
from testkit.tiles import tiles_at  # noqa: E402

LIMIT = 500 * 1024
def measure(conn: Connection, tiles: TileService, zooms: range, densest: int,
            filters: dict[str, str]) -> bool:
    """Print one row per zoom; True when no tile exceeds the limit."""
    layer, ok = get_layer("events"), True
    print(f"{'zoom':>4} {'tiles':>6} {'median KB':>10} {'max KB':>8} {'max features':>13}")
    for z in zooms:
        sizes, most = [], 0
        for x, y in tiles_at(conn, z, densest):
            data = tiles.layer_tile(layer, z, x, y, filters).data
            sizes.append(len(data))
            if data:
                most = max(most, len(mapbox_vector_tile.decode(data)["events"]["features"]))
        ok &= max(sizes) <= LIMIT
        print(f"{z:>4} {len(sizes):>6} {statistics.median(sizes) / 1024:>10.1f} "
              f"{max(sizes) / 1024:>8.1f} {most:>13}")
    return ok


def main() -> None:
    """Measure and print the sizes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="district", choices=("small", "town", "district"))
    parser.add_argument("--database-url", help="an existing database holding a sample")
    parser.add_argument("--server-url", help="a PostgreSQL server for a fresh database")
    parser.add_argument("--densest", type=int, default=10)
    args = parser.parse_args()
    start = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    views = {"all events": {}, "default view (open, last 30 days)":
             {"open": "true", "datetime": f"{start}/.."}}

    def run(url: str) -> None:
        engine = make_engine(url, pool_size=1)
        tiles = TileService.from_settings(engine, TileSettings(cache_bytes=0, connections=1))
        tiles.sync()
        with engine.connect() as conn:
            n = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
            ok = True
            for name, filters in views.items():
                print(f"\nevents tiles, {name}; {n} events in the database")
                ok &= measure(conn, tiles, range(10, 23), args.densest, filters)
        tiles.close()
        engine.dispose()
        print(f"\nno tile over 500 KB: {'yes' if ok else 'NO'}")

    if args.database_url:
        run(args.database_url)
    else:
        with database(args.server_url, args.scale) as url:
            run(url)


if __name__ == "__main__":
    main()

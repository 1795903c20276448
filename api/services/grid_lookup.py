"""Which grid, in every layer, holds a point: the server's view of the grid engine.

The app keeps one ``GridLookup`` in ``app.state.grid_lookup``. Services call
``lookup.assign(lon, lat, at)`` with arrays in EPSG:4326 and get a DataFrame
with one column per grid layer (exclusive layers: a code or None;
non-exclusive layers: a sorted list of codes or None).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import numpy as np
import pandas as pd
from fastapi import Request
from sqlalchemy import Engine, text


class GridLookup(Protocol):
    """Assign points to grids."""

    def layers(self) -> dict[str, bool]:
        """Grid layer names with their ``exclusive`` flag."""
        ...

    def assign(self, lon: np.ndarray, lat: np.ndarray, at: datetime | None = None
               ) -> pd.DataFrame:
        """One row per point, one column per layer."""
        ...


_SQL = """
WITH pts AS (
    SELECT ord, ST_SetSRID(ST_MakePoint(x, y), 4326) AS geom
    FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS t(x, y, ord)
)
SELECT p.ord, l.name AS layer, l.exclusive, g.code
FROM pts p
JOIN grids g ON ST_Covers(g.geom, p.geom)
    AND (g.valid_from IS NULL OR g.valid_from <= CAST(:at AS timestamptz))
    AND (g.valid_to IS NULL OR g.valid_to > CAST(:at AS timestamptz))
JOIN grid_layers l ON l.id = g.layer_id
"""


class PostGISGridLookup:
    """Assignment by a PostGIS join (``ST_Covers`` + the smallest-code tie rule)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def layers(self) -> dict[str, bool]:
        """Grid layer names with their ``exclusive`` flag."""
        with self.engine.connect() as conn:
            return dict(conn.execute(text("SELECT name, exclusive FROM grid_layers "
                                          "ORDER BY id")).all())

    def assign(self, lon: np.ndarray, lat: np.ndarray, at: datetime | None = None
               ) -> pd.DataFrame:
        """One row per point, one column per layer."""
        layers = self.layers()
        out = pd.DataFrame({name: pd.Series([None] * len(lon), dtype=object)
                            for name in layers})
        if len(lon) == 0:
            return out
        with self.engine.connect() as conn:
            rows = conn.execute(text(_SQL), {
                "xs": np.asarray(lon, float).tolist(), "ys": np.asarray(lat, float).tolist(),
                "at": at or datetime.now().astimezone()}).all()
        hits: dict[tuple[int, str], list[str]] = {}
        for ordinal, layer, _, code in rows:
            hits.setdefault((ordinal - 1, layer), []).append(code)
        for (i, layer), codes in hits.items():
            codes.sort()
            out.at[i, layer] = codes[0] if layers[layer] else codes
        return out


def get_grid_lookup(request: Request) -> GridLookup:
    """The app's grid lookup (dependency)."""
    lookup: GridLookup = request.app.state.grid_lookup
    return lookup

"""Building codes given out from per-community sequences, and stored BeiDou codes."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Connection, text

from coding import beidou
from coding.building_codes import make_building_code
from gis_core.errors import InvalidInput

#: BeiDou level stored for every building (about 1 m).
BUILDING_BEIDOU_LEVEL = 8

_SEQUENCE = """
INSERT INTO building_code_sequences AS s (community_code, last_seq)
VALUES (:community, :existing + :n)
ON CONFLICT (community_code) DO UPDATE SET last_seq = greatest(s.last_seq, :existing) + :n
RETURNING last_seq
"""
_EXISTING = """
SELECT coalesce(max(substr(code, 13, 5)::int), 0) FROM buildings
WHERE left(code, 12) = :community AND code ~ '^[0-9]{17}[0-9A-Z*]$'
"""


def allocate_building_codes(conn: Connection, community_code: str, n: int = 1) -> list[str]:
    """Give out ``n`` new building codes of a community, never one given before.

    The community's sequence only moves forward (and never below the highest
    code stored), so a demolished or deleted building's code is not reused.

    Raises
    ------
    InvalidInput
        For a community code that is not 12 digits, ``n < 1``, or a sequence
        past 99999.
    """
    if not (isinstance(community_code, str) and len(community_code) == 12
            and community_code.isdigit()):
        raise InvalidInput(f"parameter 'community_code': 12 digits expected, got "
                           f"{community_code!r}", parameter="community_code")
    if n < 1:
        raise InvalidInput("parameter 'n': at least 1", parameter="n")
    existing = conn.execute(text(_EXISTING), {"community": community_code}).scalar_one()
    last = int(conn.execute(text(_SEQUENCE), {"community": community_code,
                                              "existing": existing, "n": n}).scalar_one())
    if last > 99_999:
        raise InvalidInput(f"community {community_code} has no building sequences left "
                           "(99999 given out)", parameter="community_code")
    return [make_building_code(community_code, seq) for seq in range(last - n + 1, last + 1)]


def fill_beidou_codes(conn: Connection, only_missing: bool = True) -> int:
    """Store each building's level-8 BeiDou code (of a point on its footprint)."""
    where = "WHERE beidou_code IS NULL" if only_missing else ""
    rows = conn.execute(text(
        f"SELECT id, ST_X(p), ST_Y(p) FROM (SELECT id, ST_PointOnSurface(geom) p "  # noqa: S608 - SQL from trusted parts; values bound
        f"FROM buildings {where}) s")).all()
    if not rows:
        return 0
    ids = [r[0] for r in rows]
    lon = np.array([r[1] for r in rows], dtype=float)
    lat = np.array([r[2] for r in rows], dtype=float)
    codes = beidou.encode_array(lon, lat, BUILDING_BEIDOU_LEVEL).tolist()
    conn.execute(text(
        "UPDATE buildings b SET beidou_code = v.code FROM unnest(CAST(:ids AS int[]), "
        "CAST(:codes AS text[])) AS v(id, code) WHERE b.id = v.id"),
        {"ids": ids, "codes": codes})
    return len(ids)

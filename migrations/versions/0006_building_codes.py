"""building BeiDou codes and code sequences

Each building stores its level-8 BeiDou grid location code (GB/T 39409, about
1 m) of a point on its footprint; ``building_code_sequences`` keeps the last
building sequence given out per community so a code is never given twice, even
after the building is demolished and its row deleted.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 02:00:00
"""

from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("buildings", sa.Column("beidou_code", sa.String(length=24), nullable=True))
    op.create_index(op.f("ix_buildings_beidou_code"), "buildings", ["beidou_code"],
                    unique=False)
    op.create_table(
        "building_code_sequences",
        sa.Column("community_code", sa.String(length=12), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("community_code", name=op.f("pk_building_code_sequences")),
    )
    conn = op.get_bind()
    conn.execute(sa.text(
        "INSERT INTO building_code_sequences (community_code, last_seq) "
        "SELECT left(code, 12), max(substr(code, 13, 5)::int) FROM buildings "
        "WHERE code ~ '^[0-9]{17}[0-9A-Z*]$' GROUP BY 1"))
    _fill_beidou_codes(conn)


def _fill_beidou_codes(conn: sa.Connection) -> None:
    """Store each building's level-8 BeiDou code (frozen here: no application code)."""
    from coding import beidou  # GB/T 39409, the standard library of codes

    rows = conn.execute(sa.text(
        "SELECT id, ST_X(p), ST_Y(p) FROM (SELECT id, ST_PointOnSurface(geom) p "
        "FROM buildings WHERE beidou_code IS NULL) s")).all()
    if not rows:
        return
    lon = np.array([r[1] for r in rows], dtype=float)
    lat = np.array([r[2] for r in rows], dtype=float)
    conn.execute(sa.text(
        "UPDATE buildings b SET beidou_code = v.code FROM unnest(CAST(:ids AS int[]), "
        "CAST(:codes AS text[])) AS v(id, code) WHERE b.id = v.id"),
        {"ids": [r[0] for r in rows], "codes": beidou.encode_array(lon, lat, 8).tolist()})


def downgrade() -> None:
    op.drop_table("building_code_sequences")
    op.drop_index(op.f("ix_buildings_beidou_code"), table_name="buildings")
    op.drop_column("buildings", "beidou_code")

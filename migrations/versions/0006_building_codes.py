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
    from api.codes.service import fill_beidou_codes

    fill_beidou_codes(conn)


def downgrade() -> None:
    op.drop_table("building_code_sequences")
    op.drop_index(op.f("ix_buildings_beidou_code"), table_name="buildings")
    op.drop_column("buildings", "beidou_code")

"""buildings keep the identifier of the system they came from

``buildings.external_code`` holds a foreign identifier (an OSM id, a BIN, the
``Id`` of a web-map extract) next to the standard building code, which every
building has (``gridgov import buildings`` allocates one when the file has
none). It is indexed for look-ups by that identifier and need not be unique.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("buildings", sa.Column("external_code", sa.Text(), nullable=True))
    op.create_index("ix_buildings_external_code", "buildings", ["external_code"])


def downgrade() -> None:
    op.drop_index("ix_buildings_external_code", table_name="buildings")
    op.drop_column("buildings", "external_code")

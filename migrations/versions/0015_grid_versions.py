"""grid versions: a layer's new version uploaded as a draft, checked, repaired, published

``grid_versions`` holds each version of a grid layer (draft, published or
discarded; who uploaded and published it, its effective date and what
publication changed); ``grid_version_grids`` its grids as uploaded.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "grid_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("layer_id", sa.Integer(), sa.ForeignKey(
            "grid_layers.id", ondelete="CASCADE", name="fk_grid_versions_layer_id_grid_layers"),
            nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("effective_from", TS, nullable=True),
        sa.Column("published_at", TS, nullable=True),
        sa.Column("published_by", sa.Text(), nullable=True),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()),
                  server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'published', 'discarded')",
                           name="ck_grid_versions_status"),
        sa.PrimaryKeyConstraint("id", name="pk_grid_versions"),
    )
    op.create_index("ix_grid_versions_layer_id", "grid_versions", ["layer_id"])
    op.create_geospatial_table(
        "grid_version_grids",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey(
            "grid_versions.id", ondelete="CASCADE",
            name="fk_grid_version_grids_version_id_grid_versions"), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("alias_code", sa.String(length=32), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("geom", Geometry(geometry_type="MULTIPOLYGON", srid=4326, dimension=2,
                                   spatial_index=False, from_text="ST_GeomFromEWKT",
                                   name="geometry", nullable=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_grid_version_grids"),
        sa.UniqueConstraint("version_id", "code", name="uq_grid_version_grids_version_code"),
    )
    op.create_index("ix_grid_version_grids_version_id", "grid_version_grids", ["version_id"])
    op.create_geospatial_index("idx_grid_version_grids_geom", "grid_version_grids", ["geom"],
                               unique=False, postgresql_using="gist", postgresql_ops={})


def downgrade() -> None:
    op.drop_geospatial_index("idx_grid_version_grids_geom", table_name="grid_version_grids",
                             column_name="geom")
    op.drop_geospatial_table("grid_version_grids")
    op.drop_table("grid_versions")

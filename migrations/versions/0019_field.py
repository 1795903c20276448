"""field app: patrol shifts, track points, plate check-ins

``patrol_shifts`` are keyed by the UUID the phone made at start, so a shift
started offline is sent any number of times and stored once. ``track_points``
hold the kept positions (time, point, accuracy, grid of the field layer),
unique per shift and time. ``field_checkins`` hold check-ins at buildings with
the phone's distance to the footprint, unique per worker and Idempotency-Key.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _point() -> Geometry:
    return Geometry(geometry_type="POINT", srid=4326, dimension=2, spatial_index=False,
                    from_text="ST_GeomFromEWKT", name="geometry")


def upgrade() -> None:
    op.create_table(
        "patrol_shifts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Integer(), sa.ForeignKey(
            "users.id", ondelete="CASCADE", name="fk_patrol_shifts_worker_id_users"),
            nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_patrol_shifts"),
    )
    op.create_index("ix_patrol_shifts_worker_id", "patrol_shifts", ["worker_id"])
    op.create_table(
        "track_points",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("shift_id", sa.Uuid(), sa.ForeignKey(
            "patrol_shifts.id", ondelete="CASCADE", name="fk_track_points_shift_id_patrol_shifts"),
            nullable=False),
        sa.Column("worker_id", sa.Integer(), sa.ForeignKey(
            "users.id", ondelete="CASCADE", name="fk_track_points_worker_id_users"),
            nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        # the position, encrypted at rest like every personal field (api.personal)
        sa.Column("position", sa.Text(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_track_points"),
        sa.UniqueConstraint("shift_id", "recorded_at", name="uq_track_points_shift_time"),
    )
    op.create_index("ix_track_points_worker_time", "track_points", ["worker_id", "recorded_at"])
    op.create_index("ix_track_points_recorded_at", "track_points", ["recorded_at"])
    op.create_index("ix_track_points_grid_code", "track_points", ["grid_code"])
    op.create_table(
        "field_checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), sa.ForeignKey(
            "users.id", ondelete="CASCADE", name="fk_field_checkins_worker_id_users"),
            nullable=False),
        sa.Column("building_id", sa.Integer(), sa.ForeignKey(
            "buildings.id", ondelete="CASCADE", name="fk_field_checkins_building_id_buildings"),
            nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("geom", _point(), nullable=True),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.Column("client_key", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_field_checkins"),
        sa.UniqueConstraint("worker_id", "client_key", name="uq_field_checkins_worker_key"),
    )
    op.create_index("ix_field_checkins_worker_at", "field_checkins", ["worker_id", "at"])
    op.create_index("ix_field_checkins_building_id", "field_checkins", ["building_id"])
    op.create_index("ix_field_checkins_grid_code", "field_checkins", ["grid_code"])
    op.create_geospatial_index("idx_field_checkins_geom", "field_checkins", ["geom"],
                               unique=False, postgresql_using="gist", postgresql_ops={})


def downgrade() -> None:
    op.drop_geospatial_index("idx_field_checkins_geom", table_name="field_checkins",
                             column_name="geom")
    op.drop_geospatial_table("field_checkins")
    op.drop_table("track_points")
    op.drop_table("patrol_shifts")

"""relay2: detections from cameras

``camera_detection_types`` maps a video-analytics detection type to the
category its cases get and the confidence above which it registers at once
(null: ``GRIDGOV_CAMERA_THRESHOLD``). ``camera_detections`` holds every
detection received: where it is, its snapshot, and what became of it
(registered as an event, waiting for review, accepted, rejected, or a
duplicate of an earlier one inside the camera's cool-down). ``neighbours``
holds the neighbouring jurisdictions (territory, Open311 endpoint and key) and
``handovers`` the reports forwarded to them, with their id and status.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 16:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
STATUSES = ("registered", "review", "accepted", "rejected", "duplicate")


def upgrade() -> None:
    op.create_table(
        "camera_detection_types",
        sa.Column("type", sa.String(length=32), primary_key=True),
        sa.Column("category_code", sa.String(length=16), sa.ForeignKey(
            "event_categories.code", name="fk_camera_detection_types_category_code_event_categories"),
            nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.CheckConstraint("threshold IS NULL OR threshold BETWEEN 0 AND 1",
                           name="ck_camera_detection_types_threshold"),
    )
    op.create_geospatial_table(
        "camera_detections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("camera_id", sa.Integer(), sa.ForeignKey(
            "cameras.id", ondelete="CASCADE", name="fk_camera_detections_camera_id_cameras"),
            nullable=False),
        sa.Column("type", sa.String(length=32), sa.ForeignKey(
            "camera_detection_types.type", name="fk_camera_detections_type_camera_detection_types"), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("detected_at", TS, nullable=False),
        sa.Column("received_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("bearing", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("snapshot_path", sa.Text(), nullable=False),
        sa.Column("snapshot_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.BigInteger(), sa.ForeignKey(
            "events.id", ondelete="SET NULL", name="fk_camera_detections_event_id_events"),
            nullable=True),
        sa.Column("duplicate_of", sa.Integer(), sa.ForeignKey(
            "camera_detections.id", ondelete="SET NULL",
            name="fk_camera_detections_duplicate_of_camera_detections"), nullable=True),
        sa.Column("reviewed_by", sa.Text(), nullable=True),
        sa.Column("reviewed_at", TS, nullable=True),
        sa.CheckConstraint("confidence BETWEEN 0 AND 1", name="ck_camera_detections_confidence"),
        sa.CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")",
                           name="ck_camera_detections_status"),
    )
    op.create_geospatial_index("idx_camera_detections_geom", "camera_detections", ["geom"],
                               unique=False, postgresql_using="gist", postgresql_ops={})
    op.create_index("ix_camera_detections_repeat", "camera_detections",
                    ["camera_id", "type", "detected_at"])
    op.create_index("ix_camera_detections_review", "camera_detections", ["received_at"],
                    postgresql_where=sa.text("status = 'review'"))
    op.create_geospatial_table(
        "neighbours",
        sa.Column("code", sa.String(length=32), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("territory", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False),
                  nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("api_key", sa.Text(), nullable=False),
    )
    op.create_geospatial_index("idx_neighbours_territory", "neighbours", ["territory"],
                               unique=False, postgresql_using="gist", postgresql_ops={})
    op.create_geospatial_table(
        "handovers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("neighbour_code", sa.String(length=32), sa.ForeignKey(
            "neighbours.code", name="fk_handovers_neighbour_code_neighbours"), nullable=False),
        sa.Column("their_id", sa.Text(), nullable=False),
        sa.Column("category_code", sa.String(length=16), nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("their_status", sa.String(length=16), nullable=False),
        sa.Column("forwarded_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("polled_at", TS, nullable=True),
    )
    op.create_geospatial_index("idx_handovers_geom", "handovers", ["geom"],
                               unique=False, postgresql_using="gist", postgresql_ops={})


def downgrade() -> None:
    op.drop_geospatial_index("idx_handovers_geom", table_name="handovers", column_name="geom")
    op.drop_geospatial_table("handovers")
    op.drop_geospatial_index("idx_neighbours_territory", table_name="neighbours",
                             column_name="territory")
    op.drop_geospatial_table("neighbours")
    op.drop_geospatial_index("idx_camera_detections_geom", table_name="camera_detections",
                             column_name="geom")
    op.drop_geospatial_table("camera_detections")
    op.drop_table("camera_detection_types")

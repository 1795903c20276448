"""core schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 22:21:40.330992
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_geospatial_table(
        "admin_areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_code", sa.String(length=12), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.CheckConstraint(
            "level IN ('city', 'district', 'street', 'community')",
            name=op.f("ck_admin_areas_level"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_code"],
            ["admin_areas.code"],
            name=op.f("fk_admin_areas_parent_code_admin_areas"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_areas")),
        sa.UniqueConstraint("code", name=op.f("uq_admin_areas_code")),
    )
    op.create_geospatial_index(
        "idx_admin_areas_geom",
        "admin_areas",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_admin_areas_parent_code"), "admin_areas", ["parent_code"], unique=False
    )
    op.create_geospatial_table(
        "cameras",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("mount_height", sa.Float(), nullable=False),
        sa.Column("heading", sa.Float(), nullable=False),
        sa.Column("hfov", sa.Float(), nullable=False),
        sa.Column("range_m", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=16), server_default="fixed", nullable=False),
        sa.Column("pan_min", sa.Float(), nullable=True),
        sa.Column("pan_max", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="online", nullable=False),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('fixed', 'ptz', 'dome', 'long_range')", name=op.f("ck_cameras_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cameras")),
    )
    op.create_geospatial_index(
        "idx_cameras_geom",
        "cameras",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_cameras_code"), "cameras", ["code"], unique=True)
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
    )
    op.create_index(op.f("ix_departments_code"), "departments", ["code"], unique=True)
    op.create_table(
        "grid_layers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_layers")),
    )
    op.create_index(op.f("ix_grid_layers_name"), "grid_layers", ["name"], unique=True)
    op.create_geospatial_table(
        "roads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTILINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roads")),
    )
    op.create_geospatial_index(
        "idx_roads_geom",
        "roads",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "buildings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("floors", sa.Integer(), nullable=True),
        sa.Column("height", sa.Float(), nullable=True),
        sa.Column("use", sa.String(length=32), nullable=True),
        sa.Column("community_code", sa.String(length=12), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["community_code"],
            ["admin_areas.code"],
            name=op.f("fk_buildings_community_code_admin_areas"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buildings")),
    )
    op.create_geospatial_index(
        "idx_buildings_geom",
        "buildings",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_buildings_code"), "buildings", ["code"], unique=True)
    op.create_index(
        op.f("ix_buildings_community_code"), "buildings", ["community_code"], unique=False
    )
    op.create_table(
        "event_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("major_code", sa.String(length=8), nullable=False),
        sa.Column("major_name", sa.Text(), nullable=False),
        sa.Column("major_name_en", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("time_limit_hours", sa.Float(), nullable=False),
        sa.Column("closing_standard", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_event_categories_department_id_departments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_categories")),
    )
    op.create_index(op.f("ix_event_categories_code"), "event_categories", ["code"], unique=True)
    op.create_index(
        op.f("ix_event_categories_major_code"), "event_categories", ["major_code"], unique=False
    )
    op.create_geospatial_table(
        "grids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("alias_code", sa.String(length=32), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("community_code", sa.String(length=12), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from",
            name=op.f("ck_grids_validity"),
        ),
        sa.ForeignKeyConstraint(
            ["community_code"],
            ["admin_areas.code"],
            name=op.f("fk_grids_community_code_admin_areas"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["layer_id"],
            ["grid_layers.id"],
            name=op.f("fk_grids_layer_id_grid_layers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grids")),
        sa.UniqueConstraint("layer_id", "code", "valid_from", name="uq_grids_layer_code_from"),
    )
    op.create_geospatial_index(
        "idx_grids_geom",
        "grids",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_grids_alias", "grids", ["layer_id", "alias_code"], unique=False)
    op.create_index(op.f("ix_grids_code"), "grids", ["code"], unique=False)
    op.create_index(op.f("ix_grids_community_code"), "grids", ["community_code"], unique=False)
    op.create_geospatial_table(
        "events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("public_token", sa.String(length=32), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="registered", nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column(
            "grids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("community_code", sa.String(length=12), nullable=True),
        sa.Column("street_code", sa.String(length=12), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column(
            "reported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("reporter_name", sa.Text(), nullable=True),
        sa.Column("reporter_phone", sa.Text(), nullable=True),
        sa.Column("reporter_email", sa.Text(), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('registered', 'dispatched', 'in_progress', 'handled', 'verified', 'closed', 'evaluated', 'rejected', 'returned', 'duplicate', 'cancelled')",
            name=op.f("ck_events_status"),
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_events_building_id_buildings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["event_categories.id"],
            name=op.f("fk_events_category_id_event_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_events_department_id_departments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_geospatial_index(
        "idx_events_geom",
        "events",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_events_building_id"), "events", ["building_id"], unique=False)
    op.create_index(op.f("ix_events_category_id"), "events", ["category_id"], unique=False)
    op.create_index(op.f("ix_events_community_code"), "events", ["community_code"], unique=False)
    op.create_index(op.f("ix_events_department_id"), "events", ["department_id"], unique=False)
    op.create_index("ix_events_grids", "events", ["grids"], unique=False, postgresql_using="gin")
    op.create_index(op.f("ix_events_public_token"), "events", ["public_token"], unique=True)
    op.create_index("ix_events_reported_at", "events", ["reported_at"], unique=False)
    op.create_index(op.f("ix_events_status"), "events", ["status"], unique=False)
    op.create_index(op.f("ix_events_street_code"), "events", ["street_code"], unique=False)
    op.create_table(
        "rooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.Integer(), nullable=True),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_rooms_building_id_buildings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
    )
    op.create_index(op.f("ix_rooms_building_id"), "rooms", ["building_id"], unique=False)
    op.create_index(op.f("ix_rooms_code"), "rooms", ["code"], unique=True)
    op.create_table(
        "event_history",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_history_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_history")),
    )
    op.create_index(op.f("ix_event_history_event_id"), "event_history", ["event_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_event_history_event_id"), table_name="event_history")
    op.drop_table("event_history")
    op.drop_index(op.f("ix_rooms_code"), table_name="rooms")
    op.drop_index(op.f("ix_rooms_building_id"), table_name="rooms")
    op.drop_table("rooms")
    op.drop_index(op.f("ix_events_street_code"), table_name="events")
    op.drop_index(op.f("ix_events_status"), table_name="events")
    op.drop_index("ix_events_reported_at", table_name="events")
    op.drop_index(op.f("ix_events_public_token"), table_name="events")
    op.drop_index("ix_events_grids", table_name="events", postgresql_using="gin")
    op.drop_index(op.f("ix_events_department_id"), table_name="events")
    op.drop_index(op.f("ix_events_community_code"), table_name="events")
    op.drop_index(op.f("ix_events_category_id"), table_name="events")
    op.drop_index(op.f("ix_events_building_id"), table_name="events")
    op.drop_geospatial_index(
        "idx_events_geom", table_name="events", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("events")
    op.drop_index(op.f("ix_grids_community_code"), table_name="grids")
    op.drop_index(op.f("ix_grids_code"), table_name="grids")
    op.drop_index("ix_grids_alias", table_name="grids")
    op.drop_geospatial_index(
        "idx_grids_geom", table_name="grids", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("grids")
    op.drop_index(op.f("ix_event_categories_major_code"), table_name="event_categories")
    op.drop_index(op.f("ix_event_categories_code"), table_name="event_categories")
    op.drop_table("event_categories")
    op.drop_index(op.f("ix_buildings_community_code"), table_name="buildings")
    op.drop_index(op.f("ix_buildings_code"), table_name="buildings")
    op.drop_geospatial_index(
        "idx_buildings_geom", table_name="buildings", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("buildings")
    op.drop_geospatial_index(
        "idx_roads_geom", table_name="roads", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("roads")
    op.drop_index(op.f("ix_grid_layers_name"), table_name="grid_layers")
    op.drop_table("grid_layers")
    op.drop_index(op.f("ix_departments_code"), table_name="departments")
    op.drop_table("departments")
    op.drop_index(op.f("ix_cameras_code"), table_name="cameras")
    op.drop_geospatial_index(
        "idx_cameras_geom", table_name="cameras", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("cameras")
    op.drop_index(op.f("ix_admin_areas_parent_code"), table_name="admin_areas")
    op.drop_geospatial_index(
        "idx_admin_areas_geom",
        table_name="admin_areas",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("admin_areas")

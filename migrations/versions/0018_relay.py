"""relay: notifications without an event, the area of an escalation level, joint handling

``notifications`` may be about something other than an event (a visit due, an
anomaly alert): ``event_id`` becomes optional and ``payload`` carries the
values of the message's template. ``gridgov_level_area(community, street,
level)`` is the admin area of an event at an escalation level (its community,
street, district or city), the one home of that rule for the outbox and the
escalation queues. ``event_subtasks`` holds the lead and assisting
departments' sub-tasks of a jointly handled case; ``anomaly_alerts`` the
anomaly alerts the schedule found (one per grid, period and category);
``camera_links`` a camera's key (its SHA-256) and last heartbeat.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)

TEMPLATES = [
    ("visit_due", "zh", "走访提醒：$subject", "$subject 的走访应于 $due_at 前完成。地址：$address。"),
    ("visit_due", "en", "Visit due: $subject",
     "The visit to $subject is due by $due_at. Address: $address."),
    ("anomaly", "zh", "网格异动预警：$area", "$area 的网格 $grid 出现异动：$count 起案件"
     "（通常约 $expected 起），时段 $window。请关注。"),
    ("anomaly", "en", "Anomaly alert: $area", "Grid $grid in $area shows an anomaly: $count "
     "cases (about $expected expected) in $window."),
    ("subtask", "zh", "协同案件 #$id：$category",
     "案件 #$id（$category）需贵部门协同处置，地址：$address，处置时限：$due_at。"),
    ("subtask", "en", "Joint case #$id: $category",
     "Your department is asked to take part in case #$id ($category). Address: $address. "
     "Due: $due_at."),
]

LEVEL_AREA = """
CREATE OR REPLACE FUNCTION gridgov_level_area(community text, street text, level text)
RETURNS text LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up(code, lvl, parent) AS (
        SELECT a.code::text, a.level::text, a.parent_code::text FROM admin_areas a
        WHERE a.code = coalesce(community, street)
        UNION
        SELECT p.code::text, p.level::text, p.parent_code::text
        FROM up JOIN admin_areas p ON p.code = up.parent
    )
    SELECT code FROM up WHERE lvl = level LIMIT 1
$$
"""


def upgrade() -> None:
    op.alter_column("notifications", "event_id", nullable=True)
    op.add_column("notifications", sa.Column(
        "payload", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False))
    op.create_check_constraint(op.f("ck_notifications_about_something"), "notifications",
                               "event_id IS NOT NULL OR kind IN ('visit_due', 'anomaly')")
    templates = sa.table("notify_templates", sa.column("kind"), sa.column("category_code"),
                         sa.column("language"), sa.column("subject"), sa.column("body"))
    op.bulk_insert(templates, [{"kind": k, "category_code": None, "language": lang,
                                "subject": s, "body": b} for k, lang, s, b in TEMPLATES])
    op.execute(LEVEL_AREA)
    op.create_table(
        "event_subtasks",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("event_id", sa.BigInteger(), sa.ForeignKey(
            "events.id", ondelete="CASCADE", name="fk_event_subtasks_event_id_events"),
            nullable=False, index=True),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey(
            "departments.id", name="fk_event_subtasks_department_id_departments"),
            nullable=False, index=True),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("task", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("due_at", TS, nullable=True),
        sa.Column("handled_at", TS, nullable=True),
        sa.Column("handled_by", sa.Text(), nullable=True),
        sa.Column("handling", sa.Text(), nullable=True),
        sa.CheckConstraint("role IN ('lead', 'assist')", name="ck_event_subtasks_role"),
        sa.CheckConstraint("status IN ('open', 'handled')", name="ck_event_subtasks_status"),
        sa.UniqueConstraint("event_id", "department_id", name="uq_event_subtasks_department"),
    )
    op.create_index("uq_event_subtasks_lead", "event_subtasks", ["event_id"], unique=True,
                    postgresql_where=sa.text("role = 'lead'"))
    op.create_table(
        "anomaly_alerts",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("layer", sa.String(length=64), nullable=False),
        sa.Column("grid_code", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("area_code", sa.String(length=12), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("acknowledged_by", sa.Text(), nullable=True),
    )
    op.create_index("ix_anomaly_alerts_grid_code", "anomaly_alerts", ["grid_code"])
    op.execute("ALTER TABLE anomaly_alerts ADD CONSTRAINT uq_anomaly_alerts_key "
               "UNIQUE NULLS NOT DISTINCT (layer, grid_code, period, category)")
    op.create_table(
        "camera_links",
        sa.Column("camera_id", sa.Integer(), sa.ForeignKey(
            "cameras.id", ondelete="CASCADE", name="fk_camera_links_camera_id_cameras"),
            primary_key=True),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("last_heartbeat_at", TS, nullable=True),
        sa.UniqueConstraint("key_hash", name="uq_camera_links_key_hash"),
    )


def downgrade() -> None:
    op.drop_table("camera_links")
    op.drop_table("anomaly_alerts")
    op.drop_index("uq_event_subtasks_lead", table_name="event_subtasks")
    op.drop_table("event_subtasks")
    op.execute("DROP FUNCTION IF EXISTS gridgov_level_area(text, text, text)")
    op.execute("DELETE FROM notify_templates WHERE kind IN ('visit_due', 'anomaly', 'subtask')")
    op.execute("DELETE FROM notifications WHERE event_id IS NULL")
    op.drop_constraint(op.f("ck_notifications_about_something"), "notifications")
    op.drop_column("notifications", "payload")
    op.alter_column("notifications", "event_id", nullable=False)

"""relay3: photos and residents of forwarded reports, transfers by hand, notification texts

``handovers`` gain the event a case transferred by hand came from, the reason,
the neighbour's refusal and the reporter's contact of a forwarded report (sealed
like an event's, so the outbox can tell them); ``neighbours`` say whether the
neighbour is a gridgov (a transfer then waits for its dispatcher's answer).
``incoming_transfers`` holds the cases a neighbouring gridgov transferred to us,
pending until a dispatcher accepts or refuses them. A notification may be about
a hand-over (``forwarded``: the reporter is told where the report went), and
``notify_templates`` get the ``forwarded`` texts.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01 19:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
FORWARDED = [
    ("zh", "您反映的问题已转交$neighbour",
     "该位置属于$neighbour管辖，您反映的问题（$category）已转交对方处理，对方受理编号：$request_id。"),
    ("en", "Your report was passed to $neighbour",
     "This place is in the territory of $neighbour; your report ($category) was sent to "
     "them as request $request_id."),
]


def upgrade() -> None:
    op.add_column("neighbours", sa.Column("gridgov", sa.Boolean(), server_default="false",
                                          nullable=False))
    for name, kind in (("reason", sa.Text()), ("refusal_reason", sa.Text()),
                       ("reporter_phone", sa.Text()), ("reporter_email", sa.Text())):
        op.add_column("handovers", sa.Column(name, kind, nullable=True))
    op.add_column("handovers", sa.Column("event_id", sa.BigInteger(), sa.ForeignKey(
        "events.id", ondelete="SET NULL", name="fk_handovers_event_id_events"), nullable=True))
    op.add_column("notifications", sa.Column("handover_id", sa.Integer(), sa.ForeignKey(
        "handovers.id", ondelete="CASCADE", name="fk_notifications_handover_id_handovers"),
        nullable=True))
    op.drop_constraint(op.f("ck_notifications_about_something"), "notifications", type_="check")
    op.create_check_constraint(
        op.f("ck_notifications_about_something"), "notifications",
        "event_id IS NOT NULL OR handover_id IS NOT NULL OR kind IN ('visit_due', 'anomaly')")
    op.create_geospatial_table(
        "incoming_transfers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("from_key", sa.Text(), nullable=False),
        sa.Column("their_event_id", sa.Text(), nullable=False),
        sa.Column("category_code", sa.String(length=16), nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("photos", JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column("event_id", sa.BigInteger(), sa.ForeignKey(
            "events.id", ondelete="SET NULL", name="fk_incoming_transfers_event_id_events"),
            nullable=True),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'accepted', 'refused')",
                           name="ck_incoming_transfers_status"),
    )
    op.create_geospatial_index("idx_incoming_transfers_geom", "incoming_transfers", ["geom"],
                               unique=False, postgresql_using="gist")
    templates = sa.table("notify_templates", sa.column("kind"), sa.column("category_code"),
                         sa.column("language"), sa.column("subject"), sa.column("body"))
    op.bulk_insert(templates, [{"kind": "forwarded", "category_code": None, "language": lang,
                                "subject": s, "body": b} for lang, s, b in FORWARDED])


def downgrade() -> None:
    op.execute("DELETE FROM notify_templates WHERE kind = 'forwarded'")
    op.drop_geospatial_index("idx_incoming_transfers_geom", table_name="incoming_transfers",
                             column_name="geom")
    op.drop_geospatial_table("incoming_transfers")
    op.execute("DELETE FROM notifications WHERE handover_id IS NOT NULL")
    op.drop_constraint(op.f("ck_notifications_about_something"), "notifications", type_="check")
    op.create_check_constraint(op.f("ck_notifications_about_something"), "notifications",
                               "event_id IS NOT NULL OR kind IN ('visit_due', 'anomaly')")
    op.drop_column("notifications", "handover_id")
    for name in ("event_id", "reason", "refusal_reason", "reporter_phone", "reporter_email"):
        op.drop_column("handovers", name)
    op.drop_column("neighbours", "gridgov")

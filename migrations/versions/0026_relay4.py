"""relay4: neighbours' last poll, the place of incoming transfers, forwarded texts with a link

``neighbours`` record their last poll (when, and the error of a failed one);
``incoming_transfers`` get the grids, community and street of their point (as
an event's: the receiving dispatchers' scope filters them like the queue);
the ``forwarded`` texts say the neighbour gave only its request id, and the new
kind ``forwarded_link`` carries the tracking link a neighbouring gridgov gives.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (language, body of 0025, body now) of ``forwarded``: changed only where still 0025's
FORWARDED = [
    ("zh", "该位置属于$neighbour管辖，您反映的问题（$category）已转交对方处理，对方受理编号：$request_id。",
     "该位置属于$neighbour管辖，您反映的问题（$category）已转交对方处理，"
     "对方受理编号：$request_id。对方系统未提供查询链接，咨询进度时请向对方提供该编号。"),
    ("en", "This place is in the territory of $neighbour; your report ($category) was sent to "
     "them as request $request_id.",
     "This place is in the territory of $neighbour; your report ($category) was sent to them "
     "as request $request_id. Their system gives no tracking link: quote this number when "
     "you ask them about it."),
]
FORWARDED_LINK = [
    ("zh", "您反映的问题已转交$neighbour",
     "该位置属于$neighbour管辖，您反映的问题（$category）已转交对方处理，"
     "对方受理编号：$request_id，进度请查看：$their_track_url"),
    ("en", "Your report was passed to $neighbour",
     "This place is in the territory of $neighbour; your report ($category) was sent to them "
     "as request $request_id. Follow it on their tracking page: $their_track_url"),
]
_SET_BODY = sa.text("UPDATE notify_templates SET body = :new WHERE kind = 'forwarded' "
                    "AND category_code IS NULL AND language = :language AND body = :old")


def upgrade() -> None:
    op.add_column("neighbours", sa.Column("last_polled_at", sa.DateTime(timezone=True),
                                          nullable=True))
    op.add_column("neighbours", sa.Column("last_error", sa.Text(), nullable=True))
    op.add_column("incoming_transfers", sa.Column(
        "grids", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False))
    op.add_column("incoming_transfers", sa.Column("community_code", sa.String(length=12),
                                                  nullable=True))
    op.add_column("incoming_transfers", sa.Column("street_code", sa.String(length=12),
                                                  nullable=True))
    for language, old, new in FORWARDED:
        op.get_bind().execute(_SET_BODY, {"language": language, "old": old, "new": new})
    templates = sa.table("notify_templates", sa.column("kind"), sa.column("category_code"),
                         sa.column("language"), sa.column("subject"), sa.column("body"))
    op.bulk_insert(templates, [{"kind": "forwarded_link", "category_code": None,
                                "language": lang, "subject": s, "body": b}
                               for lang, s, b in FORWARDED_LINK])


def downgrade() -> None:
    op.execute("UPDATE notifications SET kind = 'forwarded' WHERE kind = 'forwarded_link'")
    op.execute("DELETE FROM notify_templates WHERE kind = 'forwarded_link'")
    for language, old, new in FORWARDED:
        op.get_bind().execute(_SET_BODY, {"language": language, "old": new, "new": old})
    for name in ("street_code", "community_code", "grids"):
        op.drop_column("incoming_transfers", name)
    op.drop_column("neighbours", "last_error")
    op.drop_column("neighbours", "last_polled_at")

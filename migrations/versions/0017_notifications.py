"""notifications: users' channels, the outbox, delivery attempts, message templates

``user_channels`` holds where a staff user hears (e-mail, webhook, SMS, WeCom),
in which language and with which quiet hours. ``notifications`` is the
transactional outbox: one row per message, written in the transaction of the
change that causes it, with a per-message idempotency key the receiver sees.
``notification_attempts`` records every attempt; ``notify_templates`` holds the
texts per kind, language and (optionally) category, seeded with the defaults.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)

DEFAULTS = [
    ("dispatched", "zh", "新派遣案件 #$id：$category",
     "案件 #$id（$category）已派遣至贵部门，地址：$address，处置时限：$due_at。"),
    ("dispatched", "en", "New case #$id: $category",
     "Case #$id ($category) was dispatched to your department. Address: $address. "
     "Due: $due_at."),
    ("overdue", "zh", "案件 #$id 已超期，升级至$level",
     "案件 #$id（$category）已超过处置时限 $due_at，已升级至$level。地址：$address。"),
    ("overdue", "en", "Case #$id is overdue: escalated to $level",
     "Case #$id ($category) passed its due time $due_at and was escalated to $level. "
     "Address: $address."),
    ("escalated", "zh", "案件 #$id 已升级至$level",
     "案件 #$id（$category）已升级至$level，请关注。地址：$address。"),
    ("escalated", "en", "Case #$id escalated to $level",
     "Case #$id ($category) was escalated to $level. Address: $address."),
    ("duplicate", "zh", "您反映的问题已合并处理",
     "您反映的问题（$category）与已受理的案件合并处理，进度请查看：$track_url"),
    ("duplicate", "en", "Your report was merged with an open case",
     "Your report ($category) was linked to a case already being handled. "
     "Follow it at $track_url"),
    ("closed", "zh", "您反映的问题已办结",
     "您反映的问题（$category）已办结，欢迎评价：$track_url"),
    ("closed", "en", "Your report was closed",
     "Your report ($category) was closed. Tell us how we did: $track_url"),
]


def upgrade() -> None:
    op.create_table(
        "user_channels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey(
            "users.id", ondelete="CASCADE", name="fk_user_channels_user_id_users"),
            nullable=False, index=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), server_default="zh", nullable=False),
        sa.Column("quiet_from", sa.Time(), nullable=True),
        sa.Column("quiet_until", sa.Time(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.CheckConstraint("channel IN ('email', 'webhook', 'sms', 'wecom')",
                           name="ck_user_channels_channel"),
        sa.CheckConstraint("language IN ('zh', 'en')", name="ck_user_channels_language"),
        sa.CheckConstraint("(quiet_from IS NULL) = (quiet_until IS NULL)",
                           name="ck_user_channels_quiet_hours"),
        sa.UniqueConstraint("user_id", "channel", "address", name="uq_user_channels_address"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("key", sa.Text(), server_default=sa.text("gen_random_uuid()::text"),
                  nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.BigInteger(), sa.ForeignKey(
            "events.id", ondelete="CASCADE", name="fk_notifications_event_id_events"),
            nullable=False, index=True),
        sa.Column("user_channel_id", sa.Integer(), sa.ForeignKey(
            "user_channels.id", ondelete="CASCADE",
            name="fk_notifications_user_channel_id_user_channels"), nullable=True),
        sa.Column("reporter_field", sa.String(length=8), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("next_attempt_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("key", name="uq_notifications_key"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'dead')",
                           name="ck_notifications_status"),
        sa.CheckConstraint("(user_channel_id IS NULL) <> (reporter_field IS NULL)",
                           name="ck_notifications_one_recipient"),
        sa.CheckConstraint("reporter_field IN ('phone', 'email')",
                           name="ck_notifications_reporter_field"),
    )
    op.create_index("ix_notifications_due", "notifications", ["next_attempt_at", "id"],
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("notification_id", sa.BigInteger(), sa.ForeignKey(
            "notifications.id", ondelete="CASCADE",
            name="fk_notification_attempts_notification_id_notifications"),
            nullable=False, index=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    templates = op.create_table(
        "notify_templates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("category_code", sa.String(length=16), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.execute("ALTER TABLE notify_templates ADD CONSTRAINT uq_notify_templates_key "
               "UNIQUE NULLS NOT DISTINCT (kind, category_code, language)")
    op.bulk_insert(templates, [{"kind": k, "category_code": None, "language": lang,
                                "subject": s, "body": b} for k, lang, s, b in DEFAULTS])


def downgrade() -> None:
    op.drop_table("notify_templates")
    op.drop_table("notification_attempts")
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("user_channels")

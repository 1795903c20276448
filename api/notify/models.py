"""Tables of notifications (0017, 0018): users' channels, the outbox, attempts, templates.

A notification is one message to one recipient: a staff user's channel
(``user_channel_id``) or an event's reporter (``reporter_field``: which
encrypted contact of the event; the clear contact is never stored here). It is
about an event, or (kinds in :data:`PAYLOAD_KINDS`) about something else whose
template values it carries in ``payload``.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import Base, _in

CHANNELS = ("email", "webhook", "sms", "wecom")
LANGUAGES = ("zh", "en")
#: what a notification is about; the urgent kinds ignore quiet hours
KINDS = ("dispatched", "overdue", "escalated", "duplicate", "closed", "subtask", "visit_due",
         "anomaly", "forwarded", "forwarded_link")
URGENT_KINDS = frozenset({"overdue", "escalated", "anomaly"})
#: kinds about no event: their template values come from the notification's ``payload``
PAYLOAD_KINDS = ("visit_due", "anomaly")
#: kinds about a hand-over: a report or case given to a neighbour (``forwarded_link``: one
#: that gave its tracking link); the values come from the payload, as for PAYLOAD_KINDS
HANDOVER_KINDS = ("forwarded", "forwarded_link")
STATUSES = ("pending", "sent", "dead")


class UserChannel(Base):
    """Where a staff user hears: a channel, its address, language and quiet hours."""

    __tablename__ = "user_channels"
    __table_args__ = (
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("language", LANGUAGES), name="language"),
        CheckConstraint("(quiet_from IS NULL) = (quiet_until IS NULL)", name="quiet_hours"),
        UniqueConstraint("user_id", "channel", "address", name="uq_user_channels_address"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="zh", server_default="zh")
    #: local time (``GRIDGOV_API_TIMEZONE``) when non-urgent messages wait; may wrap midnight
    quiet_from: Mapped[time | None] = mapped_column(Time)
    quiet_until: Mapped[time | None] = mapped_column(Time)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class Notification(Base):
    """One message in the outbox, its delivery state and the key its receiver sees."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("(user_channel_id IS NULL) <> (reporter_field IS NULL)",
                        name="one_recipient"),
        CheckConstraint("reporter_field IN ('phone', 'email')", name="reporter_field"),
        CheckConstraint("event_id IS NOT NULL OR handover_id IS NOT NULL "
                        "OR kind IN ('visit_due', 'anomaly')", name="about_something"),
        Index("ix_notifications_due", "next_attempt_at", "id",
              postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(Text, unique=True,
                                     server_default=text("gen_random_uuid()::text"))
    kind: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"),
                                                 index=True)
    user_channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_channels.id", ondelete="CASCADE"))
    reporter_field: Mapped[str | None] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16))
    #: None for reporters (``GRIDGOV_NOTIFY_REPORTER_LANGUAGE`` at send time)
    language: Mapped[str | None] = mapped_column(String(8))
    urgent: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(8), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                      server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    #: the template values of a kind about no event (:data:`PAYLOAD_KINDS`)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict,
                                                    server_default=text("'{}'::jsonb"))
    #: the hand-over a ``forwarded`` notification tells the reporter of (0024)
    handover_id: Mapped[int | None] = mapped_column(
        ForeignKey("handovers.id", ondelete="CASCADE"))


class NotificationAttempt(Base):
    """One try at sending a notification: when, whether it went, what the channel said."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str | None] = mapped_column(Text)


class NotifyTemplate(Base):
    """The subject and body of one kind in one language; a category's own beats the default.

    Placeholders (``string.Template``): ``$id``, ``$category``, ``$address``,
    ``$status``, ``$level``, ``$due_at``, ``$track_url``.
    """

    __tablename__ = "notify_templates"
    __table_args__ = (UniqueConstraint("kind", "category_code", "language",
                                       name="uq_notify_templates_key",
                                       postgresql_nulls_not_distinct=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    category_code: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)

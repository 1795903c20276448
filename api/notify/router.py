"""Routes of notifications: one's own channels, users' channels (admins), the outbox's letters."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.audit.deps import AuditActor
from api.auth import service as users
from api.auth.access import Staff, roles
from api.auth.schemas import Text, UserName
from api.deps import SessionDep, SettingsDep
from api.notify import service, texts
from api.notify.models import CHANNELS, KINDS, LANGUAGES, STATUSES
from api.routing import Router
from api.settings import Settings
from api.validation import DbInt
from gis_core.errors import InvalidInput

router = Router(tags=["notifications"])


class ChannelIn(BaseModel):
    """One channel a user hears on."""

    model_config = ConfigDict(extra="forbid")
    channel: Literal["email", "webhook", "sms", "wecom"] = Field(
        description=f"one of {', '.join(CHANNELS)}")
    address: Text = Field(min_length=1, max_length=500, description="e-mail address, "
                          "webhook URL, phone number or WeCom user id")
    language: Literal["zh", "en"] = Field("zh", description=f"one of {', '.join(LANGUAGES)}")
    quiet_from: time | None = Field(None, description="local time non-urgent messages start "
                                    "to wait (with quiet_until; may wrap midnight)")
    quiet_until: time | None = Field(None, description="local time they are sent again")
    active: bool = True


class ChannelsIn(BaseModel):
    """The whole list of a user's channels (replaces the list before)."""

    model_config = ConfigDict(extra="forbid")
    channels: Annotated[list[ChannelIn], Field(max_length=20)]


def _replace(session: SessionDep, user_id: int, body: ChannelsIn, actor: AuditActor,
             settings: Settings) -> list[dict[str, Any]]:
    given = []
    for i, c in enumerate(body.channels):
        if (c.quiet_from is None) != (c.quiet_until is None):
            raise InvalidInput(f"field 'channels[{i}]': give both quiet_from and quiet_until "
                               "or neither", code="invalid_quiet_hours")
        given.append(c.model_dump())
    made = service.replace_channels(session, user_id, given, actor,
                                    allow_internal=settings.notify.allow_internal_urls)
    session.commit()
    return [service.channel_out(c) for c in made]


@router.get("/api/v1/auth/me/channels")
def my_channels(principal: Staff, session: SessionDep) -> list[dict[str, Any]]:
    """The channels you hear on (e-mail, webhook, SMS, WeCom), with quiet hours."""
    return [service.channel_out(c) for c in service.channels_of(session, principal.id)]


@router.put("/api/v1/auth/me/channels")
def set_my_channels(body: ChannelsIn, principal: Staff, session: SessionDep,
                    actor: AuditActor, settings: SettingsDep) -> list[dict[str, Any]]:
    """Replace the channels you hear on."""
    return _replace(session, principal.id, body, actor, settings)


@router.get("/api/v1/users/{name}/channels")
@roles("admin")
def user_channels(name: UserName, session: SessionDep) -> list[dict[str, Any]]:
    """The channels a user hears on (admins)."""
    user = users.user_by_name(session, name)
    return [service.channel_out(c) for c in service.channels_of(session, user.id)]


@router.put("/api/v1/users/{name}/channels")
@roles("admin")
def set_user_channels(name: UserName, body: ChannelsIn, session: SessionDep,
                      actor: AuditActor, settings: SettingsDep) -> list[dict[str, Any]]:
    """Replace the channels a user hears on (admins)."""
    return _replace(session, users.user_by_name(session, name).id, body, actor, settings)


@router.get("/api/v1/notifications")
@roles("admin")
def list_notifications(session: SessionDep,
                       status: Annotated[Literal["pending", "sent", "dead"],
                                         Query(description=f"one of {', '.join(STATUSES)}")
                                         ] = "dead",
                       event_id: DbInt | None = None,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100
                       ) -> list[dict[str, Any]]:
    """Notifications by state, newest first: dead letters by default (admins)."""
    return service.list_notifications(session, status, event_id, limit)


@router.post("/api/v1/notifications/{notification_id}/retry", status_code=204)
@roles("admin")
def retry_notification(notification_id: DbInt, session: SessionDep,
                       actor: AuditActor) -> None:
    """Send a dead letter again, from its first attempt (admins)."""
    service.retry_dead(session, notification_id, actor)
    session.commit()


Language = Literal["zh", "en"]


class TemplateIn(BaseModel):
    """The text of one kind in one language, for a category (or the default: null)."""

    model_config = ConfigDict(extra="forbid")
    category: str | None = Field(None, min_length=1, max_length=16,
                                 description="a category or major category code; null: the "
                                 "kind's default")
    subject: Text = Field(min_length=1, max_length=300)
    body: Text = Field(min_length=1, max_length=4000)


@router.get("/api/v1/notifications/templates")
@roles("admin")
def list_templates(session: SessionDep,
                   kind: Annotated[str | None, Query(max_length=16,
                                                     description=f"one of {', '.join(KINDS)}")
                                   ] = None,
                   language: Language | None = None) -> list[dict[str, Any]]:
    """The notification texts per kind, category and language (admins)."""
    return texts.list_templates(session, kind, language)


@router.put("/api/v1/notifications/templates/{kind}/{language}",
            description=f"Kinds: {', '.join(KINDS)}. Placeholders per kind: "
            + "; ".join(f"{k}: {', '.join('$' + p for p in v)}"
                        for k, v in texts.PLACEHOLDERS.items())
            + ". An unknown placeholder is 422 `unknown_placeholder`.")
@roles("admin")
def set_template(kind: Annotated[str, Path(max_length=16)], language: Language,
                 body: TemplateIn, session: SessionDep, actor: AuditActor) -> dict[str, Any]:
    """Set the text of a kind in a language, for a category or as its default (audited)."""
    out = texts.set_template(session, kind, language, body.category, body.subject, body.body,
                             actor)
    session.commit()
    return out


@router.delete("/api/v1/notifications/templates/{kind}/{language}", responses={
    404: {"description": "no text was set for this kind, language and category"}})
@roles("admin")
def reset_template(kind: Annotated[str, Path(max_length=16)], language: Language,
                   session: SessionDep, actor: AuditActor,
                   category: Annotated[str | None, Query(
                       min_length=1, max_length=16, description="a category or major "
                       "category code; none: the kind's default")] = None) -> dict[str, Any]:
    """Give a kind its built-in text back in a language, for a category or its default (audited)."""
    out = texts.reset_template(session, kind, language, category, actor)
    session.commit()
    return out

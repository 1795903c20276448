"""Administering the notification texts: list them, set one per kind, category and language.

A text set here is the one the outbox uses (:mod:`api.notify.templates`): a
category's own (its code or its major code) before the kind's default. Each
placeholder must be one the kind fills (:data:`PLACEHOLDERS`): an unknown one is
422 ``unknown_placeholder``, a ``$`` that starts none is 422 ``invalid_template``
(write ``$$`` for a dollar sign). Kinds about no event have only a default text.
:func:`reset_template` drops a text an admin set: a category's own goes (the
default is used again), a default gets its built-in text back
(:data:`api.notify.builtin.BUILT_IN`); 404 ``template_not_set`` when there is
nothing to reset.
"""

from __future__ import annotations

from string import Template
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.db.models import EventCategory
from api.errors import APIError
from api.notify.builtin import BUILT_IN
from api.notify.models import HANDOVER_KINDS, KINDS, PAYLOAD_KINDS, NotifyTemplate

#: the values of one event (:func:`api.notify.templates.fields`)
EVENT_PLACEHOLDERS = ("id", "category", "address", "status", "level", "due_at", "track_url")
#: the placeholders each kind fills: an event's, or its notification's payload
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(KINDS, EVENT_PLACEHOLDERS),
    "visit_due": ("subject", "due_at", "address"),
    "anomaly": ("area", "grid", "count", "expected", "window", "alert_id"),
    # a report forwarded at intake has no event here: only the hand-over's values
    "forwarded": ("neighbour", "request_id", "category"),
    # ... and the neighbouring gridgov's tracking page of it
    "forwarded_link": ("neighbour", "request_id", "category", "their_track_url"),
}


def check_kind(kind: str | None) -> None:
    """Refuse an unknown kind (422 ``invalid_parameter``, naming the kinds)."""
    if kind is not None and kind not in PLACEHOLDERS:
        raise APIError(422, "invalid_parameter", f"parameter 'kind': {kind!r} is not a kind; "
                       f"allowed values: {', '.join(KINDS)}", field="kind")


def check_text(kind: str, name: str, value: str) -> None:
    """Refuse a text with a placeholder ``kind`` does not fill (422), naming the field.

    Examples
    --------
    >>> check_text("closed", "body", "Closed: $track_url (cost: $$0)")
    >>> check_text("closed", "body", "Hello $name")
    Traceback (most recent call last):
    ...
    api.errors.APIError: field 'body': unknown placeholder $name; allowed for closed: \
$id, $category, $address, $status, $level, $due_at, $track_url
    """
    template = Template(value)
    if not template.is_valid():
        raise APIError(422, "invalid_template", f"field {name!r}: a '$' starts no placeholder; "
                       "write '$$' for a dollar sign", field=name)
    allowed = PLACEHOLDERS[kind]
    unknown = [p for p in template.get_identifiers() if p not in allowed]
    if unknown:
        raise APIError(422, "unknown_placeholder", f"field {name!r}: unknown placeholder "
                       f"${unknown[0]}; allowed for {kind}: "
                       f"{', '.join('$' + p for p in allowed)}", field=name)


def template_out(t: NotifyTemplate) -> dict[str, Any]:
    """The JSON form of a text."""
    return {"kind": t.kind, "category": t.category_code, "language": t.language,
            "subject": t.subject, "body": t.body}


def list_templates(session: Session, kind: str | None, language: str | None
                   ) -> list[dict[str, Any]]:
    """The texts, by kind, category (defaults first) and language."""
    check_kind(kind)
    query = select(NotifyTemplate).order_by(NotifyTemplate.kind,
                                            NotifyTemplate.category_code.nulls_first(),
                                            NotifyTemplate.language)
    if kind is not None:
        query = query.where(NotifyTemplate.kind == kind)
    if language is not None:
        query = query.where(NotifyTemplate.language == language)
    return [template_out(t) for t in session.execute(query).scalars()]


def _check_category(session: Session, kind: str, category: str | None) -> None:
    if category is None:
        return
    if kind in PAYLOAD_KINDS or kind in HANDOVER_KINDS:
        raise APIError(422, "invalid_parameter", f"field 'category': {kind} is not about a "
                       "case of a category; it has only a default text", field="category")
    found = session.execute(select(EventCategory.id).where(or_(
        EventCategory.code == category, EventCategory.major_code == category)).limit(1)).first()
    if found is None:
        raise APIError(422, "unknown_category", f"field 'category': no category or major "
                       f"category {category!r}", field="category")


def set_template(session: Session, kind: str, language: str, category: str | None,
                 subject: str, body: str, by: Actor) -> dict[str, Any]:
    """Create or replace the text of ``(kind, category, language)``; audited; caller commits."""
    check_kind(kind)
    check_text(kind, "subject", subject)
    check_text(kind, "body", body)
    _check_category(session, kind, category)
    key = {"kind": kind, "category_code": category, "language": language}
    before = session.execute(select(NotifyTemplate).filter_by(**key)).scalar_one_or_none()
    was = template_out(before) if before is not None else None
    session.execute(insert(NotifyTemplate).values(**key, subject=subject, body=body)
                    .on_conflict_do_update(constraint="uq_notify_templates_key",
                                           set_={"subject": subject, "body": body}))
    after = {**key, "subject": subject, "body": body}
    record(session, actor=by, action="notify.template", object_type="notify_template",
           object_id=f"{kind}/{category or '*'}/{language}", before=was, after=after)
    return {"kind": kind, "category": category, "language": language, "subject": subject,
            "body": body}


def reset_template(session: Session, kind: str, language: str, category: str | None,
                   by: Actor) -> dict[str, Any]:
    """Give ``(kind, category, language)`` its built-in text back; audited; caller commits.

    A category's own text is removed (the kind's default applies again); the
    default gets the built-in text. 404 ``template_not_set`` when nothing was set.
    ``reset`` in the answer: ``built_in`` (a default) or ``removed`` (a category's).
    """
    check_kind(kind)
    key = {"kind": kind, "category_code": category, "language": language}
    row = session.execute(select(NotifyTemplate).filter_by(**key)
                          .with_for_update()).scalar_one_or_none()
    built_in = BUILT_IN.get((kind, language)) if category is None else None
    if row is None or (row.subject, row.body) == built_in:
        raise APIError(404, "template_not_set", f"no text of {kind} in {language} "
                       f"{'for category ' + repr(category) if category else 'as its default'} "
                       "was set; it is the built-in one")
    was = template_out(row)
    if built_in is None:
        session.delete(row)
    else:
        row.subject, row.body = built_in
    session.flush()
    record(session, actor=by, action="notify.template_reset", object_type="notify_template",
           object_id=f"{kind}/{category or '*'}/{language}", before=was,
           after=template_out(row) if built_in is not None else None)
    return {"kind": kind, "category": category, "language": language,
            "reset": "removed" if built_in is None else "built_in"}

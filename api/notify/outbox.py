"""Write notifications in the transaction of the change that causes them.

:func:`notify` takes ``(event_id, kind)`` pairs and inserts, in one statement,
one outbox row per recipient channel; it never commits, so a change that rolls
back takes its notifications with it. Who hears what:

- ``dispatched``: active handlers of the event's department (within their
  areas or grids when they have some), on each of their active channels;
- ``overdue``, ``escalated``: the responsible people of the event's escalation
  level (:data:`RESPONSIBLE`: active dispatchers whose own areas hold the
  event's area at that level, ``gridgov_level_area``: its community, street,
  district or city; the command centre's dispatchers, with no areas and no
  grids, when the territory has no area at that level);
- ``subtask``: active handlers of the departments given a sub-task of a joint
  case (``api.joint``), as for ``dispatched``;
- ``duplicate``, ``closed``: the event's reporter, by SMS when they left a
  phone, else by e-mail when they left one (the row names the encrypted field;
  the worker decrypts it at send time and writes in
  ``GRIDGOV_NOTIFY_REPORTER_LANGUAGE``).

Kinds about no event (``visit_due`` to a grid worker, ``anomaly`` to the
responsible people of an area) are queued by :func:`notify_users` and
:func:`notify_area`; ``forwarded`` (a report or case handed to a neighbour;
``forwarded_link`` when the neighbour gave its tracking link) by
:func:`notify_forwarded`, to its reporter as for ``closed``.

The scope conditions are those of :class:`api.auth.principal.Principal`,
written for many users and events at once (``tests/api/test_notify_outbox.py``
checks them against ``Principal.event_sql``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from api.db.models import ADMIN_LEVELS
from api.notify.models import KINDS, PAYLOAD_KINDS, URGENT_KINDS

#: the escalation levels (0 community .. 3 city) as a SQL array literal (constants only)
_LEVELS_SQL = "(ARRAY[{}])".format(", ".join(f"'{lv}'" for lv in reversed(ADMIN_LEVELS)))
#: who is responsible for the area ``{area}`` (an SQL text expression, NULL: the whole
#: territory), on users ``u``: the one home of "the people of an area or level"
RESPONSIBLE = ("u.role = 'dispatcher' AND CASE WHEN {area} IS NOT NULL "
               "THEN CAST(u.area_codes AS text[]) @> ARRAY[CAST({area} AS text)] "
               "ELSE cardinality(u.area_codes) = 0 AND cardinality(u.grid_codes) = 0 END")


def level_area_sql(event: str, level: str | None = None) -> str:
    """SQL of the area of event row ``event`` at escalation level ``level`` (SQL, 0-3).

    ``level`` defaults to the event's current level.

    Examples
    --------
    >>> level_area_sql("e", "1").endswith("'district', 'city'])[1 + 1])")
    True
    """
    level = level or f"coalesce(({event}.attributes->>'escalation_level')::int, 0)"
    return (f"gridgov_level_area({event}.community_code, {event}.street_code, "
            f"{_LEVELS_SQL}[{level} + 1])")


#: the lifecycle actions someone hears about, and the kind of their notifications
ACTION_KINDS = {"dispatch": "dispatched", "escalate": "escalated",
                "mark_duplicate": "duplicate", "close": "closed"}
#: the statuses intake gives a new event that someone hears about
INTAKE_KINDS = {"dispatched": "dispatched", "duplicate": "duplicate"}

_ASK = """
    SELECT DISTINCT a.event_id, a.kind, a.kind = ANY(CAST(:urgent AS text[])) AS urgent
    FROM unnest(CAST(:ids AS bigint[]), CAST(:kinds AS text[])) AS a(event_id, kind)
"""

_NOTIFY_SQL = """
WITH RECURSIVE ask AS ({ask}), ev AS (
    SELECT DISTINCT e.id, e.community_code, e.street_code, e.department_id, e.grids,
           e.reporter_phone, e.reporter_email, {level_area} AS level_area,
           coalesce((e.attributes->>'escalation_level')::int, 0) AS level
    FROM events e JOIN ask ON ask.event_id = e.id
), up(id, code) AS (
    SELECT id, CAST(unnest(ARRAY[community_code, street_code]) AS text) FROM ev
    UNION
    SELECT up.id, CAST(a.parent_code AS text) FROM up JOIN admin_areas a ON a.code = up.code
    WHERE a.parent_code IS NOT NULL
), areas AS (
    SELECT id, array_agg(code) FILTER (WHERE code IS NOT NULL) AS codes FROM up GROUP BY id
), cells AS (
    SELECT ev.id, array_agg(g.code) AS codes
    FROM ev, jsonb_each(ev.grids) AS kv,
         jsonb_array_elements_text(CASE jsonb_typeof(kv.value) WHEN 'array' THEN kv.value
                                   ELSE jsonb_build_array(kv.value) END) AS g(code)
    GROUP BY ev.id
), staff AS (
    SELECT ask.event_id, ask.kind, ask.urgent, c.id AS channel_id, c.channel, c.language,
           CASE WHEN ask.kind IN ('overdue', 'escalated')
                THEN jsonb_build_object('level', ev.level) ELSE '{{}}'::jsonb END AS payload
    FROM ask JOIN ev ON ev.id = ask.event_id
    LEFT JOIN areas ON areas.id = ev.id LEFT JOIN cells ON cells.id = ev.id
    JOIN users u ON u.active
     AND ((ask.kind = 'dispatched' AND u.role = 'handler'
           AND u.department_id = ev.department_id)
          OR (ask.kind = 'subtask' AND u.role = 'handler' AND u.department_id IN (
              SELECT t.department_id FROM event_subtasks t WHERE t.event_id = ev.id))
          OR (ask.kind IN ('overdue', 'escalated') AND {responsible}))
    JOIN user_channels c ON c.user_id = u.id AND c.active
    WHERE (cardinality(u.area_codes) = 0 AND cardinality(u.grid_codes) = 0)
       OR CAST(u.area_codes AS text[]) && coalesce(areas.codes, ARRAY[]::text[])
       OR CAST(u.grid_codes AS text[]) && coalesce(cells.codes, ARRAY[]::text[])
)
INSERT INTO notifications (kind, event_id, user_channel_id, reporter_field, channel, language,
                           urgent, payload)
SELECT kind, event_id, channel_id, NULL, channel, language, urgent, payload FROM staff
UNION ALL
SELECT ask.kind, ev.id, NULL,
       CASE WHEN ev.reporter_phone IS NOT NULL THEN 'phone' ELSE 'email' END,
       CASE WHEN ev.reporter_phone IS NOT NULL THEN 'sms' ELSE 'email' END,
       NULL, ask.urgent, '{{}}'::jsonb
FROM ask JOIN ev ON ev.id = ask.event_id
WHERE ask.kind IN ('duplicate', 'closed')
  AND (ev.reporter_phone IS NOT NULL OR ev.reporter_email IS NOT NULL)
"""
_NOTIFY_SQL = _NOTIFY_SQL.replace("{level_area}", level_area_sql("e")).replace(
    "{responsible}", RESPONSIBLE.format(area="ev.level_area"))
_NOTIFY = text(_NOTIFY_SQL.format(ask=_ASK))

#: the events a batch of intake created, by tracking token, with the kind of their status
#: (:data:`INTAKE_KINDS`); an event deleted later in the batch takes its rows with it
_KIND_OF_STATUS = "CASE CAST(e.status AS text) {} END".format(
    " ".join(f"WHEN '{status}' THEN '{kind}'" for status, kind in INTAKE_KINDS.items()))
_ASK_CREATED = f"""
    SELECT e.id AS event_id, {_KIND_OF_STATUS} AS kind,
           {_KIND_OF_STATUS} = ANY(CAST(%(urgent)s AS text[])) AS urgent
    FROM events e
    WHERE e.public_token = ANY(CAST(%(tokens)s AS text[])) AND e.status = ANY(%(statuses)s)
      -- only events someone will hear of (the recipients below, cheaply first): most
      -- reports of a district whose handlers have no channel cost no more than this
      AND CASE e.status
          WHEN 'dispatched' THEN EXISTS (
              SELECT 1 FROM users u JOIN user_channels c ON c.user_id = u.id AND c.active
              WHERE u.active AND u.role = 'handler' AND u.department_id = e.department_id)
          ELSE e.reporter_phone IS NOT NULL OR e.reporter_email IS NOT NULL END
"""  # noqa: S608 - SQL from trusted parts; values bound
#: :data:`_NOTIFY` for the events intake created (psycopg placeholders, for its pipeline)
NOTIFY_CREATED_PG = _NOTIFY_SQL.format(ask=_ASK_CREATED)


def created_params(tokens: Iterable[str]) -> dict[str, object]:
    """The parameters of :data:`NOTIFY_CREATED_PG` for the tracking tokens of a batch."""
    return {"tokens": list(tokens), "statuses": sorted(INTAKE_KINDS),
            "urgent": sorted(URGENT_KINDS)}


def notify(conn: Connection | Session, changes: Iterable[tuple[int, str]]) -> None:
    """Queue the notifications of ``changes`` (``(event_id, kind)``) in one statement.

    Runs in the caller's transaction and never commits. ``kind`` is one of
    :data:`api.notify.models.KINDS`.
    """
    pairs = list(changes)
    if not pairs:
        return
    unknown = {k for _, k in pairs} - set(KINDS)
    if unknown:
        raise ValueError(f"parameter 'changes': unknown kinds {sorted(unknown)}; "
                         f"allowed values: {', '.join(KINDS)}")
    if isinstance(conn, Session):
        conn.flush()  # the statement reads the events as the session changed them
    conn.execute(_NOTIFY, {"ids": [i for i, _ in pairs], "kinds": [k for _, k in pairs],
                           "urgent": sorted(URGENT_KINDS)})


_NOTIFY_USERS = """
INSERT INTO notifications (kind, event_id, user_channel_id, channel, language, urgent, payload)
SELECT CAST(:kind AS text), NULL, c.id, c.channel, c.language, :urgent, CAST(:payload AS jsonb)
FROM users u JOIN user_channels c ON c.user_id = u.id AND c.active
WHERE u.active AND ({who})
ORDER BY c.id
"""
_TO_USERS = text(_NOTIFY_USERS.replace("{who}", "u.id = ANY(CAST(:users AS int[]))"))
_TO_AREA = text(_NOTIFY_USERS.replace(
    "{who}", RESPONSIBLE.format(area="CAST(:area AS text)")))


def _payload_args(kind: str, payload: dict[str, object]) -> dict[str, object]:
    if kind not in PAYLOAD_KINDS:
        raise ValueError(f"parameter 'kind': {kind!r} is about an event; allowed values: "
                         f"{', '.join(PAYLOAD_KINDS)}")
    return {"kind": kind, "urgent": kind in URGENT_KINDS,
            "payload": json.dumps(payload, ensure_ascii=False, default=str)}


def notify_users(conn: Connection | Session, kind: str, user_ids: Iterable[int],
                 payload: dict[str, object]) -> None:
    """Queue a message about no event (``visit_due``) to active users, on all their channels.

    ``payload`` holds the template's values (``visit_due``: ``subject``, ``due_at``,
    ``address``); it is stored as given, so it must carry no clear personal data
    (pass a masked name). Runs in the caller's transaction and never commits.
    """
    args = _payload_args(kind, payload)
    conn.execute(_TO_USERS, {**args, "users": list(user_ids)})


def notify_area(conn: Connection | Session, kind: str, area_code: str | None,
                payload: dict[str, object]) -> None:
    """Queue a message about no event (``anomaly``) to the responsible people of an area.

    The people are those of :data:`RESPONSIBLE` (None: the command centre). Runs
    in the caller's transaction and never commits.
    """
    args = _payload_args(kind, payload)
    conn.execute(_TO_AREA, {**args, "area": area_code})


_TO_FORWARDED = text("""
INSERT INTO notifications (kind, event_id, handover_id, reporter_field, channel, language,
                           urgent, payload)
SELECT CAST(:kind AS text), h.event_id, h.id,
       CASE WHEN c.phone IS NOT NULL THEN 'phone' ELSE 'email' END,
       CASE WHEN c.phone IS NOT NULL THEN 'sms' ELSE 'email' END,
       NULL, FALSE, CAST(:payload AS jsonb)
FROM handovers h LEFT JOIN events e ON e.id = h.event_id,
     LATERAL (SELECT coalesce(e.reporter_phone, h.reporter_phone) AS phone,
                     coalesce(e.reporter_email, h.reporter_email) AS email) c
WHERE h.id = :id AND (c.phone IS NOT NULL OR c.email IS NOT NULL)
""")


def notify_forwarded(conn: Connection | Session, handover_id: int,
                     payload: dict[str, object]) -> None:
    """Queue the ``forwarded`` message of a hand-over to its reporter, if they left a contact.

    The contact is the case's (a transfer by hand) or the hand-over's own (a
    report forwarded at intake). ``payload`` holds the template's values
    (``neighbour``, ``request_id``, ``category``, and ``their_track_url`` when
    the neighbour gave its tracking link: kind ``forwarded_link`` then). Never commits.
    """
    kind = "forwarded_link" if payload.get("their_track_url") else "forwarded"
    conn.execute(_TO_FORWARDED, {"id": handover_id, "kind": kind,
                                 "payload": json.dumps(payload, ensure_ascii=False)})

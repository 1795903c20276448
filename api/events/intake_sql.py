"""The intake statement: one statement per report after the grid lookup.

It checks the category and the jurisdiction, finds building, community, street,
department (the routing rules of :mod:`api.events.routing`) and an open
duplicate, inserts the event (its deadline: ``api.calendar.deadlines``), its
history rows, photos and idempotency key; the batch's ``event.create`` audit
rows follow in the same pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from api.db.models import OPEN_EVENTS_SQL
from api.events.routing import (
    BASIC_LAYERS_SQL,
    COMMUNITY_SQL,
    INSIDE_SQL,
    MATCHING_RULE_SQL,
    STREET_SQL,
)

# One statement does the whole intake after the grid lookup: check the category and the
# jurisdiction, find building, community, street, department (routing rules) and an open
# duplicate, insert the event (its deadline: api.calendar.deadlines), its history rows,
# photos and idempotency key.
INTAKE_SQL = f"""
WITH input AS (
    SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom, CAST(:grids AS jsonb) AS grids,
           CAST(:now AS timestamptz) AS now
), cat AS (
    SELECT id, code, major_code, department_id, time_limit_hours, ec AS limits
    FROM event_categories ec WHERE code = :category
), basic AS ({BASIC_LAYERS_SQL}), inside AS (
    SELECT {INSIDE_SQL.format(names="b.names", grids="i.grids")} AS ok FROM basic b, input i
), place AS MATERIALIZED (
    SELECT coalesce(CAST(:building_id AS int),
                    (SELECT b.id FROM buildings b, input i WHERE ST_Covers(b.geom, i.geom)
                     ORDER BY b.id LIMIT 1)) AS building_id,
           {COMMUNITY_SQL.format(names="bs.names", grids="i.grids")} AS community_code
    FROM basic bs, input i
), area AS MATERIALIZED (
    SELECT p.building_id, p.community_code,
           {STREET_SQL.format(community="p.community_code")} AS street_code
    FROM place p
), dept AS MATERIALIZED (
    SELECT coalesce((SELECT m.department_id FROM cat c, area a, LATERAL ({MATCHING_RULE_SQL}) m),
                    (SELECT department_id FROM cat)) AS department_id
), dup AS MATERIALIZED (
    SELECT (SELECT e.id FROM events e, cat c, input i
            WHERE :dedupe AND e.category_id = c.id AND e.{OPEN_EVENTS_SQL}
              AND e.reported_at >= i.now - make_interval(secs => :window)
              AND e.reported_at <= i.now
              AND ST_DWithin(e.geom, i.geom, :deg)
              AND ST_DWithin(e.geom::geography, i.geom::geography, :radius)
            ORDER BY e.reported_at, e.id LIMIT 1) AS id
), seen AS (
    SELECT k.event_id, CAST(k.response AS text) AS body, k.request_hash
    FROM (SELECT 1) AS one LEFT JOIN idempotency_keys k ON k.key = :key
), ins AS (
    INSERT INTO events (public_token, category_id, description, status, channel, geom, address,
                        building_id, grids, community_code, street_code, department_id,
                        reported_at, registered_at, dispatched_at, due_at, reporter_name,
                        reporter_phone, reporter_email, reporter_phone_hash,
                        reporter_email_hash, attributes)
    SELECT :token, c.id, :description,
           CASE WHEN du.id IS NOT NULL THEN 'duplicate'
                WHEN d.department_id IS NOT NULL THEN 'dispatched' ELSE 'registered' END,
           :channel, i.geom, :address, a.building_id, i.grids, a.community_code, a.street_code,
           d.department_id, i.now, i.now,
           CASE WHEN du.id IS NULL AND d.department_id IS NOT NULL THEN i.now END,
           gridgov_event_due(c.limits, NULL, CASE WHEN du.id IS NULL AND d.department_id IS NOT NULL
                                              THEN 'dispatched' ELSE 'registered' END,
                             i.now, coalesce(a.street_code, a.community_code), NULL),
           :reporter_name, :reporter_phone, :reporter_email,
           :reporter_phone_hash, :reporter_email_hash,
           CASE WHEN du.id IS NOT NULL THEN jsonb_build_object('duplicate_of', du.id)
                ELSE '{{}}'::jsonb END
    FROM cat c, input i, area a, dept d, dup du, inside ok, seen s
    WHERE ok.ok AND s.event_id IS NULL
    RETURNING id, status, building_id, community_code, street_code, department_id,
              dispatched_at, due_at, attributes
), hist AS (
    INSERT INTO event_history (event_id, action, from_status, to_status, actor, note, at)
    SELECT id, 'register', NULL, 'registered', :actor, NULL, CAST(:now AS timestamptz)
    FROM ins
    UNION ALL
    SELECT id, 'mark_duplicate', 'registered', 'duplicate', 'system',
           'duplicate of event ' || (attributes ->> 'duplicate_of'), CAST(:now AS timestamptz)
    FROM ins WHERE status = 'duplicate'
    UNION ALL
    SELECT id, 'dispatch', 'registered', 'dispatched', 'system',
           'automatic dispatch by routing', CAST(:now AS timestamptz)
    FROM ins WHERE status = 'dispatched'
), photo AS (
    INSERT INTO event_photos (event_id, url, path, content_type, size)
    SELECT ins.id, p.url, p.path, p.content_type, p.size
    FROM ins, jsonb_to_recordset(CAST(:photos AS jsonb))
         AS p(url text, path text, content_type text, size int)
), body AS (
    SELECT ins.id, jsonb_build_object(
        'id', ins.id, 'public_token', CAST(:token AS text), 'status', ins.status,
        'category', CAST(:category AS text),
        'location', jsonb_build_object('lon', CAST(:lon AS float8), 'lat', CAST(:lat AS float8)),
        'grids', CAST(:grids AS jsonb), 'community_code', ins.community_code,
        'street_code', ins.street_code, 'building_code', b.code,
        'department', CASE WHEN dep.id IS NOT NULL
                           THEN jsonb_build_object('code', dep.code, 'name', dep.name) END,
        'reported_at', CAST(:now AS timestamptz), 'due_at', ins.due_at,
        'duplicate', ins.attributes ? 'duplicate_of',
        'duplicate_of', ins.attributes -> 'duplicate_of') AS body
    FROM ins
    LEFT JOIN departments dep ON dep.id = ins.department_id
    LEFT JOIN buildings b ON b.id = ins.building_id
), k AS (
    INSERT INTO idempotency_keys (key, event_id, response, request_hash)
    SELECT :key, id, body, :request_hash FROM body WHERE CAST(:key AS text) IS NOT NULL
    ON CONFLICT DO NOTHING RETURNING key
)
SELECT (SELECT id FROM cat) AS category_id, (SELECT ok FROM inside) AS inside,
       (SELECT event_id FROM seen) AS seen_event, (SELECT body FROM seen) AS seen_body,
       (SELECT request_hash FROM seen) AS seen_hash,
       (SELECT count(*) FROM k) AS key_claimed, (SELECT names FROM basic) AS basic_layers,
       ins.*, CAST(body.body AS text) AS body
FROM (SELECT 1) AS one
LEFT JOIN ins ON TRUE
LEFT JOIN body ON body.id = ins.id
"""  # noqa: S608 - SQL from trusted parts; values bound


#: the ``event.create`` audit rows of a batch, sent in the intake's pipeline after its
#: statements: one row per report whose event was created (found by its tracking token;
#: with an idempotency key, only when this report claimed the key), in report order.
#: Personal fields are named (``fields``), never shown.
AUDIT_CREATED = """
INSERT INTO audit_log (actor, address, action, object_type, object_id, fields, after, details)
SELECT r->>'actor', r->>'address', 'event.create', 'event', CAST(e.id AS text),
       ARRAY(SELECT jsonb_array_elements_text(r->'fields')),
       jsonb_build_object('status', e.status, 'category', r->>'category',
                          'department_id', e.department_id),
       jsonb_build_object('channel', r->>'channel')
FROM jsonb_array_elements(CAST(%(rows)s AS jsonb)) WITH ORDINALITY AS x(r, n)
CROSS JOIN LATERAL (  -- one index lookup per report, never a scan of the events
    SELECT id, status, department_id FROM events WHERE public_token = r->>'token' LIMIT 1
) AS e
WHERE r->>'key' IS NULL  -- one probe of the key's primary key, never a hash of all keys
   OR (SELECT k.event_id FROM idempotency_keys AS k WHERE k.key = r->>'key') = e.id
ORDER BY n
"""


def numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` with each ``:name`` written as PostgreSQL's ``$n``, and the names by ``n``."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return re.sub(r"(?<![:\w]):(\w+)", number, sql), tuple(names)


#: The intake statement in PostgreSQL's own placeholders, for a ``psycopg.RawCursor``
#: on the driver connection, and its parameters' names in order. psycopg keeps its parse
#: of a ``%(name)s`` query only up to 4 KB; this one is longer, so it was parsed again by
#: a regular expression for every report (an eighth of the server's time at full load).
#: A raw query goes to the server as it is.
INTAKE_RAW, INTAKE_NAMES = numbered(INTAKE_SQL)


def intake_args(params: Mapping[str, Any]) -> list[Any]:
    """The values of :data:`INTAKE_RAW`'s ``$1..$n`` from a report's named parameters."""
    return [params[name] for name in INTAKE_NAMES]

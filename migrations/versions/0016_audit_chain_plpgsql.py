"""the audit chain in PL/pgSQL: the same hashes, a tenth of the cost per row

``audit_canonical`` was a SQL function whose sub-select (the ``fields``
items) kept PostgreSQL from inlining it, so every audited row planned it
anew: about 1 ms per row, spent under the chain's advisory lock, which made
the audit trail most of what intake paid for trust. The same serialisation
(``api.audit.service.canonical``) is now computed in PL/pgSQL, and the
trigger names the id sequence instead of looking it up per row. Rows written
before and after hash identically; the chain is not rewritten.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 13:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the advisory lock every writer of the audit log takes ("gridaudt", migration 0010)
AUDIT_LOCK = 0x6772696461756474

CANONICAL = """
CREATE OR REPLACE FUNCTION audit_canonical(r audit_log) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    items text := '';
    f text;
BEGIN
    IF r.fields IS NOT NULL THEN
        FOREACH f IN ARRAY r.fields LOOP
            items := items || audit_item(f);
        END LOOP;
    END IF;
    RETURN audit_item(r.id::text)
        || audit_item(to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        || audit_item(r.actor) || audit_item(r.actor_id::text) || audit_item(r.role)
        || audit_item(r.address) || audit_item(r.action) || audit_item(r.object_type)
        || audit_item(r.object_id)
        || CASE WHEN r.fields IS NULL THEN '~' ELSE audit_item(items) END
        || audit_item(r.before::text) || audit_item(r.after::text)
        || audit_item(r.details::text);
END
$$;
"""

CHAIN = f"""
CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    last_hash text;
BEGIN
    -- one writer at a time until its transaction ends, so the chain cannot fork;
    -- the id is taken under the lock, so id order is chain order
    PERFORM pg_advisory_xact_lock({AUDIT_LOCK});
    NEW.id := nextval('audit_log_id_seq');
    SELECT hash INTO last_hash FROM audit_log ORDER BY id DESC LIMIT 1;
    NEW.prev_hash := coalesce(last_hash, repeat('0', 64));
    NEW.hash := encode(sha256(convert_to(NEW.prev_hash || audit_canonical(NEW), 'UTF8')),
                       'hex');
    RETURN NEW;
END
$$;
"""

#: migration 0010's definitions, restored by the downgrade
CANONICAL_0010 = """
CREATE OR REPLACE FUNCTION audit_canonical(r audit_log) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT audit_item(r.id::text)
        || audit_item(to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        || audit_item(r.actor) || audit_item(r.actor_id::text) || audit_item(r.role)
        || audit_item(r.address) || audit_item(r.action) || audit_item(r.object_type)
        || audit_item(r.object_id)
        || audit_item(CASE WHEN r.fields IS NULL THEN NULL ELSE coalesce(
               (SELECT string_agg(audit_item(f), '' ORDER BY o)
                FROM unnest(r.fields) WITH ORDINALITY AS u(f, o)), '') END)
        || audit_item(r.before::text) || audit_item(r.after::text)
        || audit_item(r.details::text)
$$;
"""


def upgrade() -> None:
    op.execute(CANONICAL)
    op.execute(CHAIN)


def downgrade() -> None:
    op.execute(CANONICAL_0010)
    op.execute(CHAIN.replace("nextval('audit_log_id_seq')",
                             "nextval(pg_get_serial_sequence('audit_log', 'id'))"))

"""append-only, hash-chained audit log; lookup hashes of reporters' contacts

``audit_log`` refuses UPDATE, DELETE and TRUNCATE (a trigger, and the
privileges are revoked from PUBLIC). A BEFORE INSERT trigger chains the rows:
under a transaction-level advisory lock it gives the row the next id, reads the
hash of the last row and sets

    prev_hash = the last row's hash (64 zeros for the first row)
    hash      = hex(sha256(utf8(prev_hash || audit_canonical(row))))

``audit_canonical`` is documented in ``api.audit.service`` (``canonical``),
which recomputes it in Python for ``gridgov audit verify``.

``events.reporter_phone_hash`` / ``reporter_email_hash`` hold the keyed hash of
the reporter's phone and e-mail (``api.personal``). Existing plaintext values
are not encrypted here (the key is not the database's): run
``gridgov keys encrypt-existing``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the advisory lock every writer of the audit log takes ("gridaudt")
AUDIT_LOCK = 0x6772696461756474

FUNCTIONS = f"""
CREATE FUNCTION audit_item(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN v IS NULL THEN '~' ELSE length(v) || ':' || v END
$$;

CREATE FUNCTION audit_canonical(r audit_log) RETURNS text LANGUAGE sql STABLE AS $$
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

CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    last_hash text;
BEGIN
    -- one writer at a time until its transaction ends, so the chain cannot fork;
    -- the id is taken under the lock, so id order is chain order
    PERFORM pg_advisory_xact_lock({AUDIT_LOCK});
    NEW.id := nextval(pg_get_serial_sequence('audit_log', 'id'));
    SELECT hash INTO last_hash FROM audit_log ORDER BY id DESC LIMIT 1;
    NEW.prev_hash := coalesce(last_hash, repeat('0', 64));
    NEW.hash := encode(sha256(convert_to(NEW.prev_hash || audit_canonical(NEW), 'UTF8')),
                       'hex');
    RETURN NEW;
END
$$;

CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'audit rows are never changed or removed';
END
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
-- the id comes from the chain trigger only (a column default would spend a number too)
ALTER TABLE audit_log ALTER COLUMN id DROP DEFAULT;
"""


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("object_type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=True),
        sa.Column("fields", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"),
                  nullable=False),
        sa.Column("before", postgresql.JSONB(), nullable=True),
        sa.Column("after", postgresql.JSONB(), nullable=True),
        sa.Column("details", postgresql.JSONB(), nullable=True),
        sa.Column("prev_hash", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id"])
    op.execute(FUNCTIONS)
    op.add_column("events", sa.Column("reporter_phone_hash", sa.Text(), nullable=True))
    op.add_column("events", sa.Column("reporter_email_hash", sa.Text(), nullable=True))
    op.create_index("ix_events_reporter_phone_hash", "events", ["reporter_phone_hash"])
    op.create_index("ix_events_reporter_email_hash", "events", ["reporter_email_hash"])


def downgrade() -> None:
    op.drop_index("ix_events_reporter_email_hash", table_name="events")
    op.drop_index("ix_events_reporter_phone_hash", table_name="events")
    op.drop_column("events", "reporter_email_hash")
    op.drop_column("events", "reporter_phone_hash")
    op.execute("DROP FUNCTION IF EXISTS audit_canonical(audit_log)")  # uses the row type
    op.drop_table("audit_log")  # its triggers go with it
    for fn in ("audit_log_refuse()", "audit_log_chain()", "audit_item(text)"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")

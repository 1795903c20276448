"""credentials counted: the gate's cache of signed-in users learns every change that matters

The gate (``api.auth.access``) keeps the principals it resolved from a bearer token
or a session cookie (:class:`api.auth.cache.CredentialCache`) and reuses one only
while the change counters of ``users``, ``api_tokens`` and ``user_sessions`` have
not moved since it was read. A statement-level trigger bumps a table's counter in
``table_versions`` (no change row: no tile is drawn from these tables) whenever
something that decides who a credential is, or whether it still holds, is written:
any update or delete of users (role, scope, department, disabled), and the
revocation, expiry, owner or deletion of a token or a session. Recording a
credential's last use does not count, or every minute of every user would empty
the cache; a new credential does not either (it cannot be in the cache yet).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-02 19:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: table -> what is counted (besides deletes and truncation)
COUNTED = {
    "users": "UPDATE",
    "api_tokens": "UPDATE OF revoked_at, expires_at, user_id, token_hash",
    "user_sessions": "UPDATE OF revoked_at, expires_at, user_id, id, csrf_token",
}

COUNT = """
CREATE FUNCTION gridgov_count_credentials() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM gridgov_tile_bump(TG_TABLE_NAME);
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    """Count the changes of the credential tables that the gate's cache must see."""
    op.execute(COUNT)
    op.execute("INSERT INTO table_versions (table_name, version) VALUES "
               + ", ".join(f"('{t}', 0)" for t in COUNTED)
               + " ON CONFLICT (table_name) DO NOTHING")
    for table, update in COUNTED.items():
        for kind, when in (("upd", update), ("del", "DELETE"), ("trunc", "TRUNCATE")):
            op.execute(f"CREATE TRIGGER gridgov_credentials_{kind} AFTER {when} ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION gridgov_count_credentials()")


def downgrade() -> None:
    """Stop counting them."""
    for table in COUNTED:
        for kind in ("upd", "del", "trunc"):
            op.execute(f"DROP TRIGGER IF EXISTS gridgov_credentials_{kind} ON {table}")
    op.execute("DELETE FROM table_versions WHERE table_name IN ("
               + ", ".join(f"'{t}'" for t in COUNTED) + ")")
    op.execute("DROP FUNCTION IF EXISTS gridgov_count_credentials()")

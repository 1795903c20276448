"""bounded address matching and idempotency keys bound to their request body

Intake matches an address exactly (normalised: NFKC, lower case, no spaces or
punctuation) and otherwise suggests similar addresses. Both scanned every
building: ``ix_buildings_address_normalised`` indexes the normalised
expression (word for word ``api.db.models.NORMALISED_ADDRESS``) and
``ix_buildings_address_trgm`` (pg_trgm, GiST) serves the suggestions by
similarity (``%``) and distance (``<->``) with a limit.

``idempotency_keys.request_hash`` holds the SHA-256 of the canonical body of
the request that claimed the key; a reuse of the key with another body is
refused (``idempotency_key_reused``). Keys stored before have none and replay
as before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NORMALISED = ("regexp_replace(lower(normalize(address, NFKC)), "
              "'[[:space:][:punct:]，。、；：（）【】《》“”‘’·－—]', '', 'g')")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_buildings_address_trgm ON buildings "
               "USING gist (address gist_trgm_ops)")
    op.execute(f"CREATE INDEX ix_buildings_address_normalised ON buildings (({NORMALISED}))")
    op.add_column("idempotency_keys", sa.Column("request_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("idempotency_keys", "request_hash")
    op.execute("DROP INDEX IF EXISTS ix_buildings_address_normalised")
    op.execute("DROP INDEX IF EXISTS ix_buildings_address_trgm")

"""sign-in and scopes: passwords, area scopes, API tokens with expiry, browser sessions

Users gain an argon2id ``password_hash`` and ``area_codes`` (admin areas of their
scope). Bearer tokens move from ``users.token_hash`` to ``api_tokens`` (many per
user, each with an expiry, a revocation time and a last-used time); existing
tokens are kept, without expiry. ``user_sessions`` holds signed-in browsers (the
SHA-256 of the cookie and its CSRF token).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("users", sa.Column("password_hash", sa.Text(), nullable=True))
    op.add_column("users", sa.Column("area_codes", postgresql.ARRAY(sa.String(length=12)),
                                     server_default="{}", nullable=False))
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey(
            "users.id", ondelete="CASCADE", name="fk_api_tokens_user_id_users"), nullable=False),
        sa.Column("name", sa.Text(), server_default="token", nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_used_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.execute("INSERT INTO api_tokens (user_id, name, token_hash, created_at) "
               "SELECT id, 'token', token_hash, created_at FROM users")
    op.drop_constraint("uq_users_token_hash", "users", type_="unique")
    op.drop_column("users", "token_hash")
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey(
            "users.id", ondelete="CASCADE", name="fk_user_sessions_user_id_users"),
            nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_user_sessions"),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_table("user_sessions")
    op.add_column("users", sa.Column("token_hash", sa.String(length=64), nullable=True))
    op.execute("UPDATE users u SET token_hash = (SELECT t.token_hash FROM api_tokens t "
               "WHERE t.user_id = u.id AND t.revoked_at IS NULL ORDER BY t.id LIMIT 1)")
    op.execute("UPDATE users SET token_hash = md5(random()::text) || md5(random()::text) "
               "WHERE token_hash IS NULL")
    op.alter_column("users", "token_hash", nullable=False)
    op.create_unique_constraint("uq_users_token_hash", "users", ["token_hash"])
    op.drop_table("api_tokens")
    op.drop_column("users", "area_codes")
    op.drop_column("users", "password_hash")

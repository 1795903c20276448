"""``gridgov keys ...``: the key of personal data at rest (status, rotation, re-encryption)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from api.audit.service import Actor
    from api.personal.keys import KeyRing

keys_app = typer.Typer(help="The key of personal data (encrypted at rest).",
                       no_args_is_help=True)

Batch = Annotated[int, typer.Option(min=1, max=100_000, help="rows per transaction")]


def _actor() -> Actor:
    from api.audit.service import cli_actor

    return cli_actor()


@contextmanager
def _ring_and_engine() -> Iterator[tuple[KeyRing, Any]]:
    from api.cli._common import _engine, _friendly_errors, _settings
    from api.personal.keys import load_ring

    with _friendly_errors():
        ring = load_ring(_settings())
        engine = _engine()
        try:
            yield ring, engine
        finally:
            engine.dispose()


def _progress(table: str, done: int) -> None:
    typer.echo(f"  {table}: {done} rows re-encrypted", err=True)


@keys_app.command("status")
def keys_status() -> None:
    """Show the key file, the current key, every key and how many values each encrypts."""
    from api.personal.service import key_usage

    with _ring_and_engine() as (ring, engine), engine.connect() as conn:
        usage = key_usage(conn)
    typer.echo(json.dumps({"key_file": str(ring.path) if ring.path else "GRIDGOV_PERSONAL_KEY",
                           "current": ring.current, "keys": sorted(ring.keys),
                           "values_per_key": usage}, indent=2))


@keys_app.command("encrypt-existing")
def keys_encrypt_existing(batch: Batch = 1000) -> None:
    """Encrypt every personal value (plaintext or an older key's) with the current key."""
    from api.personal.service import encrypt_existing

    with _ring_and_engine() as (ring, engine):
        counts = encrypt_existing(engine, ring, _actor(), batch=batch, progress=_progress)
    typer.echo(f"re-encrypted with key {ring.current}: {counts}")


@keys_app.command("rotate")
def keys_rotate(
    keep_old: Annotated[bool, typer.Option(help="keep the old keys in the file (retire "
                                               "them later with 'gridgov keys retire')")]
    = False,
    batch: Batch = 1000,
) -> None:
    """Make a new key, re-encrypt every personal value with it, and retire the old keys.

    Running servers pick the new key up from the key file within a second. Old
    keys still used by a value (written meanwhile) are not retired: run
    'gridgov keys encrypt-existing' and 'gridgov keys retire' then.
    """
    from api.personal.service import rotate_keys

    with _ring_and_engine() as (ring, engine):
        new = rotate_keys(engine, ring, _actor(), retire=not keep_old, batch=batch,
                          progress=_progress)
    kept = sorted(set(new.keys) - {new.current})
    typer.echo(f"current key {new.current}" + (f"; old keys kept: {kept}" if kept
                                                else "; old keys retired"))


@keys_app.command("retire")
def keys_retire() -> None:
    """Remove every key but the current one from the key file (refused while one is used)."""
    from api.audit.service import record
    from api.personal.service import retire_keys

    with _ring_and_engine() as (ring, engine), engine.begin() as conn:
        retired = retire_keys(conn, ring)
        gone = sorted(set(ring.keys) - set(retired.keys))
        record(conn, actor=_actor(), action="keys.retire", object_type="key",
               object_id=ring.current, details={"retired": gone})
    typer.echo(f"retired {gone or 'nothing'}; current key {ring.current}")

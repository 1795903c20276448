"""A real streaming replica of the test cluster, for the tests of reads from replicas.

:func:`streaming_replica` copies the running cluster with ``pg_basebackup -R``
(a hot standby that streams from it) and starts it on a free port; as root it
runs as the ``postgres`` system user, like the embedded cluster.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from api.db.embedded import find_pg_bin, free_port


def _run(cmd: list[str], log: Path | None = None) -> None:
    name = Path(cmd[0]).name
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        tail = log.read_text()[-2000:] if log is not None and log.exists() else ""
        raise RuntimeError(f"{name} failed: {done.stderr.strip() or done.stdout.strip()}\n"
                           f"{tail}")


@contextmanager
def streaming_replica(primary_url: str) -> Iterator[str]:
    """Start a hot standby of ``primary_url``'s cluster; yield ``primary_url`` moved to it.

    The URL keeps the database, user and password: the standby is a copy of
    the whole cluster (its ``max_connections`` must be at least the primary's,
    200 in the embedded cluster). It is stopped and deleted afterwards.
    """
    url = make_url(primary_url)
    pg_bin = find_pg_bin()
    home = Path(tempfile.mkdtemp(prefix="gridgov-replica-"))
    if os.geteuid() == 0:
        pg = pwd.getpwnam("postgres")
        os.chown(home, pg.pw_uid, pg.pw_gid)
    data, port = home / "data", free_port()
    source = (f"host={url.host} port={url.port} user={url.username} "
              f"password={url.password} dbname=postgres")
    _run([str(pg_bin / "pg_basebackup"), "-D", str(data), "-R", "-X", "stream", "-c", "fast",
          "-d", source])
    _run([str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(home / "replica.log"), "-w",
          "-t", "60", "-o", f"-p {port} -k {home} -c listen_addresses=127.0.0.1 "
          # feedback: the primary keeps the rows a standby query still reads, so vacuum
          # on the primary never cancels a test's query on the replica
          "-c hot_standby=on -c hot_standby_feedback=on -c max_connections=200", "start"],
         home / "replica.log")
    try:
        yield url.set(port=port).render_as_string(hide_password=False)
    finally:
        _run([str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(home, ignore_errors=True)


def wait_for_replay(primary: psycopg.Connection, replica: psycopg.Connection,
                    timeout: float = 60.0) -> None:
    """Wait until ``replica`` has replayed everything ``primary`` has written so far."""
    row = primary.execute("SELECT pg_current_wal_lsn()").fetchone()
    if row is None:
        raise RuntimeError("the primary reports no WAL position")
    deadline = time.monotonic() + timeout
    while True:
        done = replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn",
                               (row[0],)).fetchone()
        if done is not None and done[0]:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the replica did not reach {row[0]} in {timeout} s")
        time.sleep(0.05)

"""Throwaway PostgreSQL + PostGIS clusters, for the tests and the benches."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from api.db.embedded import EmbeddedCluster


@contextmanager
def throwaway_cluster(prefix: str = "gridgov-test-", *, durable: bool = False,
                      settings: Mapping[str, str] | None = None) -> Iterator[EmbeddedCluster]:
    """A private cluster, started, in a new temporary folder (``cluster.url("postgres")``).

    The cluster runs without fsync unless ``durable`` (a bench timing commits),
    with ``settings`` over :class:`EmbeddedCluster`'s; it is deleted afterwards.
    """
    home = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(home, 0o755)  # noqa: S103 - the postgres user reaches it when we run as root
    cluster = EmbeddedCluster(home, fast=not durable, settings=dict(settings or {}))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def server_or_throwaway(server_url: str | None, prefix: str = "gridgov-bench-", *,
                        durable: bool = False, settings: Mapping[str, str] | None = None
                        ) -> Iterator[str]:
    """``server_url`` when given, else a :func:`throwaway_cluster`'s URL."""
    if server_url is not None:
        yield server_url
        return
    with throwaway_cluster(prefix, durable=durable, settings=settings) as cluster:
        yield cluster.url("postgres")

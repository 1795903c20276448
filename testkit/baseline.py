"""The server as it was before the trust layer, to measure what trust costs side by side.

``bench/intake.py``, ``bench/tiles.py`` and ``bench/assign_http.py`` start, next to
today's server, the same server checked out at :data:`BEFORE_TRUST` (the last commit before
sign-in, scopes, audit, encryption and the request limits) in a temporary git
worktree, on a database migrated and loaded by that checkout's own code. Both
are loaded in turn in the same run, so the ratio today / before is the cost of
the trust layer on this machine, whatever its speed that minute.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from testkit.databases import create_database, drop_database
from testkit.servers import REPO

#: git, as the shell would find it
GIT = shutil.which("git") or "git"
#: the last commit before the trust layer (issue 13)
BEFORE_TRUST = "b413d34"

#: run inside the checkout, so its module names are those of that commit (not today's)
_PREPARE = """
import sys
from api.db.migrate import upgrade
from api.db.session import make_engine
from api.services.loader import load_directory
upgrade(sys.argv[1])
engine = make_engine(sys.argv[1], pool_size=2)
load_directory(engine, sys.argv[2])
if sys.argv[3] == "analyze":
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
engine.dispose()
"""


@contextmanager
def checkout(rev: str = BEFORE_TRUST) -> Iterator[Path]:
    """A detached worktree of ``rev`` in a temporary folder (removed afterwards)."""
    tree = Path(tempfile.mkdtemp(prefix="gridgov-before-trust-")) / "tree"
    subprocess.run([GIT, "-C", str(REPO), "worktree", "add", "--detach",  # noqa: S603 - our own argv
                    "--quiet", str(tree), rev], check=True)
    try:
        yield tree
    finally:
        subprocess.run([GIT, "-C", str(REPO), "worktree", "remove",  # noqa: S603 - our own argv
                        "--force", str(tree)], check=False)


def env_of(tree: Path) -> dict[str, str]:
    """Environment that imports the checkout's packages before the installed ones."""
    return {**os.environ, "PYTHONPATH": str(tree)}


def prepare(tree: Path, url: str, sample_dir: Path, analyze: bool = False) -> None:
    """Migrate ``url`` with the checkout's migrations and load the sample with its loader.

    With ``analyze`` the planner's statistics are fresh, as ``testkit``'s sample
    databases make them with theirs.
    """
    subprocess.run([sys.executable, "-c", _PREPARE, url, str(sample_dir),  # noqa: S603 - our own argv
                    "analyze" if analyze else "-"], cwd=tree, env=env_of(tree), check=True)


@contextmanager
def database(url: str, tree: Path, sample_dir: Path, analyze: bool = False) -> Iterator[str]:
    """A database beside ``url``'s holding the sample in the checkout's own schema.

    The server of that commit cannot read today's schema (tables were renamed
    since), so it gets its own copy, migrated and loaded by its own code.
    """
    name = f"bench_before_{uuid.uuid4().hex[:6]}"
    before_url = create_database(url, name)
    try:
        prepare(tree, before_url, sample_dir, analyze)
        yield before_url
    finally:
        drop_database(url, name)


def staff_token(tree: Path, url: str, name: str, role: str = "dispatcher") -> str:
    """A bearer token of a new user, made by the checkout's own ``gridgov user create``."""
    done = subprocess.run(  # noqa: S603 - our own argv
        [sys.executable, "-c", "from api.cli import app; app()", "user", "create",
         "--name", name, "--role", role], cwd=tree, env={**env_of(tree), "DATABASE_URL": url},
        check=True, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[0]

"""The embedded default: a private PostgreSQL + PostGIS cluster in a data directory.

With no ``DATABASE_URL``, gridgov runs its own cluster under ``GRIDGOV_HOME``
(default ``./.gridgov``): data in ``pg/data``, a unix socket in ``pg/run`` and
a free loopback TCP port, password authentication with a generated password
kept in ``pg/password`` (mode 0600).

PostgreSQL's ``initdb`` refuses to run as root. When gridgov runs as root the
cluster is created and run as the ``postgres`` system user (through
``runuser``); if that user cannot reach the data directory (e.g. it lives under
``/root``), the cluster's files go to ``/var/lib/gridgov/<hash>`` and a symlink
points there from ``GRIDGOV_HOME/pg``.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DB_NAME = "gridgov"
DB_USER = "gridgov"


class EmbeddedError(RuntimeError):
    """The embedded cluster cannot be created or started; the message says why."""


def find_pg_bin() -> Path:
    """Return the newest PostgreSQL server ``bin`` directory, or raise with the apt package."""
    env = os.environ.get("GRIDGOV_PG_BIN")
    candidates = [Path(env)] if env else []
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for path in candidates:
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    raise EmbeddedError(
        "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin). "
        "Install them with: apt-get install postgresql-15 postgresql-15-postgis-3"
    )


def check_postgis(pg_bin: Path) -> None:
    """Raise with the exact package to install when PostGIS is missing for this server."""
    version = pg_bin.parent.name
    sharedir = Path(f"/usr/share/postgresql/{version}/extension")
    if not any(sharedir.glob("postgis.control")):
        raise EmbeddedError(
            f"PostGIS is not installed for PostgreSQL {version}. "
            f"Install it with: apt-get install postgresql-{version}-postgis-3"
        )


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class EmbeddedCluster:
    """A private PostgreSQL cluster under ``home``.

    Parameters
    ----------
    home
        The gridgov data directory (``GRIDGOV_HOME``).
    fast
        Turn off fsync and synchronous commit (for throwaway test clusters only).
    settings
        Further server settings (name -> value), over the defaults (the benches' memory).
    """

    home: Path
    fast: bool = False
    settings: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home = Path(self.home).absolute()
        self.pg_bin = find_pg_bin()

    # -- paths -----------------------------------------------------------------
    @property
    def root(self) -> Path:
        """Directory holding the cluster (``data``, ``run``, ``password``, ``port``)."""
        return self.home / "pg"

    @property
    def data_dir(self) -> Path:
        """PGDATA."""
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        """Directory of the unix socket."""
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        """Server log."""
        return self.root / "postgres.log"

    @property
    def as_root(self) -> bool:
        """Whether the cluster must run as the ``postgres`` system user."""
        return os.geteuid() == 0

    # -- state -----------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        """Whether the cluster exists."""
        return (self.data_dir / "PG_VERSION").exists()

    @property
    def port(self) -> int:
        """The TCP port recorded for the cluster."""
        return int((self.root / "port").read_text().strip())

    @property
    def password(self) -> str:
        """The generated password of the ``gridgov`` role."""
        return (self.root / "password").read_text().strip()

    def url(self, database: str = DB_NAME) -> str:
        """SQLAlchemy URL of the cluster (psycopg 3 driver, TCP on loopback)."""
        return f"postgresql+psycopg://{DB_USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def running(self) -> bool:
        """Whether the server process is up."""
        if not self.initialised:
            return False
        result = self._run(
            [str(self.pg_bin / "pg_ctl"), "-D", str(self.data_dir), "status"], check=False
        )
        return result.returncode == 0

    # -- actions ---------------------------------------------------------------
    def _run(self, cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True,  # noqa: S603 - our argv
                                check=False)
        if check and result.returncode != 0:
            raise EmbeddedError(
                f"{Path(cmd[-1] if self.as_root else cmd[0]).name} failed: "
                f"{result.stderr.strip() or result.stdout.strip()}"
            )
        return result

    def _prepare_root(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if not self.as_root:
            self.root.mkdir(parents=True, exist_ok=True)
            return
        if self.root.exists() or self.root.is_symlink():
            return
        pg = pwd.getpwnam("postgres")
        target = self.root
        if not _reachable_by(self.home, pg.pw_uid, pg.pw_gid):
            digest = hashlib.sha1(str(self.home).encode(), usedforsecurity=False).hexdigest()[:12]
            target = Path("/var/lib/gridgov") / digest
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(target.parent, 0o755)  # noqa: S103 - postgres must traverse it
            if target.exists():
                shutil.rmtree(target)
            self.root.symlink_to(target)
        target.mkdir(parents=True, exist_ok=True)
        os.chown(target, pg.pw_uid, pg.pw_gid)

    def init(self) -> None:
        """Create the cluster (first time only) with PostGIS available."""
        check_postgis(self.pg_bin)
        if self.initialised:
            return
        self._prepare_root()
        self.socket_dir.mkdir(exist_ok=True)
        pwfile = self.root / "password"
        pwfile.write_text(secrets.token_urlsafe(24) + "\n")
        os.chmod(pwfile, 0o600)
        (self.root / "port").write_text(f"{free_port()}\n")
        if self.as_root:
            pg = pwd.getpwnam("postgres")
            for p in (self.socket_dir, pwfile):
                os.chown(p, pg.pw_uid, pg.pw_gid)
        self._run(
            [
                str(self.pg_bin / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                DB_USER,
                "--pwfile",
                str(pwfile),
                "-A",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--locale",
                "C.UTF-8",
            ]
        )
        if self.as_root:
            os.chmod(pwfile, 0o600)

    def start(self) -> None:
        """Start the server (initialising it first if needed) and create the database."""
        self.init()
        if self.running():
            return
        if _port_in_use(self.port):
            (self.root / "port").write_text(f"{free_port()}\n")
        options = [
            f"-p {self.port}",
            f"-k {self.socket_dir}",
            "-c listen_addresses=127.0.0.1",
            "-c max_connections=200",
            "-c shared_buffers=256MB",
            "-c max_parallel_workers_per_gather=0",
        ]
        if self.fast:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        options += [f"-c {name}={value}" for name, value in self.settings.items()]
        self._run(
            [
                str(self.pg_bin / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "60",
                "-o",
                " ".join(options),
                "start",
            ]
        )
        self._ensure_database()

    def _ensure_database(self) -> None:
        import psycopg

        conninfo = (
            f"host=127.0.0.1 port={self.port} user={DB_USER} "
            f"password={self.password} dbname=postgres"
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg.connect(conninfo, autocommit=True)
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')

    def stop(self) -> None:
        """Stop the server if it runs."""
        if self.running():
            self._run(
                [str(self.pg_bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]
            )

    def destroy(self) -> None:
        """Stop the server and delete the cluster's files."""
        self.stop()
        target = self.root.resolve()
        if self.root.is_symlink():
            self.root.unlink()
        shutil.rmtree(target, ignore_errors=True)

    def status(self) -> dict[str, object]:
        """A small status record for ``gridgov db status``."""
        info: dict[str, object] = {
            "home": str(self.home),
            "initialised": self.initialised,
            "running": self.running(),
        }
        if self.initialised:
            info.update(
                port=self.port, data_dir=str(self.data_dir.resolve()), postgres=str(self.pg_bin)
            )
        return info


def _reachable_by(path: Path, uid: int, gid: int) -> bool:
    """Whether a user with ``uid``/``gid`` can traverse every ancestor of ``path``."""
    for part in [path, *path.parents]:
        st = part.stat()
        if st.st_uid == uid:
            ok = bool(st.st_mode & 0o100)
        elif st.st_gid == gid:
            ok = bool(st.st_mode & 0o010)
        else:
            ok = bool(st.st_mode & 0o001)
        if not ok:
            return False
    return True

"""``gridgov db url`` prints a URL that psql and libpq accept; ``--sqlalchemy`` the driver form."""

from __future__ import annotations

import subprocess

import psycopg
from typer.testing import CliRunner

from api.cli import app as cli


def _db_url(database_url: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["db", "url", *args], env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.stderr
    return str(result.stdout.strip())


def test_db_url_is_a_libpq_url_psycopg_connects_to(database_url: str) -> None:
    url = _db_url(database_url)
    assert url.startswith("postgresql://")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_psql_accepts_db_url(database_url: str) -> None:
    done = subprocess.run(["psql", _db_url(database_url), "-tAc", "select 1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def test_db_url_sqlalchemy_prints_the_driver_form(database_url: str) -> None:
    url = _db_url(database_url, "--sqlalchemy")
    assert url.startswith("postgresql+psycopg://")
    assert url.split("://", 1)[1] == _db_url(database_url).split("://", 1)[1]

"""Import of the district offices' tables: Chinese headers, row-level errors by row number,
nothing stored on any error; the export of a scope, masked and audited."""

from __future__ import annotations

import csv
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import Connection, text

from api.audit.service import Actor
from api.imports.admin_codes import DivisionTable
from api.people.importer import import_people
from api.personal.cipher import PersonalCipher
from api.settings import Settings
from coding.resident_id import make_resident_id
from gis_core.errors import InvalidInput

HEADER = ["姓名", "公民身份号码", "联系电话", "户籍地", "民族", "房屋编码", "户号", "与户主关系",
          "居住类型", "入住日期"]


@pytest.fixture(scope="module")
def divisions() -> DivisionTable:
    return DivisionTable.load()


@pytest.fixture()
def cipher() -> PersonalCipher:
    return PersonalCipher.from_settings(Settings())


@pytest.fixture()
def rooms(connection: Connection) -> list[str]:
    return [str(c) for c in connection.execute(text(
        "SELECT code FROM rooms ORDER BY code LIMIT 3")).scalars()]


def _rows(rooms: list[str]) -> list[list[Any]]:
    ids = [make_resident_id("440305", date(1960 + i, 5, 6), 200 + i) for i in range(4)]
    return [["王一", ids[0], "13900000001", "", "汉族", rooms[0], "H001", "户主", "自有",
             "2020-01-01"],
            ["王二", ids[1], "13900000002", "440307", "汉族", rooms[0], "H001", "配偶", "自有",
             "2020-01-01"],
            ["李三", ids[2], "", "", "壮族", rooms[1], "H002", "户主", "租住", ""],
            ["赵四", ids[3].lower(), "", "", "汉族", "", "", "", "", ""]]


def _write(path: Path, rows: list[list[Any]]) -> Path:
    if path.suffix == ".xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        for row in [HEADER, *rows]:
            sheet.append(row)
        book.save(path)
    else:
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows([HEADER, *rows])
    return path


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_good_table_is_imported(connection: Connection, tmp_path: Path, rooms: list[str],
                                  cipher: PersonalCipher, divisions: DivisionTable,
                                  suffix: str) -> None:
    file = _write(tmp_path / f"people{suffix}", _rows(rooms))
    counts = import_people(connection, file, cipher, divisions, Actor("cli:test"),
                           today=date(2026, 12, 1))
    assert counts == {"persons": 4, "residences": 3, "households": 2}
    stored = connection.execute(text(
        "SELECT p.gender, p.birth_date, p.registration_place, p.relation, h.code, r.kind, "
        "r.from_date FROM persons p JOIN households h ON h.id = p.household_id JOIN "
        "residences r ON r.person_id = p.id WHERE p.id_number_hash = :h"),
        {"h": cipher.lookup_hash(_rows(rooms)[1][1], "id_number")}).one()
    assert tuple(stored) == ("male", date(1961, 5, 6), "440307", "配偶", "H001", "owner",
                             date(2020, 1, 1))
    audit = connection.execute(text("SELECT details FROM audit_log WHERE action = "
                                    "'people.import' ORDER BY id DESC LIMIT 1")).scalar_one()
    assert audit["persons"] == 4


def test_row_errors_are_listed_by_row_and_nothing_is_stored(
        connection: Connection, tmp_path: Path, rooms: list[str], cipher: PersonalCipher,
        divisions: DivisionTable) -> None:
    rows = _rows(rooms)
    rows[1][1] = rows[1][1][:17] + ("1" if rows[1][1][17] != "1" else "2")  # check character
    rows[2][5] = "NO-SUCH-ROOM"
    rows.append(["重复", rows[0][1], "", "", "", "", "", "", "", ""])
    file = _write(tmp_path / "bad.csv", rows)
    before = connection.execute(text("SELECT count(*) FROM persons")).scalar()
    with pytest.raises(InvalidInput) as refused:
        import_people(connection, file, cipher, divisions, Actor("cli:test"))
    found: Any = refused.value.details["errors"]
    errors = {(e["row"], e["column"]): e["message"] for e in found}
    assert "check character" in errors[(2, "id_number")]
    assert "unknown room" in errors[(3, "room_code")]
    assert "same ID number as row 1" in errors[(5, "id_number")]
    assert refused.value.code == "invalid_rows" and len(errors) == 3
    assert connection.execute(text("SELECT count(*) FROM persons")).scalar() == before


def test_a_person_already_in_the_archive_is_a_row_error(
        connection: Connection, tmp_path: Path, rooms: list[str], cipher: PersonalCipher,
        divisions: DivisionTable) -> None:
    file = _write(tmp_path / "people.csv", _rows(rooms))
    import_people(connection, file, cipher, divisions, Actor("cli:test"))
    with pytest.raises(InvalidInput, match="row 1: duplicate person: already in the archive"):
        import_people(connection, file, cipher, divisions, Actor("cli:test"))


def test_a_table_without_the_id_column_names_what_is_missing(
        connection: Connection, tmp_path: Path, cipher: PersonalCipher,
        divisions: DivisionTable) -> None:
    path = tmp_path / "x.csv"
    path.write_text("姓名,电话\n王一,139\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="公民身份号码"):
        import_people(connection, path, cipher, divisions, Actor("cli:test"))


def test_gridgov_import_people_commits_the_file_and_leaves_its_tables_ready_to_read(
        empty_database_url: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli import app as cli
    from api.db.session import make_engine

    path = _write(tmp_path / "people.csv", [
        ["钱五", make_resident_id("440305", date(1971, 2, 3), 301), "", "", "汉族", "", "", "",
         "", ""],
        ["孙六", make_resident_id("440305", date(1972, 3, 4), 302), "", "", "汉族", "", "", "",
         "", ""]])
    env = {"DATABASE_URL": empty_database_url, "GRIDGOV_HOME": str(tmp_path)}
    done = CliRunner().invoke(cli, ["import", "people", str(path)], env=env)
    assert done.exit_code == 0, (done.stdout, done.stderr)
    assert "'persons': 2" in done.stdout
    engine = make_engine(empty_database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM persons")).scalar_one() == 2
        for _ in range(50):  # the importer's backend reports its statistics as it ends
            with engine.connect() as conn:
                settled = conn.execute(text(
                    "SELECT vacuum_count >= 1 AND analyze_count >= 1 FROM pg_stat_user_tables "
                    "WHERE relname = 'persons'")).scalar_one()
            if settled:
                break
            time.sleep(0.1)
        assert settled  # vacuumed and analysed: the first readers find it ready
    finally:
        engine.dispose()

"""The sample town's synthetic residents: deterministic, valid codes, birth dates that match
the ID numbers, a registration layer that differs from residence, overdue visits; loaded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, text

from api.auth.principal import Principal
from api.people.sample import load_people
from api.people.visits import visit_tasks
from api.personal.cipher import PersonalCipher
from api.settings import Settings
from coding.credit_code import is_valid_credit_code
from coding.resident_id import parse_resident_id
from data_samples.people import make_people, write_people

END = date(2026, 11, 1)


@pytest.fixture()
def places(connection: Connection) -> tuple[pd.DataFrame, pd.DataFrame]:
    rooms = pd.read_sql(text("SELECT b.code AS building_code, r.code FROM rooms r JOIN "
                             "buildings b ON b.id = r.building_id ORDER BY r.code"), connection)
    buildings = pd.read_sql(text("SELECT code, use FROM buildings ORDER BY code"), connection)
    return rooms, buildings


def test_the_residents_are_deterministic_and_valid(places: tuple[pd.DataFrame, pd.DataFrame]
                                                   ) -> None:
    rooms, buildings = places
    one = make_people(np.random.default_rng(3), rooms, buildings, 400, END)
    two = make_people(np.random.default_rng(3), rooms, buildings, 400, END)
    for name in one:
        pd.testing.assert_frame_equal(one[name], two[name])
    people = one["people"]
    assert people["户号"].nunique() == 400 and 2 * 400 < len(people) < 3 * 400
    assert people["公民身份号码"].is_unique
    parsed = [parse_resident_id(n, END) for n in people["公民身份号码"]]
    assert all(p.region == r for p, r in zip(parsed, people["户籍地"], strict=True))
    assert (people["户籍地址房屋编码"] != people["房屋编码"].str[:18]).mean() > 0.1
    assert all(is_valid_credit_code(c) for c in one["organisations"]["credit_code"])
    assert 0.01 < len(one["person_tags"]) / len(people) < 0.06


def test_the_sample_loads_with_a_registration_layer_and_overdue_visits(
        connection: Connection, tmp_path: Path, places: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    rooms, buildings = places
    write_people(tmp_path, make_people(np.random.default_rng(5), rooms, buildings, 600, END))
    loaded = load_people(connection, tmp_path, PersonalCipher.from_settings(Settings()))
    assert loaded == len(pd.read_csv(tmp_path / "people.csv"))
    layer = connection.execute(text(
        "SELECT l.kind, count(*) FROM grids g JOIN grid_layers l ON l.id = g.layer_id "
        "WHERE l.name = 'household' GROUP BY 1")).one()
    assert layer[0] == "registration" and layer[1] >= 2
    tasks = visit_tasks(connection, Principal(1, "a", "admin"),  # type: ignore[arg-type]
                        today=END, tz="Asia/Shanghai", statuses=("overdue",))
    assert tasks, "some special-population persons are overdue"

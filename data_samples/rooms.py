"""Rooms of the residential buildings ("one room, one code").

Rooms are made for residential buildings in code order until a room budget
is spent, so the table stays bounded at district scale (the budget is set per
scale by the generator; the buildings left without rooms are the last ones in
code order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coding.building_codes import make_room_code


def make_rooms(rng: np.random.Generator, buildings: pd.DataFrame, budget: int) -> pd.DataFrame:
    """Rooms (building_code, code, unit, floor, number) of residential buildings.

    Urban-village buildings have no units (unit 0) and 4-8 rooms a floor;
    estate towers have 2-4 units with 2-4 rooms a floor per unit.
    """
    res = buildings[buildings["use"] == "residential"].sort_values("code")
    n = len(res)
    estate = (res["style"] == "estate").to_numpy()
    units = np.where(estate, rng.integers(2, 5, n), 1)
    per_floor = np.where(estate, rng.integers(2, 5, n), rng.integers(4, 9, n))
    floors = res["floors"].to_numpy()
    count = units * per_floor * floors
    keep = np.cumsum(count) <= budget
    res, units, per_floor, floors, count = (
        res[keep], units[keep], per_floor[keep], floors[keep], count[keep])
    b = np.repeat(np.arange(len(res)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    per_unit_floor = per_floor[b]
    number = k % per_unit_floor + 1
    floor = (k // per_unit_floor) % floors[b] + 1
    unit_idx = k // (per_unit_floor * floors[b]) + 1
    unit = np.where(estate[keep][b], unit_idx, 0)
    bcode = res["code"].to_numpy()[b]
    codes = [make_room_code(c, int(u), int(f), int(r))
             for c, u, f, r in zip(bcode, unit, floor, number, strict=True)]
    return pd.DataFrame({"building_code": bcode, "code": codes, "unit": unit.astype(np.int64),
                         "floor": floor.astype(np.int64), "number": number.astype(np.int64)})

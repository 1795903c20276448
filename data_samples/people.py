"""Synthetic residents of the sample town (no real person; deterministic from the seed).

Households, persons, organisations, special populations and their visit histories:
- households live in rooms of residential buildings (some rooms rented: tenants);
- persons have valid GB 11643 ID numbers whose birth date and gender match the
  person (regions: mostly the sample's district, some from elsewhere);
- a share of the persons are registered (户籍) at another building than the one
  they live in (resettled villagers), so the registration grids differ;
- organisations sit at non-residential buildings with valid GB 32100 codes;
- a few percent of the persons are in a special population with a level, and have
  visits every cycle (with jitter) until a day; some stopped early: overdue.

Written as CSV with the import headers (``people.csv`` is read by
:func:`api.people.importer.import_people`).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from coding.credit_code import ALPHABET, make_credit_code
from coding.resident_id import make_resident_id
from data_samples.names import SURNAMES, WORDS

REGIONS = ("440307", "440307", "440307", "440305", "441502", "430524", "360732", "450881")
TAGS = (("elderly_alone", 7), ("severe_disability", 7), ("left_behind_child", 15),
        ("low_income", 30), ("community_correction", 7), ("severe_mental_illness", 7))
RELATIONS = ("户主", "配偶", "子", "女", "父亲", "母亲")


def make_people(rng: np.random.Generator, rooms: pd.DataFrame, buildings: pd.DataFrame,
                households: int, end: date) -> dict[str, pd.DataFrame]:
    """Households of 1-5 persons in ``rooms`` (``building_code``, ``code``); see the module.

    ``buildings`` holds ``code`` and ``use``; ``end`` is the last day of the histories.
    """
    homes = rooms.iloc[rng.choice(len(rooms), size=min(households, len(rooms)),
                                  replace=False)].reset_index(drop=True)
    size = rng.choice([1, 2, 3, 4, 5], size=len(homes), p=[.2, .3, .25, .17, .08])
    rented = rng.random(len(homes)) < 0.35
    hh = np.repeat(np.arange(len(homes)), size)
    position = np.arange(len(hh)) - np.repeat(np.cumsum(size) - size, size)
    n = len(hh)
    born = [date(1935, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 31_000, n)]
    region = np.array(REGIONS)[rng.integers(0, len(REGIONS), n)]
    ids = [make_resident_id(str(r), b, int(s)) for r, b, s in
           zip(region, born, rng.integers(0, 1000, n), strict=True)]
    ids = _unique(ids, rng)
    residential = buildings.loc[buildings["use"] == "residential", "code"].to_numpy()
    resettled = rng.random(len(homes)) < 0.25
    registered = np.where(resettled, residential[rng.integers(0, len(residential),
                                                              len(homes))],
                          homes["building_code"].to_numpy())
    people = pd.DataFrame({
        "姓名": [SURNAMES[i % len(SURNAMES)] + WORDS[j % len(WORDS)][:1 + j % 2]
               for i, j in zip(rng.integers(0, 999, n), rng.integers(0, 999, n), strict=True)],
        "公民身份号码": ids,
        "联系电话": [f"13{d:09d}" for d in rng.integers(0, 10**9, n)],
        "户籍地": region, "民族": np.where(rng.random(n) < 0.92, "汉族", "壮族"),
        "房屋编码": homes["code"].to_numpy()[hh],
        "户籍地址房屋编码": registered[hh],
        "户号": [f"HH{h:06d}" for h in hh],
        "与户主关系": [RELATIONS[min(p, len(RELATIONS) - 1)] for p in position],
        "居住类型": np.where(rented[hh], "租住", "自有"),
        "入住日期": [(end - timedelta(days=int(d))).isoformat()
                 for d in rng.integers(30, 3650, len(homes))[hh]],
    })
    tags, visits = _special(rng, people, end)
    return {"people": people, "organisations": _organisations(rng, buildings),
            "person_tags": tags, "visits": visits}


def _unique(ids: list[str], rng: np.random.Generator) -> list[str]:
    seen: set[str] = set()
    out = []
    for number in ids:
        while number in seen:  # another sequence number on the same day
            number = make_resident_id(number[:6], date(int(number[6:10]), int(number[10:12]),
                                                       int(number[12:14])),
                                      int(rng.integers(0, 1000)))
        seen.add(number)
        out.append(number)
    return out


def _special(rng: np.random.Generator, people: pd.DataFrame, end: date
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    chosen = np.flatnonzero(rng.random(len(people)) < 0.03)
    tags, visits = [], []
    for i in chosen:
        tag, cycle = TAGS[int(rng.integers(0, len(TAGS)))]
        level = int(rng.integers(1, 4))
        days = cycle * level
        since = end - timedelta(days=int(rng.integers(60, 720)))
        stop = end if rng.random() > 0.15 else end - timedelta(days=days * 3)  # overdue
        tags.append((people.at[i, "公民身份号码"], tag, level, since.isoformat()))
        day = since + timedelta(days=int(rng.integers(1, days + 1)))
        while day <= stop:
            visits.append((people.at[i, "公民身份号码"], f"{day.isoformat()}T10:00:00+08:00",
                           "走访正常" if rng.random() > 0.1 else "发现问题，已记录"))
            day += timedelta(days=max(1, days - int(rng.integers(0, 3))))
    return (pd.DataFrame(tags, columns=["id_number", "tag", "level", "since"]),
            pd.DataFrame(visits, columns=["id_number", "visited_at", "notes"]))


def _organisations(rng: np.random.Generator, buildings: pd.DataFrame) -> pd.DataFrame:
    hosts = buildings.loc[buildings["use"] != "residential", "code"].to_numpy()
    if len(hosts) == 0:
        return pd.DataFrame(columns=["name", "credit_code", "kind", "building_code"])
    at = hosts[rng.integers(0, len(hosts), min(len(hosts), 2000))]
    codes = [make_credit_code("91440307" + "".join(ALPHABET[int(c)] for c in rng.integers(
        0, 31, 9))) for _ in at]
    return pd.DataFrame({"name": [f"{WORDS[int(k) % len(WORDS)]}商贸有限公司" for k in
                                  rng.integers(0, 999, len(at))],
                         "credit_code": codes, "kind": "企业", "building_code": at}
                        ).drop_duplicates("credit_code")


def write_people(out: Path, frames: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Write the frames as ``<name>.csv``; their row counts."""
    for name, frame in frames.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    return {f"people.{k}": len(v) for k, v in frames.items()}

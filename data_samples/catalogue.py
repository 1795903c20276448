"""The event category catalogue and departments shipped with gridgov.

``categories.csv`` holds 11 major and 132 minor categories modelled on the
event classes of GB/T 30428 / CJ/T 214 (市容环境, 宣传广告, 施工管理,
突发事件, 街面秩序 ...) and on the complaints city hotlines receive; each has
the department that handles it, a time limit in hours and a closing standard.
``departments.csv`` lists the departments (codes are short mnemonics of the
Chinese names).

This module also holds how the sample-town generator uses the catalogue: how
common each category is, where it happens (near which kind of building, on a
road, on the river) and which channels report it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
CATEGORIES_CSV = HERE / "categories.csv"
DEPARTMENTS_CSV = HERE / "departments.csv"


def load_categories() -> pd.DataFrame:
    """Read the category catalogue (codes as strings).

    Examples
    --------
    >>> cats = load_categories()
    >>> cats.loc[cats["code"] == "0404", "name"].item()
    '违章停车'
    """
    return pd.read_csv(CATEGORIES_CSV, dtype={"code": str, "major_code": str,
                                              "department_code": str})


def load_departments() -> pd.DataFrame:
    """Read the department list.

    Examples
    --------
    >>> "CGJ" in set(load_departments()["code"])
    True
    """
    return pd.read_csv(DEPARTMENTS_CSV, dtype=str)


# ------------------------------------------------ how the generator uses it

MAJOR_WEIGHT = {"01": 1.6, "02": 0.8, "03": 0.05, "04": 1.6, "05": 0.5, "06": 0.5, "07": 0.4,
                "08": 0.4, "09": 0.4, "10": 0.6, "11": 0.5}
MINOR_BOOST = {"0101": 5, "0102": 3, "0103": 2.5, "0104": 4, "0106": 2, "0401": 5, "0402": 3,
               "0403": 4, "0404": 6, "0405": 2, "0406": 3, "0201": 3, "0206": 2, "0203": 1.5,
               "1001": 3, "1002": 2, "0801": 3, "1101": 2, "1102": 1.5, "0604": 1.5}
MAJOR_PROFILE = {"01": "sanitation", "02": "road", "03": "generic", "04": "street_order",
                 "05": "advertising", "06": "construction", "07": "road", "08": "river",
                 "09": "road", "10": "safety", "11": "environment"}
MINOR_PROFILE = {"0211": "generic", "0213": "safety", "0215": "generic", "0305": "road",
                 "0306": "road", "0310": "generic", "0410": "road", "0412": "road",
                 "0709": "generic", "0808": "road", "0809": "road", "1107": "generic"}
RAINY = {"07", "08"}
RAINY_MINORS = {"0208", "0217", "0305", "0702"}
NIGHT_MINORS = {"0602": "late", "0407": "evening", "1107": "evening", "1101": "evening"}

# weight of a building class (use, residential split by neighbourhood) per profile
PROFILE_WEIGHTS: dict[str, dict[str, float]] = {
    "sanitation": {"market": 600, "village": 4, "commercial": 2, "school": 20},
    "street_order": {"market": 800, "school": 300, "hospital": 60, "commercial": 4, "village": 3},
    "safety": {"village": 5, "industrial": 3, "warehouse": 3, "estate": 1.5},
    "environment": {"industrial": 6, "commercial": 4, "village": 2, "warehouse": 2},
    "construction": {"estate": 3, "commercial": 3, "industrial": 2},
    "advertising": {"commercial": 6, "market": 100, "village": 3},
    "generic": {"market": 50, "school": 30, "village": 1.5},
}
CHANNELS = ("patrol", "hotline", "app", "camera", "qr", "open311")
CHANNEL_SHARE = (0.38, 0.22, 0.2, 0.1, 0.05, 0.05)
CAMERA_PROFILES = {"sanitation", "street_order", "road"}


def generator_table(categories: pd.DataFrame) -> pd.DataFrame:
    """Per category: relative frequency, location profile and seasonal flags."""
    code, major = categories["code"], categories["major_code"]
    weight = major.map(MAJOR_WEIGHT) * code.map(MINOR_BOOST).fillna(1.0)
    profile = code.map(MINOR_PROFILE).fillna(major.map(MAJOR_PROFILE))
    return pd.DataFrame({
        "code": code, "weight": weight / weight.sum(), "profile": profile,
        "rainy": major.isin(RAINY) | code.isin(RAINY_MINORS),
        "night": code.map(NIGHT_MINORS),
    })

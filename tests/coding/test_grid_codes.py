from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

import data_samples
from coding import grid_codes as gc
from gis_core.errors import InvalidCode, InvalidGeometry, InvalidInput

SAMPLE_TABLE = Path(data_samples.__file__).parent / "admin_codes_440307.csv"
SHARED = Path("/work/shared/data/cn_admin_codes")
COMMUNITY = "440307003001"


def _grid(nx, ny, jitter=0.0, seed=0):
    """An nx x ny block of cells (lon/lat), optionally with jittered inner vertices."""
    rng = np.random.default_rng(seed)
    xs = np.linspace(114.20, 114.20 + 0.01 * nx, nx + 1)
    ys = np.linspace(22.60, 22.60 + 0.01 * ny, ny + 1)
    X, Y = np.meshgrid(xs, ys)
    X[1:-1, 1:-1] += rng.uniform(-jitter, jitter, X[1:-1, 1:-1].shape)
    Y[1:-1, 1:-1] += rng.uniform(-jitter, jitter, Y[1:-1, 1:-1].shape)
    cells = {}
    for j in range(ny):
        for i in range(nx):
            ring = [
                (X[j, i], Y[j, i]),
                (X[j, i + 1], Y[j, i + 1]),
                (X[j + 1, i + 1], Y[j + 1, i + 1]),
                (X[j + 1, i], Y[j + 1, i]),
            ]
            cells[(ny - 1 - j, i)] = Polygon(ring)  # (row from north, column from west)
    return cells


@pytest.mark.parametrize("jitter", [0.0, 0.002])
def test_unit_grids_numbered_west_to_east_north_to_south(jitter):
    cells = _grid(4, 3, jitter)
    keys = list(cells)
    rng = np.random.default_rng(1)
    rng.shuffle(keys)
    codes = gc.number_unit_grids(COMMUNITY, [cells[k] for k in keys])
    by_key = dict(zip(keys, codes, strict=True))
    expected = [(r, c) for r in range(3) for c in range(4)]
    assert [by_key[k] for k in expected] == [f"{COMMUNITY}{n:03d}" for n in range(1, 13)]


def test_unit_grids_irregular_rows():
    # a wide northern grid over two southern ones, and one grid in between heights
    geoms = [box(0, 1, 2, 2), box(1, 0, 2, 1), box(0, 0, 1, 1)]
    assert gc.number_unit_grids(COMMUNITY, geoms) == [
        f"{COMMUNITY}001",
        f"{COMMUNITY}003",
        f"{COMMUNITY}002",
    ]


def test_unit_grid_numbering_inputs():
    assert gc.number_unit_grids(COMMUNITY, []) == []
    with pytest.raises(InvalidInput, match="community_code"):
        gc.number_unit_grids("4403070030", [box(0, 0, 1, 1)])
    with pytest.raises(InvalidGeometry):
        gc.number_unit_grids(COMMUNITY, [box(0, 0, 1, 1), Polygon()])
    with pytest.raises(InvalidInput, match="999"):
        gc.number_unit_grids(COMMUNITY, [box(i, 0, i + 1, 1) for i in range(1000)])


def test_numbering_accepts_a_geoseries():
    import geopandas as gpd

    s = gpd.GeoSeries([box(1, 0, 2, 1), box(0, 0, 1, 1)], index=[10, 20])
    assert gc.number_unit_grids(COMMUNITY, s) == [f"{COMMUNITY}002", f"{COMMUNITY}001"]


def test_unit_code_parse_and_validate():
    p = gc.parse_unit_grid_code("440307003001007")
    assert (p.county, p.street, p.community, p.sequence) == ("440307", "003", "001", 7)
    assert p.community_code == COMMUNITY
    assert gc.make_unit_grid_code(COMMUNITY, 7) == "440307003001007"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("44030700300100", "structure"),
        ("4403070030010071", "structure"),
        ("44030700300100A", "structure"),
        ("990307003001007", "county"),  # no province 99
        ("440000003001007", "county"),  # a province, not a county
        ("440307000001007", "street"),
        ("440307003000007", "community"),
        ("440307003001000", "sequence"),
    ],
)
def test_unit_code_structure_errors(bad, reason):
    with pytest.raises(InvalidCode) as exc:
        gc.validate_unit_grid_code(bad)
    assert exc.value.details["reason"] == reason


def test_admin_table_from_sample_file():
    table = gc.AdminCodes.from_csv(SAMPLE_TABLE)
    assert table.counties == {"440307": "龙岗区"}
    assert len(table.townships) == 14
    assert gc.validate_unit_grid_code("440307003001007", table) == "440307003001007"
    with pytest.raises(InvalidCode, match="township") as exc:
        gc.validate_unit_grid_code("440307004001007", table)  # no street 004 in 龙岗区
    assert exc.value.details["reason"] == "township"
    with pytest.raises(InvalidCode, match="county"):
        gc.validate_unit_grid_code("440308001001001", table)


def test_admin_table_from_national_lists():
    # the shared data directory is required by the test suite (see tests/conftest.py)
    table = gc.AdminCodes.from_csv(SHARED / "cn_areas_2023.csv", SHARED / "cn_streets_2023.csv")
    assert table.counties["110101"] == "东城区"
    gc.validate_unit_grid_code("110101001001001", table)  # 东华门街道
    gc.validate_professional_grid_code("10010044030701300101", table)  # 坂田街道
    with pytest.raises(InvalidCode):
        gc.validate_unit_grid_code("110101999001001", table)


def test_admin_table_needs_code_and_name(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("id,label\n1,a\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="code"):
        gc.AdminCodes.from_csv(f)


# --- CJ/T 349 --------------------------------------------------------------------------------


def test_professional_codes_numbering_and_parse():
    cells = _grid(3, 2)
    keys = list(cells)[::-1]
    codes = gc.number_professional_grids("100100", COMMUNITY, [cells[k] for k in keys])
    by_key = dict(zip(keys, codes, strict=True))
    assert by_key[(0, 0)] == f"100100{COMMUNITY}01"
    assert by_key[(1, 2)] == f"100100{COMMUNITY}06"
    assert all(len(c) == 20 for c in codes)
    p = gc.parse_professional_grid_code(by_key[(0, 1)])
    assert (p.object_code, p.community_code, p.sequence) == ("100100", COMMUNITY, 2)
    assert p.major_class
    assert not p.merged_communities
    single = gc.number_professional_grids("100101", COMMUNITY, [box(0, 0, 1, 1)])
    assert single == [f"100101{COMMUNITY}00"]
    assert not gc.parse_professional_grid_code(single[0]).major_class


@pytest.mark.parametrize(
    "bad",
    [
        "1001004403070030010",
        "00000044030700300101",
        "10010044030700000101",
        "100100440307003001AB",
        "10010099030700300101",
    ],
)
def test_professional_code_errors(bad):
    with pytest.raises(InvalidCode):
        gc.validate_professional_grid_code(bad)


def test_professional_make_errors():
    with pytest.raises(InvalidInput, match="object_code"):
        gc.make_professional_grid_code("10010", COMMUNITY, 1)
    with pytest.raises(InvalidInput, match="seq"):
        gc.make_professional_grid_code("100100", COMMUNITY, 100)
    with pytest.raises(InvalidInput, match="99"):
        gc.number_professional_grids("100100", COMMUNITY, [box(i, 0, i + 1, 1) for i in range(100)])


# --- alias codes -----------------------------------------------------------------------------


def test_alias_codes_are_unique_and_well_formed():
    units = [f"440307{s:03d}{c:03d}{g:03d}" for s in (3, 6) for c in (1, 2) for g in (1, 2, 3)]
    units += [f"440308001001{g:03d}" for g in (1, 2)]
    aliases = gc.assign_alias_codes(units)
    assert len(set(aliases)) == len(aliases)
    for unit, alias in zip(units, aliases, strict=True):
        p = gc.parse_alias_code(alias)
        assert p.county_letter == ("A" if unit.startswith("440307") else "B")
        assert p.township_letter == {"003": "a", "006": "b", "001": "a"}[unit[6:9]]
    # village-level grids of a township are numbered from 001 on
    assert sorted(a for a in aliases if a.startswith("Aa")) == [f"Aa{n:03d}" for n in range(1, 7)]


def test_alias_codes_keep_given_letters():
    aliases = gc.assign_alias_codes(
        ["440307003001001", "440308001001001", "440309001001001"],
        county_letters={"440308": "A"},
        township_letters={"440307003": "k"},
    )
    assert aliases == ["Bk001", "Aa001", "Ca001"]


def test_alias_code_limits_and_errors():
    with pytest.raises(InvalidInput, match="distinct"):
        gc.assign_alias_codes(["440307003001001", "440307003001001"])
    with pytest.raises(InvalidInput, match="26"):
        gc.assign_alias_codes([f"440307{s:03d}001001" for s in range(1, 28)])
    for bad in ["ab001", "AB001", "Ab000", "Ab01", "Ab0011", "1b001", ""]:
        with pytest.raises(InvalidCode):
            gc.validate_alias_code(bad)
    with pytest.raises(InvalidInput):
        gc.make_alias_code("a", "b", 1)


@settings(max_examples=30, deadline=None)
@given(
    st.sets(
        st.tuples(
            st.sampled_from(["440307", "110101", "650102"]),
            st.integers(1, 30),
            st.integers(1, 5),
            st.integers(1, 40),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_alias_codes_unique_property(parts):
    units = [f"{c}{s:03d}{v:03d}{g:03d}" for c, s, v, g in parts]
    aliases = gc.assign_alias_codes(units)
    assert len(set(aliases)) == len(units)
    assert all(gc.validate_alias_code(a) == a for a in aliases)


def test_grid_order_row_banding_is_tolerant_of_wobbly_edges():
    cells = _grid(5, 4, jitter=0.003, seed=7)
    keys = list(cells)
    order = gc.grid_order([cells[k] for k in keys])
    assert [keys[i] for i in order] == sorted(keys)
    assert shapely.is_valid(np.array(list(cells.values()))).all()

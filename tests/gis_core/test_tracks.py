"""Patrol tracks: the noise rule, coverage of road length and time in grids against
brute-force oracles on awkward tracks (crossing grid edges, doubling back, gaps)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from shapely import LineString, box

from gis_core import tracks as tracks_module
from gis_core.errors import InvalidInput
from gis_core.track_coverage import coverage_and_time, road_coverage, road_pieces
from gis_core.tracks import (
    NoiseRule,
    Segments,
    idle_periods,
    noise_reasons,
    segments,
    time_in_grids,
)

#: a 3 x 2 block of 100 m grids, and roads along, across and through them
GRIDS = np.array([box(x, y, x + 100, y + 100) for y in (0, 100) for x in (0, 100, 200)])
CODES = ["A", "B", "C", "D", "E", "F"]
ROADS = np.array([LineString([(-20, 50), (320, 50)]), LineString([(0, 150), (300, 150)]),
                  LineString([(100, -10), (100, 210)]),  # on the edge of A|B and D|E
                  LineString([(30, 0), (270, 200)]), LineString([(250, 10), (250, 190),
                                                                  (180, 190)])])

Track = tuple[list[float], list[float], list[float]]

#: awkward tracks: (name, t, x, y)
TRACKS: dict[str, Track] = {
    "crosses_edges": ([0, 30, 60, 90, 120], [10, 90, 130, 210, 290], [60, 55, 45, 60, 140]),
    "doubles_back": ([0, 40, 80, 120, 160, 200], [20, 120, 20, 120, 20, 60],
                     [50, 50, 52, 48, 50, 150]),
    "gap": ([0, 50, 1000, 1050], [10, 80, 150, 280], [140, 150, 160, 150]),
    "stands_on_an_edge": ([0, 100, 400, 430], [100, 100, 100, 100], [50, 50, 50, 140]),
    "diagonal": ([0, 100, 200], [30, 150, 270], [0, 100, 200]),
}


def _oracle_distance(px: np.ndarray, py: np.ndarray, t: list[float], x: list[float],
                     y: list[float], max_gap: float) -> np.ndarray:
    """Distance from each point to the track's segments, one segment at a time."""
    best = np.full(len(px), np.inf)
    for i in range(len(t) - 1):
        if t[i + 1] - t[i] > max_gap:
            continue
        ax, ay, bx, by = x[i], y[i], x[i + 1], y[i + 1]
        dx, dy = bx - ax, by - ay
        L2 = dx * dx + dy * dy
        u = np.clip(((px - ax) * dx + (py - ay) * dy) / L2, 0, 1) if L2 else np.zeros(len(px))
        best = np.minimum(best, np.hypot(px - ax - u * dx, py - ay - u * dy))
    return best


def _oracle_coverage(track: Track, distance: float,
                     max_gap: float) -> tuple[dict[str, float], dict[str, int]]:
    """Covered road length per grid by 1 cm steps, and the number of covered/uncovered flips."""
    covered: dict[str, float] = {}
    flips: dict[str, int] = {}
    for road in ROADS:
        n = int(road.length / 0.01)
        pts = shapely.line_interpolate_point(road, (np.arange(n) + 0.5) * 0.01)
        px, py = shapely.get_coordinates(pts).T
        near = _oracle_distance(px, py, *track, max_gap=max_gap) <= distance
        for grid, code in zip(GRIDS, CODES, strict=True):
            inside = shapely.contains_xy(grid, px, py) | shapely.intersects_xy(grid.boundary,
                                                                               px, py)
            covered[code] = covered.get(code, 0.0) + 0.01 * int((near & inside).sum())
            flips[code] = flips.get(code, 0) + int(np.abs(np.diff(near[inside].astype(int))
                                                          ).sum()) + 2
    return covered, flips


@pytest.mark.parametrize("name", sorted(TRACKS))
def test_coverage_matches_the_brute_force_oracle(name: str) -> None:
    t, x, y = TRACKS[name]
    pieces = road_pieces(ROADS, GRIDS, CODES, step=2.0)
    got = road_coverage(pieces, segments(["w"] * len(t), t, x, y, max_gap_s=300),
                        distance=20).set_index("grid")
    expected, flips = _oracle_coverage(TRACKS[name], 20, 300)
    for code in CODES:
        mine = float(got["covered_m"].get(code, 0.0))
        # each place the band begins or ends along a road costs at most half a step
        assert mine == pytest.approx(expected[code], abs=1.0 * flips[code] + 0.05), code
    assert set(got.index) <= set(CODES)
    assert (got["share"] <= 1.0 + 1e-9).all()


def test_a_road_on_a_shared_edge_counts_for_both_grids() -> None:
    lengths = road_pieces(ROADS, GRIDS, CODES).road_length()
    # the road on the A|B edge is in both grids' road length (each grid's own roads)
    diagonal_in_a = shapely.intersection(ROADS[3], GRIDS[0]).length
    assert lengths["A"] == pytest.approx(100 + 100 + diagonal_in_a)
    assert lengths["B"] == pytest.approx(100 + 100 + shapely.intersection(ROADS[3], GRIDS[1])
                                         .length)


def _oracle_time(track: Track, max_gap: float
                 ) -> dict[str, float]:
    t, x, y = track
    out: dict[str, float] = {}
    for i in range(len(t) - 1):
        dt = t[i + 1] - t[i]
        if dt > max_gap:
            continue
        if x[i] == x[i + 1] and y[i] == y[i + 1]:  # standing still: the first grid holding it
            first = next((c for g, c in zip(GRIDS, CODES, strict=True)
                          if shapely.intersects_xy(g, x[i], y[i])), None)
            if first is not None:  # outside every grid: nowhere
                out[first] = out.get(first, 0.0) + dt
            continue
        f = (np.arange(10_000) + 0.5) / 10_000
        px, py = x[i] + f * (x[i + 1] - x[i]), y[i] + f * (y[i + 1] - y[i])
        for grid, code in zip(GRIDS, CODES, strict=True):  # on an edge: half each side
            hit = shapely.contains_xy(grid, px, py) + 0.5 * shapely.intersects_xy(grid.boundary,
                                                                                  px, py)
            out[code] = out.get(code, 0.0) + dt * float(hit.mean())
    return {k: v for k, v in out.items() if v > 0}


@pytest.mark.parametrize("name", sorted(TRACKS))
def test_time_in_grids_matches_the_oracle(name: str) -> None:
    t, x, y = TRACKS[name]
    got = time_in_grids(segments(["w"] * len(t), t, x, y, max_gap_s=300), GRIDS, CODES)
    expected = _oracle_time(TRACKS[name], 300)
    assert dict(zip(got["grid"], got["seconds"], strict=True)) == pytest.approx(expected,
                                                                                abs=0.05)
    assert got["seconds"].sum() == pytest.approx(sum(
        b - a for a, b in itertools.pairwise(t) if b - a <= 300))


def test_a_gap_is_never_walked() -> None:
    t, x, y = TRACKS["gap"]
    segs = segments(["w"] * 4, t, x, y, max_gap_s=300)
    assert len(segs.lines) == 2
    pieces = road_pieces(ROADS, GRIDS, CODES)
    with_gap = road_coverage(pieces, segs).set_index("grid")["covered_m"]
    walked = road_coverage(pieces, segments(["w"] * 4, t, x, y, max_gap_s=1e6)
                           ).set_index("grid")["covered_m"]
    # the line across the gap would pass the edge road x = 100 (about 40 m of it) and the
    # road y = 150 from x = 100 to about 130: none of it is covered
    assert walked["E"] - with_gap["E"] > 60


def test_noise_rule_drops_bad_accuracy_impossible_speed_jumps_and_repeats() -> None:
    t = [0, 10, 20, 30, 40, 60, 70, 70]
    x = [0, 10, 20, 900, 30, 180, 45, 50]  # 150 m out in 20 s and back: a spike
    acc = [5, 5, 90, 5, 5, 5, 5, 5]
    reasons = noise_reasons(t, x, [0] * 8, acc, NoiseRule(max_accuracy_m=50, max_speed_mps=12,
                                                          max_jump_m=100))
    assert reasons == [None, None, "accuracy", "speed", None, "jump", None, "time"]
    # a repeat of the last kept time is dropped; a batch continues from its anchor
    assert noise_reasons([40, 50], [30, 200], [0, 0], [5, 5], anchor=(40, 30, 0)) == [
        "time", "speed"]


def test_idle_periods_find_a_long_stop_between_walks() -> None:
    t = np.r_[np.arange(0, 300, 30), np.arange(300, 1500, 60), np.arange(1500, 1800, 30)]
    x = np.r_[np.arange(10) * 30.0, np.full(20, 300.0) + np.arange(20) % 3, 300 + np.arange(1, 11)
              * 30.0]
    got = idle_periods(t, x, np.zeros(len(t)), radius_m=30, min_seconds=600)
    assert len(got) == 1
    assert got.loc[0, "start"] == 300  # the walk reached 270 by then, 30 m short of the stop
    assert got.loc[0, "end"] == 1500  # the first point of the walk on is still 30 m away


def test_bad_input_names_the_parameter() -> None:
    with pytest.raises(InvalidInput, match="t must ascend"):
        segments(["w", "w"], [10, 0], [0, 1], [0, 1])
    with pytest.raises(InvalidInput, match="accuracy"):
        noise_reasons([0], [0], [0], [1, 2])
    with pytest.raises(InvalidInput, match="step"):
        road_pieces(ROADS, GRIDS, CODES, step=0)


def _lattice_walk(seed: int, n: int = 120) -> Track:
    """A walk on a 10 m lattice: it runs along grid edges, through their corners, stands
    still, leaves the grids and has gaps -- the awkward cases, many times over."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([-20, -10, 0, 0, 10, 20, 30], size=(n - 1, 2))
    xy = np.cumsum(np.r_[[[rng.choice([50, 100, 150])] * 2], steps], axis=0)
    xy = np.abs((xy + 30) % 460 - 230) * [1.5, 1.0] - [30, 10]  # folded back over the grids
    t = np.cumsum(np.r_[0, rng.choice([20, 30, 30, 40, 400], size=n - 1)]).astype(float)
    return t.tolist(), xy[:, 0].tolist(), xy[:, 1].tolist()


@pytest.mark.parametrize("seed", range(3))
def test_many_tracks_at_once_match_the_oracle_and_each_alone(seed: int) -> None:
    walks = {f"w{k}": _lattice_walk(10 * seed + k, n=60) for k in range(3)}
    group = [w for w, (t, _, _) in walks.items() for _ in t]
    t, x, y = (list(itertools.chain(*(walk[i] for walk in walks.values()))) for i in range(3))
    pieces = road_pieces(ROADS, GRIDS, CODES, step=2.0)
    together = road_coverage(pieces, segments(group, t, x, y, max_gap_s=300))
    assert len(together) > 0
    for w, walk in walks.items():
        alone = road_coverage(pieces, segments([w] * len(walk[0]), *walk, max_gap_s=300))
        mine = together[together["group"] == w].reset_index(drop=True)
        assert mine.drop(columns="group").equals(alone.drop(columns="group")), w
        expected, flips = _oracle_coverage(walk, 20, 300)
        got = mine.set_index("grid")["covered_m"]
        for code in CODES:
            assert float(got.get(code, 0.0)) == pytest.approx(
                expected[code], abs=1.0 * flips[code] + 0.05), (w, code)


@pytest.mark.parametrize("seed", range(3))
def test_time_in_grids_of_a_lattice_walk_matches_the_oracle(seed: int) -> None:
    t, x, y = _lattice_walk(seed, n=60)
    got = time_in_grids(segments(["w"] * len(t), t, x, y, max_gap_s=300), GRIDS, CODES)
    expected = _oracle_time((t, x, y), 300)
    assert dict(zip(got["grid"], got["seconds"], strict=True)) == pytest.approx(expected,
                                                                                abs=0.05)


def test_coverage_of_tracks_whose_segments_are_interleaved() -> None:
    # a worker's shifts need not come one after the other (the KPIs group shifts by worker)
    walks = [_lattice_walk(k, n=40) for k in range(4)]
    parts = [segments([k] * len(w[0]), *w, max_gap_s=300) for k, w in enumerate(walks)]
    owner = np.array(["a", "b", "a", "b"], dtype=object)
    mixed = Segments(np.concatenate([p.lines for p in parts]),
                     np.concatenate([np.full(len(p.lines), owner[k], dtype=object)
                                     for k, p in enumerate(parts)]),
                     np.concatenate([p.t0 for p in parts]), np.concatenate([p.t1 for p in parts]))
    pieces = road_pieces(ROADS, GRIDS, CODES)
    got = road_coverage(pieces, mixed)
    for who in ("a", "b"):
        keep = mixed.group == who
        alone = road_coverage(pieces, Segments(mixed.lines[keep], mixed.group[keep],
                                               mixed.t0[keep], mixed.t1[keep]))
        mine = got[got["group"] == who].reset_index(drop=True)
        assert len(mine) > 0
        assert mine["covered_m"].to_numpy() == pytest.approx(alone["covered_m"].to_numpy())
        assert mine["grid"].tolist() == alone["grid"].tolist()
    no_roads = road_pieces(np.empty(0, dtype=object), GRIDS, CODES)
    assert road_coverage(no_roads, mixed).empty


def test_a_day_scored_on_two_threads_equals_each_score_on_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    walks = [_lattice_walk(40 + k, n=80) for k in range(6)]
    group = [f"w{k}" for k, (t, _, _) in enumerate(walks) for _ in t]
    t, x, y = (list(itertools.chain(*(walk[i] for walk in walks))) for i in range(3))
    alone = segments(group, t, x, y, max_gap_s=300, threads=1)
    monkeypatch.setattr(tracks_module, "LINES_PER_THREAD", 50)  # these few lines, in parts
    segs = segments(group, t, x, y, max_gap_s=300, threads=2)
    assert len(segs.lines) == len(alone.lines) > 150
    assert bool(shapely.equals_exact(segs.lines, alone.lines, tolerance=0).all())
    assert segs.group.tolist() == alone.group.tolist()
    pieces = road_pieces(ROADS, GRIDS, CODES, step=2.0)
    covered, spent = coverage_and_time(pieces, segs, GRIDS, CODES, threads=2)
    assert len(covered) > 0
    assert len(spent) > 0
    assert covered.equals(road_coverage(pieces, alone))  # each is tested on its oracle above
    assert spent.equals(time_in_grids(alone, GRIDS, CODES))
    everyone = Segments(segs.lines, np.full(len(segs.lines), "all", dtype=object),
                        segs.t0, segs.t1)
    together, _ = coverage_and_time(pieces, segs, GRIDS, CODES, covering=everyone, threads=2)
    assert together["group"].unique().tolist() == ["all"]
    assert together.equals(road_coverage(pieces, everyone))
    assert (together["covered_m"].sum() >= covered.groupby("grid")["covered_m"].max().sum())

"""gis_core.linking against a brute-force oracle, with ties, holes and features in no zone."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Polygon, box

from gis_core.crs import metric_crs_for
from gis_core.errors import CRSMismatch, InvalidInput
from gis_core.linking import largest_overlap, nearest_zone


def _zones() -> gpd.GeoDataFrame:
    # a 3 x 3 block of zones around Shenzhen; the middle one has a hole
    cells = [box(114.0 + 0.01 * i, 22.5 + 0.01 * j, 114.01 + 0.01 * i, 22.51 + 0.01 * j)
             for j in range(3) for i in range(3)]
    cells[4] = Polygon(cells[4].exterior.coords,
                       [box(114.013, 22.513, 114.017, 22.517).exterior.coords])
    return gpd.GeoDataFrame({"code": [f"Z{k}" for k in range(9)]}, geometry=cells, crs=4326)


def _oracle(feature: Polygon, zones: gpd.GeoDataFrame) -> tuple[str | None, float]:
    metric = metric_crs_for(zones)
    f = gpd.GeoSeries([feature], crs=4326).to_crs(metric).iloc[0]
    shares = [(f.intersection(z).area / f.area, code) for code, z in
              zip(zones["code"], zones.geometry.to_crs(metric), strict=True)]
    best = max((s for s in shares if s[0] > 0), key=lambda s: (s[0], [-ord(c) for c in s[1]]),
               default=None)
    return (best[1], best[0]) if best else (None, 0.0)


def test_largest_overlap_matches_the_oracle() -> None:
    rng = np.random.default_rng(3)
    zones = _zones()
    x, y = rng.uniform(113.995, 114.035, 200), rng.uniform(22.495, 22.535, 200)
    w = rng.uniform(0.0005, 0.012, 200)
    features = gpd.GeoSeries([box(a, b, a + d, b + d) for a, b, d in zip(x, y, w, strict=True)],
                             crs=4326)
    out = largest_overlap(features, zones)
    for i, feature in enumerate(features):
        zone, share = _oracle(feature, zones)
        assert out["zone"].iloc[i] == zone
        assert out["share"].iloc[i] == pytest.approx(share, abs=1e-9)
    total = out["share"] + out["other_share"] + out["outside_share"]
    assert np.allclose(total, 1.0)


def test_a_tie_goes_to_the_smaller_code_and_a_hole_is_outside() -> None:
    # in the metric CRS itself (CGCS2000 GK zone 114E), so the halves are exactly equal
    zones = gpd.GeoDataFrame({"code": ["B", "A", "C"]}, geometry=[
        box(500_000, 2_490_000, 501_000, 2_491_000), box(501_000, 2_490_000, 502_000, 2_491_000),
        Polygon(box(502_000, 2_490_000, 503_000, 2_491_000).exterior.coords,
                [box(502_400, 2_490_400, 502_600, 2_490_600).exterior.coords])], crs=4547)
    features = gpd.GeoSeries([box(500_900, 2_490_100, 501_100, 2_490_200),
                              box(502_450, 2_490_450, 502_550, 2_490_550)], crs=4547)
    out = largest_overlap(features, zones)
    assert out["zone"].tolist() == ["A", None]
    assert out["share"].tolist() == [0.5, 0.0]
    assert out["zones"].tolist() == [2, 0]
    assert out["outside_share"].iloc[1] == 1.0


def test_nearest_zone_of_a_feature_in_a_hole_and_far_away() -> None:
    zones = _zones()
    features = gpd.GeoSeries([box(114.0149, 22.5149, 114.0151, 22.5151),
                              box(114.1, 22.5, 114.1001, 22.5001)], crs=4326)
    out = nearest_zone(features, zones)
    assert out["zone"].tolist() == ["Z4", "Z2"]
    assert 150 < out["distance_m"].iloc[0] < 250  # 0.0019 degrees to the hole's edge
    assert out["distance_m"].iloc[1] > 7000


def test_no_zones_and_bad_inputs() -> None:
    features = gpd.GeoSeries([box(114.0, 22.5, 114.001, 22.501)], crs=4326)
    empty = gpd.GeoDataFrame({"code": []}, geometry=[], crs=4326)
    assert largest_overlap(features, empty)["zone"].tolist() == [None]
    assert nearest_zone(features, empty)["zone"].tolist() == [None]
    with pytest.raises(CRSMismatch, match="reproject"):
        largest_overlap(features, _zones().to_crs(4547))
    with pytest.raises(InvalidInput, match="'name' is not a column"):
        largest_overlap(features, _zones(), code="name")

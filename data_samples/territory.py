"""The territory of the sample town: district outline, streets, communities, grids.

All geometry here is metric (the CGCS2000 Gauss-Kruger zone of the town).
The basic grids are built first, as one Voronoi partition of the district
(clipped, with a couple of Lloyd relaxation steps so grids are compact);
communities are unions of grids and streets unions of communities, so every
level nests exactly in the one above and the basic layer is an exact partition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from scipy.cluster.vq import ClusterError, kmeans2
from shapely.geometry.base import BaseGeometry

from gis_core.types import FloatArray, IntArray

GeomArray = npt.NDArray[np.object_]


def district_outline(rng: np.random.Generator, centre: tuple[float, float],
                     area_m2: float) -> BaseGeometry:
    """Make an irregular, star-shaped district polygon of a given area.

    The radius is a smooth random function of the bearing (low harmonics), so
    the outline is lobed like a real district, never a rectangle.
    """
    theta = np.linspace(0.0, 2.0 * np.pi, 241)[:-1]
    log_r = np.zeros_like(theta)
    for k in range(2, 8):
        log_r += rng.normal(0.0, 0.24 / np.sqrt(k)) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    log_r += rng.normal(0.0, 0.012, theta.size)  # a little ruggedness
    r = np.exp(log_r)
    ring = np.column_stack([np.cos(theta) * r, np.sin(theta) * r])
    unit_area = shapely.area(shapely.polygons(ring))
    ring *= np.sqrt(area_m2 / unit_area)
    ring += np.asarray(centre)
    return shapely.polygons(ring)


def random_points_in(rng: np.random.Generator, polygon: BaseGeometry, n: int) -> FloatArray:
    """Draw ``n`` uniform random points inside ``polygon`` (vectorised rejection)."""
    xmin, ymin, xmax, ymax = polygon.bounds
    shapely.prepare(polygon)
    out: list[FloatArray] = []
    have = 0
    while have < n:
        batch = max(64, int((n - have) * 1.6))
        xy = rng.uniform((xmin, ymin), (xmax, ymax), size=(batch, 2))
        keep = xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])]
        out.append(keep)
        have += len(keep)
    return np.concatenate(out)[:n]


def voronoi_cells(seeds: FloatArray, clip: BaseGeometry) -> GeomArray:
    """Voronoi cells of ``seeds`` clipped to ``clip``, aligned with the seeds."""
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=clip, ordered=True)
    )
    clipped = shapely.intersection(cells, clip)
    return np.asarray(_polygonal(clipped), dtype=object)


def _polygonal(geoms: GeomArray) -> GeomArray:
    """Drop stray lines/points that an intersection may leave in a collection."""
    kinds = shapely.get_type_id(geoms)
    odd = np.flatnonzero(kinds == 7)
    for i in odd:  # rare: only cells touching the clip boundary in a single point
        parts = shapely.get_parts(geoms[i])
        polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        geoms[i] = shapely.union_all(polys)
    return geoms


def relaxed_partition(rng: np.random.Generator, polygon: BaseGeometry, n: int,
                      iterations: int = 2) -> tuple[FloatArray, GeomArray]:
    """Partition ``polygon`` into ``n`` compact cells (Voronoi + Lloyd steps)."""
    seeds = random_points_in(rng, polygon, n)
    cells = voronoi_cells(seeds, polygon)
    for _ in range(iterations):
        centroids = shapely.centroid(cells)
        seeds = shapely.get_coordinates(centroids)
        cells = voronoi_cells(seeds, polygon)
    return seeds, cells


def split_clusters(rng: np.random.Generator, points: FloatArray, k: int) -> IntArray:
    """Cluster ``points`` into ``k`` non-empty, compact groups (k-means).

    Labels are renumbered north-west to south-east (rows of latitude bands
    first, then west to east) so that the numbering of streets and
    communities reads like the CJ/T 213 grid sequence.
    """
    if k == 1:
        return np.zeros(len(points), dtype=np.int64)
    for _ in range(20):
        try:
            centres, labels = kmeans2(points, k, minit="++", seed=rng, missing="raise")
            break
        except ClusterError:  # an empty cluster: draw new initial centres
            continue
    else:  # pragma: no cover - practically unreachable
        raise RuntimeError("k-means could not find non-empty clusters")
    band = (points[:, 1].max() - points[:, 1].min()) / max(1.0, np.sqrt(k)) or 1.0
    row = np.floor((centres[:, 1].max() - centres[:, 1]) / band)
    order = np.lexsort((centres[:, 0], row))
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    return rank[labels].astype(np.int64)


def union_by(geoms: GeomArray, labels: IntArray, n: int) -> GeomArray:
    """Union of ``geoms`` per label 0..n-1."""
    out = np.empty(n, dtype=object)
    for i in range(n):
        out[i] = shapely.union_all(geoms[labels == i])
    return out


@dataclass
class Hierarchy:
    """The admin hierarchy and basic grids of the town (metric geometry).

    Attributes
    ----------
    district
        The district polygon (union of the streets).
    street_geoms, community_geoms, grid_geoms
        Polygons per street, per community and per basic grid.
    community_street
        Street index of each community.
    grid_community
        Community index of each grid.
    grid_seeds
        Generating point of each grid's Voronoi cell.
    """

    district: BaseGeometry
    street_geoms: GeomArray
    community_geoms: GeomArray
    community_street: IntArray
    grid_geoms: GeomArray
    grid_community: IntArray
    grid_seeds: FloatArray


def build_hierarchy(rng: np.random.Generator, outline: BaseGeometry, n_streets: int,
                    communities_per_street: list[int], n_grids: int) -> Hierarchy:
    """Cut the district into basic grids and group them into communities and streets."""
    seeds, grids = relaxed_partition(rng, outline, n_grids)
    street_of_grid = split_clusters(rng, seeds, n_streets)
    community_of_grid = np.empty(n_grids, dtype=np.int64)
    community_street: list[int] = []
    for s in range(n_streets):
        members = np.flatnonzero(street_of_grid == s)
        k = min(communities_per_street[s], len(members))
        local = split_clusters(rng, seeds[members], k)
        community_of_grid[members] = len(community_street) + local
        community_street.extend([s] * k)
    n_comm = len(community_street)
    communities = union_by(grids, community_of_grid, n_comm)
    street_of_comm = np.asarray(community_street, dtype=np.int64)
    streets = union_by(communities, street_of_comm, n_streets)
    district = shapely.union_all(streets)
    return Hierarchy(district, streets, communities, street_of_comm, grids,
                     community_of_grid, seeds)


def redraw_pair(geom_a: BaseGeometry, geom_b: BaseGeometry, seed_a: FloatArray,
                seed_b: FloatArray, shift: float = 0.35) -> tuple[BaseGeometry, BaseGeometry]:
    """Old versions of two neighbouring grids before their shared edge was moved.

    The union of the pair is cut again along the bisector of the two seeds
    with ``seed_a`` moved towards ``seed_b``: together the two old grids cover
    exactly what the two new ones cover, so the layer is a partition at any time.
    """
    union = shapely.union_all([geom_a, geom_b])
    moved = seed_a + shift * (seed_b - seed_a)
    cells = voronoi_cells(np.vstack([moved, seed_b]), union)
    return cells[0], cells[1]


def longest_shared_edge(geoms: GeomArray, i: int, candidates: IntArray) -> int:
    """Index (into ``geoms``) of the candidate sharing the longest edge with grid ``i``."""
    boundary = shapely.boundary(geoms[i])
    shared = shapely.length(shapely.intersection(boundary, shapely.boundary(geoms[candidates])))
    return int(candidates[int(np.argmax(shared))])

"""Fast, exact assignment of points to the grids of one or many grid layers.

:class:`GridIndex` answers "which grid of every layer covers this point?" for
millions of points at raster-lookup speed while giving exactly the answer of
PostGIS ``ST_Covers`` plus the tie rule below.

The raster and its exact fallbacks are built per layer and validity snapshot
(:mod:`gis_core.grid_snapshot`).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gis_core._checks import require_column, require_crs, require_frame
from gis_core.crs import to_wgs84
from gis_core.errors import InvalidCoordinates, InvalidGeometry, InvalidInput
from gis_core.grid_snapshot import MAX_SIDE, MIN_SIDE, Snapshot
from gis_core.types import ArrayLike, Bounds, CRSLike, IntArray

__all__ = ["DEFAULT_LAYER", "GridIndex"]

#: Layer name used when the grids have no layer column.
DEFAULT_LAYER = "grid"

_OPEN_START = np.iinfo(np.int64).min
_OPEN_END = np.iinfo(np.int64).max
_SNAPSHOT_CACHE = 8
_EXACT_BELOW = 20_000  # uncached snapshots: points below this go exact, no raster build
_RASTERS_PER_LAYER = 2  # snapshots of a layer that keep their raster (the rest go exact)


def _to_utc_ns(values: Any, parameter: str) -> IntArray:
    """Datetimes (naive = UTC) to int64 ns; NaT stays NaT (the min int64)."""
    try:
        stamps = pd.to_datetime(values, utc=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{parameter} must hold datetimes", parameter=parameter) from exc
    return np.asarray(pd.DatetimeIndex(stamps).as_unit("ns").asi8, dtype=np.int64)


class GridIndex:
    """In-memory index assigning points to the grids of one or many layers.

    Parameters
    ----------
    grids
        GeoDataFrame of Polygon/MultiPolygon grids in any CRS (reprojected to
        EPSG:4326). Every row is one grid version.
    code
        Column with the grid codes (compared as strings).
    layer
        Column naming each row's layer. When absent, every grid belongs to one
        layer named ``"grid"``.
    valid_from, valid_to
        Columns with the validity period of each version (datetimes; naive
        values are UTC; missing values mean an open end). When absent, every
        version is always valid.
    exclusive
        Whether a layer is exclusive (a partition: one grid per point). A bool
        for every layer or a mapping layer -> bool; default True for every layer.
        A layer named in the mapping that has no grids still gets a column
        (all ``None``).
    max_side
        Largest raster side (cells) per layer snapshot; memory is about
        ``2 * max_side**2`` bytes per layer at most.

    Notes
    -----
    Semantics of :meth:`assign` (one output column per layer):

    * A grid *covers* a point when the point is in its interior or on its
      boundary (PostGIS ``ST_Covers``); a point in a hole is not covered by the
      grid with the hole (but is by a grid filling the hole).
    * Exclusive layer: the code of the covering grid; on a shared edge or
      vertex of several grids (or where grids overlap) the smallest code in
      string order; ``None`` when no grid covers the point.
    * Non-exclusive layer: the sorted list of the codes of every covering
      grid; ``None`` (not an empty list) when no grid covers the point.
    * Time: only versions with ``valid_from <= at < valid_to`` count (open
      ends allowed). ``at=None`` means now (UTC). Each distinct set of valid
      versions is a snapshot; the current one gets its raster when the index
      is built, others when first queried with at least 20,000 points (the two
      most recently used snapshots of a layer keep their raster); smaller
      queries on a snapshot without raster use the exact R-tree path. Both
      paths give identical answers.
    * The index is read-only after construction and safe to share between
      threads; to follow edits of the grids, build a new one and swap it in.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> grids = gpd.GeoDataFrame(
    ...     {"code": ["A", "B"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326
    ... )
    >>> index = GridIndex(grids)
    >>> index.assign([0.5, 1.0, 1.5, 5.0], [0.5, 0.5, 0.5, 5.0])["grid"].tolist()
    ['A', 'A', 'B', None]
    """

    def __init__(
        self,
        grids: gpd.GeoDataFrame,
        code: str = "code",
        layer: str = "layer",
        valid_from: str = "valid_from",
        valid_to: str = "valid_to",
        exclusive: bool | Mapping[str, bool] | None = None,
        max_side: int = MAX_SIDE,
    ) -> None:
        frame = self._check_grids(grids, code)
        if not isinstance(max_side, int) or max_side < MIN_SIDE:
            raise InvalidInput(f"max_side must be an int >= {MIN_SIDE}", parameter="max_side")
        self._codes = frame[code].astype(str).to_numpy(dtype=object)
        self._geoms = np.asarray(frame.geometry.array, dtype=object)
        n = len(frame)
        layers = frame[layer].astype(str).to_numpy(dtype=object) if layer in frame else np.full(
            n, DEFAULT_LAYER, dtype=object)
        self._layer_of = layers
        self.layers: list[str] = list(dict.fromkeys(layers.tolist()))
        self.exclusive = self._check_exclusive(exclusive)
        self._from = (_to_utc_ns(frame[valid_from], valid_from) if valid_from in frame
                      else np.full(n, _OPEN_START, dtype=np.int64))
        self._to = (_to_utc_ns(frame[valid_to], valid_to) if valid_to in frame
                    else np.full(n, _OPEN_START, dtype=np.int64))
        self._to = np.where(self._to == _OPEN_START, _OPEN_END, self._to)  # NaT -> open
        self._rows_of = {name: np.flatnonzero(layers == name) for name in self.layers}
        self.max_side = max_side
        #: (minx, miny, maxx, maxy) of every grid in EPSG:4326 (NaN when there are none)
        self.bounds: Bounds = (
            tuple(float(v) for v in shapely.total_bounds(self._geoms))  # type: ignore[assignment]
            if n else (np.nan,) * 4)
        self._cache: OrderedDict[tuple[str, bytes], Snapshot] = OrderedDict()
        self._lock = threading.RLock()
        now = time.time_ns()
        for name in self.layers:
            self._snapshot(name, now, build=True)

    # -- construction checks ----------------------------------------------------

    @staticmethod
    def _check_grids(grids: gpd.GeoDataFrame, code: str) -> gpd.GeoDataFrame:
        require_frame(grids, "grids", "polygons")
        require_column(grids, code, "code", "grids")
        if len(grids):
            require_crs(grids, "grids")
        if grids[code].isna().any():
            raise InvalidInput(f"grids column {code!r} has missing codes", parameter="code")
        frame = grids.to_crs(4326) if len(grids) and not grids.crs.equals("EPSG:4326") else grids
        geoms = np.asarray(frame.geometry.array, dtype=object)
        kinds = shapely.get_type_id(geoms)
        bad = ~np.isin(kinds, (3, 6)) | shapely.is_empty(geoms)
        if bad.any():
            raise InvalidGeometry(
                "grids must be non-empty Polygons or MultiPolygons; bad codes: "
                f"{frame[code][bad].astype(str).tolist()[:10]}", parameter="grids")
        invalid = ~shapely.is_valid(geoms)
        if invalid.any():
            raise InvalidGeometry(
                "grids has invalid geometries (see gis_core.topology.check); codes: "
                f"{frame[code][invalid].astype(str).tolist()[:10]}", parameter="grids")
        return frame

    def _check_exclusive(self, exclusive: bool | Mapping[str, bool] | None) -> dict[str, bool]:
        """Flags per layer; also completes ``self.layers`` (mapping names, default layer)."""
        if exclusive is not None and not isinstance(exclusive, bool | Mapping):
            raise InvalidInput("exclusive must be None, a bool or a mapping layer -> bool",
                               parameter="exclusive")
        flags: dict[str, bool] = {}
        if isinstance(exclusive, Mapping):
            # A layer named here but without grids is kept: every point is outside it.
            flags = {str(name): bool(flag) for name, flag in exclusive.items()}
            self.layers += [name for name in flags if name not in self.layers]
        if not self.layers:
            self.layers = [DEFAULT_LAYER]
        default = exclusive if isinstance(exclusive, bool) else True
        return {name: flags.get(name, default) for name in self.layers}

    # -- snapshots --------------------------------------------------------------

    def _snapshot(self, name: str, at_ns: int, build: bool = False) -> Snapshot:
        rows = self._rows_of[name]
        mask = (self._from[rows] <= at_ns) & (at_ns < self._to[rows])
        key = (name, np.packbits(mask).tobytes())
        with self._lock:
            snap = self._cache.get(key)
            if snap is None:
                valid = rows[mask]
                snap = Snapshot(self._codes[valid], self._geoms[valid], self.exclusive[name],
                                 self.max_side)
                self._cache[key] = snap
                while len(self._cache) > _SNAPSHOT_CACHE * max(1, len(self.layers)):
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(key)
            if build and snap.raster is None:
                snap.build_raster()
                self._trim_rasters(name, keep=snap)
        return snap

    def _trim_rasters(self, name: str, keep: Snapshot) -> None:
        """Free the rasters of all but the most recently used snapshots of a layer."""
        with_raster = [s for (layer, _), s in reversed(self._cache.items())
                       if layer == name and s.raster is not None and s is not keep]
        for old in with_raster[_RASTERS_PER_LAYER - 1:]:
            old.raster = None

    # -- public API -------------------------------------------------------------

    def assign(
        self,
        x: ArrayLike,
        y: ArrayLike,
        crs: CRSLike = "EPSG:4326",
        at: dt.datetime | pd.Timestamp | str | None = None,
    ) -> pd.DataFrame:
        """Assign points to the grids of every layer.

        Parameters
        ----------
        x, y
            Coordinates in ``crs`` (x = longitude or easting), 1-D arrays,
            lists or Series of the same length.
        crs
            CRS of the coordinates: any EPSG code or pyproj CRS, or ``"GCJ02"``
            / ``"BD09"``.
        at
            Time of the events (datetime, Timestamp or ISO string; naive = UTC).
            Only grid versions valid at that time count. ``None`` = now.

        Returns
        -------
        pandas.DataFrame
            One object column per layer (see the class notes for the values),
            indexed like ``x`` when it is a Series, else 0..n-1.

        Raises
        ------
        InvalidCoordinates
            NaN or infinite coordinates, or arrays of different lengths.
        UnknownCRS
            ``crs`` is not understood.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely.geometry import box
        >>> grids = gpd.GeoDataFrame({"code": ["B", "A"]},
        ...                          geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326)
        >>> GridIndex(grids).assign([1.0], [1.0])["grid"].tolist()  # shared vertex
        ['A']
        """
        index = x.index if isinstance(x, pd.Series) else None
        lon, lat = to_wgs84(x, y, crs)
        if lon.ndim != 1:
            raise InvalidCoordinates(f"x and y must be 1-D, got shape {lon.shape}",
                                     parameter="x")
        if index is None:
            index = pd.RangeIndex(len(lon))
        at_ns = self._at_ns(at)
        columns: dict[Hashable, np.ndarray] = {}
        for name in self.layers:
            snap = self._snapshot(name, at_ns, build=len(lon) >= _EXACT_BELOW)
            columns[name] = snap.assign(lon, lat)
        return pd.DataFrame(columns, index=index, dtype=object)

    def covered(
        self,
        x: ArrayLike,
        y: ArrayLike,
        crs: CRSLike = "EPSG:4326",
        at: dt.datetime | pd.Timestamp | str | None = None,
    ) -> npt.NDArray[np.bool_]:
        """Tell which points fall in at least one grid of any layer (the jurisdiction).

        With ``covered(y, x)`` on points that are not covered, this tells
        whether latitude and longitude were probably swapped.

        Parameters
        ----------
        x, y, crs, at
            As in :meth:`assign`.

        Returns
        -------
        numpy.ndarray of bool

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely.geometry import box
        >>> grids = gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(114, 22, 115, 23)], crs=4326)
        >>> index = GridIndex(grids)
        >>> x, y = [114.5, 22.5], [22.5, 114.5]
        >>> index.covered(x, y).tolist(), index.covered(y, x).tolist()
        ([True, False], [False, True])
        """
        frame = self.assign(x, y, crs=crs, at=at)
        return np.asarray(frame.notna().any(axis=1).to_numpy(dtype=bool))

    def assign_footprints(
        self,
        footprints: gpd.GeoSeries | gpd.GeoDataFrame,
        at: dt.datetime | pd.Timestamp | str | None = None,
    ) -> pd.DataFrame:
        """Assign building footprints (or any polygons) to the grids of every layer.

        A polygon goes to the grid holding the largest part of it (exclusive
        layers; ties: the smallest code) or to the sorted list of every grid
        sharing area with it (non-exclusive layers); ``None`` when it shares no
        area with any grid. Point geometries follow :meth:`assign`. Areas are
        compared in EPSG:4326, which ranks the parts of one footprint like a
        metric CRS would (the scale is the same across a building).

        Parameters
        ----------
        footprints
            GeoSeries or GeoDataFrame with a CRS; Polygon, MultiPolygon or Point.
        at
            Time, as in :meth:`assign`.

        Returns
        -------
        pandas.DataFrame
            One column per layer, indexed like ``footprints``.

        Raises
        ------
        InvalidInput
            ``footprints`` has no CRS or is not a GeoSeries/GeoDataFrame.
        InvalidGeometry
            An empty or non-polygonal, non-point geometry.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely.geometry import box
        >>> grids = gpd.GeoDataFrame({"code": ["A", "B"]},
        ...                          geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326)
        >>> house = gpd.GeoSeries([box(0.9, 0.4, 1.3, 0.6)], crs=4326)  # mostly in B
        >>> GridIndex(grids).assign_footprints(house)["grid"].tolist()
        ['B']
        """
        if not isinstance(footprints, gpd.GeoSeries | gpd.GeoDataFrame):
            raise InvalidInput("footprints must be a GeoSeries or GeoDataFrame",
                               parameter="footprints")
        if len(footprints):
            require_crs(footprints, "footprints")
        series = footprints.geometry if isinstance(footprints, gpd.GeoDataFrame) else footprints
        if len(series) and not series.crs.equals("EPSG:4326"):
            series = series.to_crs(4326)
        geoms = np.asarray(series.array, dtype=object)
        kinds = shapely.get_type_id(geoms)
        bad = ~np.isin(kinds, (0, 3, 6)) | shapely.is_empty(geoms)
        if bad.any():
            raise InvalidGeometry("footprints must be non-empty Polygons, MultiPolygons or "
                                  f"Points; bad positions: {np.flatnonzero(bad)[:10].tolist()}",
                                  parameter="footprints")
        point = np.flatnonzero(kinds == 0)
        polygon = np.flatnonzero(kinds != 0)
        at_ns = self._at_ns(at)
        columns: dict[Hashable, np.ndarray] = {}
        for name in self.layers:
            snap = self._snapshot(name, at_ns)
            column = np.full(len(geoms), None, dtype=object)
            if len(point):
                column[point] = snap.assign(shapely.get_x(geoms[point]),
                                            shapely.get_y(geoms[point]))
            column[polygon] = snap.assign_areas(geoms[polygon])
            columns[name] = column
        return pd.DataFrame(columns, index=series.index, dtype=object)

    @staticmethod
    def _at_ns(at: dt.datetime | pd.Timestamp | str | None) -> int:
        if at is None:
            return time.time_ns()
        if not isinstance(at, dt.datetime | str):
            raise InvalidInput("at must be a datetime, a pandas Timestamp, an ISO string or None",
                               parameter="at")
        try:
            stamp = pd.Timestamp(at)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"at={at!r} is not a time; use ISO 8601, e.g. "
                               "'2025-03-01T10:00:00+08:00'", parameter="at") from exc
        if stamp is pd.NaT:
            raise InvalidInput("at must be a valid time", parameter="at")
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return int(stamp.as_unit("ns").value)

"""Standard codes and foreign identifiers of imported buildings.

Every imported building gets a standard building code
(:mod:`coding.building_codes`), so every building can carry a plate:

- the codes of the file are used when ``code_field`` names a column, or when
  a ``code`` / ``building_code`` column is there; every one must then be a
  valid standard code, or the import is refused naming the rows;
- otherwise codes are allocated from the sequence of each building's community
  (:func:`api.codes.service.allocate_building_codes`).

A foreign identifier (``external_code_field``, else the first of
:data:`EXTERNAL_NAMES` found: an OSM id, a BIN, a feature ``Id``) is kept in
``buildings.external_code``; it need not be unique and is never taken as the
building code unless ``code_field`` names it.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection

from api.codes.service import allocate_building_codes
from api.imports.communities import building_communities
from api.imports.tables import find_column, rows_of
from coding.building_codes import BUILDING_CODE_LENGTH, is_valid, normalize
from gis_core.errors import InvalidInput

CODE_NAMES = ("code", "building_code")
EXTERNAL_NAMES = ("external_code", "bin", "osm_id", "id", "fid", "objectid", "building_id",
                  "uuid")


def _column(frame: pd.DataFrame, given: str | None, names: tuple[str, ...], what: str
            ) -> str | None:
    if given is None:
        return find_column(frame, names)
    if given not in frame.columns:
        raise InvalidInput(f"--{what}: {given!r} is not a column of the file; columns: "
                           f"{', '.join(map(str, frame.columns))}", parameter=what)
    return given


def _text(series: pd.Series) -> pd.Series:
    """Identifiers as text (``12.0`` read as a float becomes ``12``)."""
    out = series.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    return out.where(out.notna() & (out != ""), None).astype(object)


def file_codes(frame: pd.DataFrame, column: str) -> pd.Series:
    """The standard building codes of ``column``; refuse missing, invalid or repeated ones."""
    codes = _text(frame[column])
    valid = codes.map(lambda c: c is not None and len(c) == BUILDING_CODE_LENGTH
                      and is_valid(c))
    if not valid.all():
        sample = sorted({str(c) for c in codes[~valid]})[:5]
        raise InvalidInput(
            f"column {column!r} does not hold standard building codes at rows "
            f"{rows_of(~valid)[:20]} (e.g. {sample}); an 18-character code "
            "(coding.building_codes) is needed for a plate. Keep such an identifier with "
            f"--external-code-field {column} and let codes be allocated",
            code="building_code", rows=rows_of(~valid))
    codes = codes.map(normalize)
    repeated = codes.duplicated(keep=False)
    if repeated.any():
        raise InvalidInput(f"repeated building codes at rows {rows_of(repeated)[:20]}: "
                           f"{sorted(set(codes[repeated]))[:5]}", code="building_code",
                           rows=rows_of(repeated))
    return codes


def building_codes(conn: Connection, frame: gpd.GeoDataFrame, code_field: str | None,
                   external_code_field: str | None, community_from: str) -> pd.DataFrame:
    """``code``, ``external_code`` and ``community_code`` of each building of ``frame``."""
    code_col = _column(frame, code_field, CODE_NAMES, "code-field")
    external_col = _column(frame, external_code_field, EXTERNAL_NAMES, "external-code-field")
    given = file_codes(frame, code_col) if code_col is not None else None
    community = building_communities(conn, frame.geometry, community_from)
    out = pd.DataFrame({"community_code": community.to_numpy()}, index=frame.index)
    out["external_code"] = _text(frame[external_col]) if external_col else None
    if given is not None:
        out["code"] = given
        return out
    out["code"] = ""
    for code, members in out.groupby("community_code").groups.items():
        out.loc[members, "code"] = allocate_building_codes(conn, str(code), len(members))
    return out

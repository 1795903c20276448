"""Paginated GeoJSON features from any table, built with SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from api.geojson import feature
from layers.model import jsonable


def page_features(
    session: Session,
    columns: Sequence[Any],
    geom: Any,
    *,
    where: Sequence[ColumnElement[bool]] = (),
    order_by: Any,
    limit: int,
    offset: int,
    id_key: str | None = "code",
    joins: Sequence[tuple[Any, Any]] = (),
) -> tuple[list[dict[str, Any]], int]:
    """Select one page of rows as GeoJSON features and the number of matching rows.

    ``columns`` become the feature properties (by their labels); ``id_key`` names
    the property used as the feature id.
    """
    base: Select[Any] = select(*columns)
    for target, on in joins:
        base = base.join(target, on)
    for clause in where:
        base = base.where(clause)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    stmt = (base.add_columns(func.ST_AsGeoJSON(geom, 7).label("__geometry"))
            .order_by(*(order_by if isinstance(order_by, tuple) else (order_by,)))
            .limit(limit).offset(offset))
    features = []
    for row in session.execute(stmt).mappings():
        props = {k: jsonable(v) for k, v in row.items() if k != "__geometry"}
        features.append(feature(row["__geometry"], props,
                                props.get(id_key) if id_key else None))
    return features, int(total)

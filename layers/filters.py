"""Request filters of a layer: declared once, parsed from query strings, bound as parameters.

A filter is a named query parameter (``status``, ``category``, ``overdue``,
``datetime``) with a fixed SQL condition over the layer's rows (alias ``t``)
that reads only bound parameters. Absent filters bind NULL and the condition
is written so that NULL means "no restriction"; the SQL text of a layer is
therefore the same for every request and is prepared once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gis_core.errors import InvalidInput

FilterKind = Literal["datetime", "list", "bool"]

IDENT = r"^[a-z][a-z0-9_]*$"


class LayerFilter(BaseModel):
    """One query-parameter filter of a layer.

    ``sql`` is a condition over the alias ``t`` that reads the bound parameters
    named by :meth:`param_names` and is true when they are NULL.
    ``datetime`` filters bind ``<name>_start`` and ``<name>_end``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=IDENT)
    kind: FilterKind
    sql: str
    description: str = ""
    values: tuple[str, ...] | None = None

    def param_names(self) -> tuple[str, ...]:
        """Names of the bound parameters the condition reads."""
        if self.kind == "datetime":
            return (f"{self.name}_start", f"{self.name}_end")
        return (self.name,)

    def null_params(self) -> dict[str, Any]:
        """Parameters binding 'no restriction'."""
        return dict.fromkeys(self.param_names())

    def parse(self, raw: str) -> dict[str, Any]:
        """Parse one query-string value into bound parameters, or raise naming the filter."""
        if self.kind == "bool":
            return {self.name: parse_bool(self.name, raw)}
        if self.kind == "datetime":
            start, end = parse_datetime_interval(raw, parameter=self.name)
            return {f"{self.name}_start": start, f"{self.name}_end": end}
        items = [v.strip() for v in raw.split(",") if v.strip()]
        if not items:
            raise InvalidInput(f"query parameter '{self.name}': expected a comma-separated list",
                               code="invalid_parameter", parameter=self.name)
        if self.values is not None:
            bad = [v for v in items if v not in self.values]
            if bad:
                raise InvalidInput(
                    f"query parameter '{self.name}': {bad[0]!r} is not one of "
                    f"{', '.join(self.values)}", code="invalid_parameter", parameter=self.name)
        return {self.name: items}


def parse_bool(name: str, raw: str) -> bool:
    """Parse ``true/false/1/0/yes/no``.

    Examples
    --------
    >>> parse_bool("overdue", "true"), parse_bool("overdue", "0")
    (True, False)
    """
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise InvalidInput(f"query parameter '{name}': expected true or false, got {raw!r}",
                       code="invalid_parameter", parameter=name)


def _instant(text: str, parameter: str) -> datetime | None:
    if text in ("", ".."):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"query parameter '{parameter}': {text!r} is not an RFC 3339 date-time",
            code="invalid_parameter", parameter=parameter) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_datetime_interval(raw: str, parameter: str = "datetime"
                            ) -> tuple[datetime | None, datetime | None]:
    """Parse an OGC ``datetime``: an instant, ``start/end``, ``../end`` or ``start/..``.

    Naive times are taken as UTC. Returns ``(start, end)``, inclusive; None is open.

    Examples
    --------
    >>> parse_datetime_interval("2024-01-01T00:00:00Z/..")
    (datetime.datetime(2024, 1, 1, 0, 0, tzinfo=datetime.timezone.utc), None)
    """
    parts = raw.strip().split("/")
    if len(parts) == 1:
        t = _instant(parts[0], parameter)
        if t is None:
            raise InvalidInput(f"query parameter '{parameter}': empty date-time",
                               code="invalid_parameter", parameter=parameter)
        return t, t
    if len(parts) != 2:
        raise InvalidInput(f"query parameter '{parameter}': expected start/end",
                           code="invalid_parameter", parameter=parameter)
    start, end = _instant(parts[0], parameter), _instant(parts[1], parameter)
    if start is not None and end is not None and start > end:
        raise InvalidInput(f"query parameter '{parameter}': start is after end",
                           code="invalid_parameter", parameter=parameter)
    return start, end


def bind_filters(filters: tuple[LayerFilter, ...], given: Mapping[str, Any] | None
                 ) -> dict[str, Any]:
    """Bound parameters for ``filters`` from already parsed or raw string values.

    Unknown names raise :class:`InvalidInput` naming them; string values are
    parsed with :meth:`LayerFilter.parse`; parsed values (lists, bools, pairs of
    datetimes for ``datetime`` filters) are taken as they are.
    """
    params: dict[str, Any] = {}
    by_name = {f.name: f for f in filters}
    for f in filters:
        params.update(f.null_params())
    for name, value in (given or {}).items():
        flt = by_name.get(name)
        if flt is None:
            allowed = ", ".join(by_name) or "none"
            raise InvalidInput(f"query parameter '{name}': unknown filter (allowed: {allowed})",
                               code="invalid_parameter", parameter=name)
        if value is None:
            continue
        if isinstance(value, str):
            params.update(flt.parse(value))
        elif flt.kind == "datetime":
            start, end = value
            params.update({f"{name}_start": start, f"{name}_end": end})
        elif flt.kind == "list":
            params.update(flt.parse(",".join(str(v) for v in value)))
        else:
            params[name] = bool(value)
    return params

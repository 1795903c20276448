"""Times and channels of imported events.

Times: a time written with a zone or offset (``2020-01-01T00:05:00-08:00``) is
taken as written; a time without one (``1/1/20 0:05``, ``2024-10-08 09:30``)
is local time in ``timezone`` (an IANA name; ``gridgov import events`` defaults
to ``GRIDGOV_TIMEZONE``). On the autumn change of clocks an hour repeats: such
a local time is read as standard (winter) time; a local time skipped in spring
is moved forward to the first existing one. Everything is stored in UTC.

Channels: a channel column holds our channel names (``app``, ``hotline``,
...) or values mapped by ``channel_map`` (``{"Call": "hotline", "*":
"app"}``; ``*`` stands for every other value); empty cells and files without a
channel column take ``default``.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from api.imports.tables import rows_of
from gis_core.errors import InvalidInput
from layers.vocabulary import CHANNELS


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name``, or a clear error.

    Examples
    --------
    >>> zone("America/Los_Angeles").key
    'America/Los_Angeles'
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"parameter 'timezone': {name!r} is not a time zone; use an IANA "
                           "name such as Asia/Shanghai or America/Los_Angeles",
                           parameter="timezone") from None


def utc_times(values: pd.Series, timezone: str) -> pd.Series:
    """Parse times (naive ones in ``timezone``) into UTC; unreadable cells become NaT.

    Examples
    --------
    >>> utc_times(pd.Series(["1/1/20 0:05", "2020-01-01T00:05:00+00:00", ""]),
    ...           "America/Los_Angeles").dt.strftime("%Y-%m-%d %H:%M").tolist()
    ['2020-01-01 08:05', '2020-01-01 00:05', nan]
    >>> utc_times(pd.Series(["2024-10-08 09:30"]), "Asia/Shanghai").iloc[0].isoformat()
    '2024-10-08T01:30:00+00:00'
    """
    tz = zone(timezone)
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    has_zone = text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z|UTC|GMT)$", regex=True).to_numpy(
        dtype=bool)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if has_zone.any():
        out[has_zone] = pd.to_datetime(text[has_zone], utc=True, errors="coerce",
                                       format="mixed")
    naive = ~has_zone & (text != "").to_numpy(dtype=bool)
    if naive.any():
        local = pd.to_datetime(text[naive], errors="coerce", format="mixed")
        if isinstance(local.dtype, pd.DatetimeTZDtype):
            local = local.dt.tz_localize(None)
        standard = np.zeros(int(naive.sum()), dtype=bool)
        out[naive] = local.dt.tz_localize(tz, ambiguous=standard,
                                          nonexistent="shift_forward").dt.tz_convert("UTC")
    return out


def channels(values: pd.Series | None, n: int, default: str,
             mapping: dict[str, str]) -> np.ndarray:
    """The channel of each row (see the module docstring).

    Examples
    --------
    >>> channels(pd.Series(["Call", "app", None]), 3, "hotline", {"Call": "hotline"}).tolist()
    ['hotline', 'app', 'hotline']
    """
    for theirs, ours in [("--channel", default), *mapping.items()]:
        if ours not in CHANNELS:
            raise InvalidInput(f"channel {theirs}={ours!r}: ours are {', '.join(CHANNELS)}",
                               parameter="channel")
    if values is None:
        return np.full(n, default, dtype=object)
    raw = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    empty = raw == ""
    out = raw.map(mapping).astype(object)
    out = out.where(out.notna(), raw.where(raw.isin(CHANNELS)))
    out = out.where(out.notna() | empty, mapping.get("*"))
    unknown = out.isna() & ~empty
    if unknown.any():
        names = sorted(set(raw[unknown]))[:10]
        raise InvalidInput(f"{int(unknown.sum())} rows have channels with no mapping: "
                           f"{names} (rows {rows_of(unknown)[:10]}); map them with "
                           f"--channel-map THEIRS=OURS (ours: {', '.join(CHANNELS)}; "
                           "'*' for every other value)", parameter="channel_map")
    return out.where(out.notna(), default).to_numpy(dtype=object)

r"""What a value must be before it reaches the database: text PostgreSQL can store, bigints.

One home for the rules every input shares, whatever its channel:

- :data:`Text` (pydantic fields) and :func:`check_text` (anything else: form
  fields, path and query parameters) refuse NUL characters, which PostgreSQL
  text cannot hold, and lone UTF-16 surrogates (``"\ud800"``, sent as a JSON
  escape), which cannot be encoded in UTF-8. The error code is ``invalid_text``.
- :data:`DbInt` bounds an integer of a path, query or body to PostgreSQL's
  ``bigint``, so that an id such as ``99999999999999999999`` is a 422, not an
  overflow in SQL.
- :func:`check_request_text` applies :func:`check_text` to every path and query
  parameter of every route; the app-wide dependency ``api.auth.access.gate``
  calls it first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

from annotated_types import Ge, Le
from fastapi import Request
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from api.errors import INVALID_TEXT, APIError

#: The largest value of a PostgreSQL ``bigint``.
BIGINT_MAX = 2**63 - 1

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    r"""What makes ``value`` unstorable in PostgreSQL text, or None when it is fine.

    Examples
    --------
    >>> text_problem("网格 ok") is None
    True
    >>> text_problem("a\x00b")
    'must not contain NUL characters'
    >>> text_problem("\ud800")
    'must not contain lone surrogates (invalid Unicode, e.g. \\ud800)'
    """
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain NUL characters"
    return "must not contain lone surrogates (invalid Unicode, e.g. \\ud800)"


def check_text(value: str, where: str) -> str:
    """Return ``value``, or raise a 422 ``invalid_text`` naming ``where``.

    Parameters
    ----------
    value
        The text as received.
    where
        How the user names the value, e.g. ``"query parameter 'category'"``.
    """
    problem = text_problem(value)
    if problem is not None:
        raise APIError(422, INVALID_TEXT, f"{where}: {problem}", field=where)
    return value


def _pydantic_text(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise PydanticCustomError(INVALID_TEXT, problem)
    return value


#: A pydantic string PostgreSQL can store (no NUL, no lone surrogates).
Text = Annotated[str, AfterValidator(_pydantic_text)]

#: An integer PostgreSQL can store as a non-negative ``bigint`` (ids, offsets, cursors).
DbInt = Annotated[int, Ge(0), Le(BIGINT_MAX)]


def db_int(value: str) -> int | None:
    """``value`` as a :data:`DbInt` when it is one written in ASCII digits, else None.

    Examples
    --------
    >>> db_int("42"), db_int("99999999999999999999"), db_int("²"), db_int("-1")
    (42, None, None, None)
    """
    if not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if number <= BIGINT_MAX else None


def _check_all(items: Iterable[tuple[str, str]], kind: str) -> None:
    for name, value in items:
        check_text(name, f"{kind} name")
        check_text(value, f"{kind} '{name}'")


async def check_request_text(request: Request) -> None:
    """Refuse NUL characters in any path or query parameter (the gate calls it first)."""
    if b"%00" in request.scope.get("query_string", b""):
        _check_all(request.query_params.multi_items(), "query parameter")
    _check_all(request.path_params.items(), "path parameter")


__all__ = ["BIGINT_MAX", "INVALID_TEXT", "DbInt", "Text", "check_request_text", "check_text",
           "db_int", "text_problem"]

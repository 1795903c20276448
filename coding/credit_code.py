"""GB 32100-2015 unified social credit codes (统一社会信用代码) of organisations.

A code is 18 characters of the alphabet ``0-9 A-H J-N P-R T U W-Y`` (31
characters: no I, O, S, V, Z): the registering authority (1), the kind of
organisation (1), the GB/T 2260 region code (6), the GB 11714 organisation code
(9) and a check character. The check character ``C18`` makes
``sum(value(C_i) * 3**(i-1) mod 31) + value(C18)`` a multiple of 31
(``C18 = 31 - sum mod 31``, with 31 written as ``0``).

Examples
--------
The standard's example:

>>> is_valid_credit_code("91350100M000100Y43")
True
"""

from __future__ import annotations

from coding.resident_id import normalise_resident_id
from gis_core.errors import InvalidCode

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def credit_code_check(first17: str) -> str:
    """The check character of the first 17 characters of a code.

    Examples
    --------
    >>> credit_code_check("91350100M000100Y4")
    '3'
    """
    bad = [c for c in first17 if c not in _VALUE]
    if len(first17) != 17 or bad:
        raise InvalidCode(f"a unified social credit code has 17 characters of {ALPHABET} "
                          f"before its check character, got {first17!r}")
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def check_credit_code(value: str) -> str:
    """The code, trimmed and upper-cased, if valid; otherwise :class:`InvalidCode`.

    Examples
    --------
    >>> check_credit_code(" 91350100m000100y43")
    '91350100M000100Y43'
    >>> check_credit_code("91350100M000100Y44")
    Traceback (most recent call last):
    ...
    gis_core.errors.InvalidCode: unified social credit code 91350100M000100Y44: check ...
    """
    code = normalise_resident_id(value)
    if len(code) != 18:
        raise InvalidCode(f"unified social credit code {code!r}: 18 characters expected, "
                          f"got {len(code)}")
    expected = credit_code_check(code[:17])
    if code[17] != expected:
        raise InvalidCode(f"unified social credit code {code}: check character is {code[17]}, "
                          f"expected {expected}", position=18)
    return code


def is_valid_credit_code(value: str) -> bool:
    """Whether ``value`` is a unified social credit code with a correct check character."""
    try:
        check_credit_code(value)
    except InvalidCode:
        return False
    return True


def make_credit_code(first17: str) -> str:
    """``first17`` followed by its check character (synthetic data, tests).

    Examples
    --------
    >>> make_credit_code("91440300MA5D00001")[-1] in ALPHABET
    True
    """
    return first17 + credit_code_check(first17)

"""ISO/IEC 7064 pure check-character systems MOD 11,2 and MOD 37,2.

Both are "pure" systems with one check character and radix 2: the weighted sum
of all characters (check character included, weights ``2**i`` counted from the
right, the check character having weight 1) is congruent to 1 modulo M. With a
prime modulus they detect every single-character substitution and every
transposition of two adjacent characters.

- MOD 11,2 works on digits and appends ``0``-``9`` or ``X`` (used by the
  Chinese resident ID number, ISNI and ORCID).
- MOD 37,2 works on ``0``-``9``, ``A``-``Z`` and appends one of
  ``0``-``9``, ``A``-``Z`` or ``*``; gridgov building and room codes use it.
"""

from __future__ import annotations

from gis_core.errors import InvalidCode, InvalidInput

MOD11_ALPHABET = "0123456789X"
MOD37_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"


def _values(data: str, modulus: int) -> list[int]:
    """Map the data characters to their values, naming the first one not allowed."""
    allowed = MOD11_ALPHABET[:10] if modulus == 11 else MOD37_ALPHABET[:36]
    values = []
    for pos, ch in enumerate(data):
        val = allowed.find(ch)
        if val < 0:
            raise InvalidCode(
                f"character {ch!r} at position {pos + 1} is not allowed; "
                f"allowed: {allowed[0]}-{allowed[9]}" + ("" if modulus == 11 else ", A-Z"),
                position=pos + 1,
            )
        values.append(val)
    return values


def _check_modulus(modulus: int) -> str:
    if modulus == 11:
        return MOD11_ALPHABET
    if modulus == 37:
        return MOD37_ALPHABET
    raise InvalidInput(f"modulus must be 11 or 37, got {modulus!r}")


def check_character(data: str, modulus: int = 37) -> str:
    """Compute the ISO 7064 MOD ``modulus``,2 check character of ``data``.

    Parameters
    ----------
    data
        The characters to protect: digits for MOD 11,2; digits and upper-case
        letters for MOD 37,2.
    modulus
        11 or 37.

    Returns
    -------
    str
        One character: ``0-9`` or ``X`` (MOD 11,2); ``0-9``, ``A-Z`` or ``*`` (MOD 37,2).

    Raises
    ------
    InvalidCode
        If ``data`` is empty or holds a character outside the alphabet.

    Examples
    --------
    >>> check_character("11010519491231002", modulus=11)  # a sample resident ID
    'X'
    >>> check_character("44030700300100012")
    'B'
    """
    alphabet = _check_modulus(modulus)
    if not isinstance(data, str) or not data:
        raise InvalidCode(f"data must be a non-empty string, got {data!r}")
    p = 0
    for val in _values(data, modulus):
        p = ((p + val) * 2) % modulus
    return alphabet[(modulus + 1 - p) % modulus]


def is_valid(code: str, modulus: int = 37) -> bool:
    """Tell whether the last character of ``code`` is its correct check character.

    Parameters
    ----------
    code
        Data characters followed by the check character.
    modulus
        11 or 37.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_valid("0000000218250097", modulus=11)  # an ORCID iD
    True
    >>> is_valid("0000000218250079", modulus=11)
    False
    """
    alphabet = _check_modulus(modulus)
    if not isinstance(code, str) or len(code) < 2 or code[-1] not in alphabet:
        return False
    try:
        return check_character(code[:-1], modulus) == code[-1]
    except InvalidCode:
        return False

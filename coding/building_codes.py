"""Building and room codes ("one building one code, one room one code").

Format
------
A **building code** has 18 characters::

    440307 003 001 00012 B
    |      |   |   |     +-- ISO 7064 MOD 37,2 check character (0-9, A-Z or *)
    |      |   |   +-------- building sequence in the community, 00001-99999
    |      |   +------------ community / village code (3 digits)
    |      +---------------- street / township code (3 digits, GB/T 10114)
    +----------------------- county-level admin code (6 digits, GB/T 2260)

The first 12 digits are the community prefix, the same as the first 12 digits
of the community's CJ/T 213 unit grid codes.

A **room code** has 26 characters: the 17 data characters of its building,
an 8-character room suffix, and its own check character::

    44030700300100012 02 003 015 N
                      |  |   |   +-- check character over the 25 characters before it
                      |  |   +------ room number on the floor, 001-999
                      |  +---------- floor: 001-999 above ground, B01-B99 below ground
                      +------------- unit (entrance / 单元), 01-99; 00 = the building has no units

The check character is ISO 7064 MOD 37,2 (alphabet ``0-9A-Z*``, see
:mod:`coding.iso7064`) rather than MOD 11,2 because the floor field may hold
the letter ``B``; MOD 37,2 detects every single-character substitution and
every adjacent transposition, so a mistyped code is rejected instead of
resolving to another building. Codes are compared upper-case with surrounding
white space removed; no separators are part of a code.

Allocation never reuses a sequence: :func:`next_building_code` takes one more
than the highest sequence ever issued in the community (callers pass the codes
of demolished buildings too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from coding.iso7064 import check_character
from gis_core.errors import InvalidCode, InvalidInput

BUILDING_CODE_LENGTH = 18
ROOM_CODE_LENGTH = 26
MAX_BUILDING_SEQUENCE = 99_999

_BODY = re.compile(r"^[0-9]{17}$")
_ROOM_SUFFIX = re.compile(r"^([0-9]{2})([0-9]{3}|B[0-9]{2})([0-9]{3})$")


@dataclass(frozen=True, slots=True)
class BuildingCode:
    """A parsed building or room code.

    Attributes
    ----------
    code
        The full normalised code (18 characters for a building, 26 for a room).
    county, street, community
        The 6-, 3- and 3-digit parts of the community prefix.
    sequence
        The building sequence in the community, 1-99999.
    unit, floor, room
        Room codes only (``None`` for a building): unit 0-99 (0 = no units),
        floor 1-999 or -1..-99 below ground, room 1-999.
    check
        The check character.
    """

    code: str
    county: str
    street: str
    community: str
    sequence: int
    check: str
    unit: int | None = None
    floor: int | None = None
    room: int | None = None

    @property
    def community_code(self) -> str:
        """The 12-digit community prefix."""
        return self.county + self.street + self.community

    @property
    def building_code(self) -> str:
        """The code of the building (for a room: the building it is in)."""
        if not self.is_room:
            return self.code
        return make_building_code(self.community_code, self.sequence)

    @property
    def is_room(self) -> bool:
        """Whether this is a room code."""
        return self.room is not None


def _check_community(community_code: str) -> str:
    if not isinstance(community_code, str) or not re.fullmatch(r"[0-9]{12}", community_code):
        raise InvalidInput(
            "community_code must be 12 digits (6-digit county + 3-digit street "
            f"+ 3-digit community), got {community_code!r}"
        )
    return community_code


def make_building_code(community_code: str, seq: int) -> str:
    """Make the 18-character code of building number ``seq`` of a community.

    Parameters
    ----------
    community_code
        The 12-digit community prefix.
    seq
        The building sequence, 1-99999.

    Returns
    -------
    str

    Examples
    --------
    >>> make_building_code("440307003001", 12)
    '44030700300100012B'
    """
    _check_community(community_code)
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= MAX_BUILDING_SEQUENCE:
        raise InvalidInput(f"seq must be an integer in 1-{MAX_BUILDING_SEQUENCE}, got {seq!r}")
    body = f"{community_code}{seq:05d}"
    return body + check_character(body)


def _floor_field(floor: int) -> str:
    if (
        isinstance(floor, bool)
        or not isinstance(floor, int)
        or not (1 <= floor <= 999 or -99 <= floor <= -1)
    ):
        raise InvalidInput(
            f"floor must be an integer in 1-999 (above ground) or -99..-1 (below), got {floor!r}"
        )
    return f"{floor:03d}" if floor > 0 else f"B{-floor:02d}"


def make_room_code(building_code: str, unit: int, floor: int, room: int) -> str:
    """Make the 26-character code of a room of a building.

    Parameters
    ----------
    building_code
        A valid 18-character building code.
    unit
        Unit (entrance) number 1-99, or 0 when the building has no units.
    floor
        Floor 1-999 above ground, -1..-99 below ground (written ``B01``...).
    room
        Room number on the floor, 1-999.

    Returns
    -------
    str

    Examples
    --------
    >>> make_room_code("44030700300100012B", unit=2, floor=3, room=15)
    '4403070030010001202003015N'
    >>> make_room_code("44030700300100012B", unit=0, floor=-1, room=1)[17:25]
    '00B01001'
    """
    parsed = parse(building_code)
    if parsed.is_room:
        raise InvalidInput(
            f"building_code must be a building code, got the room code {building_code!r}"
        )
    if isinstance(unit, bool) or not isinstance(unit, int) or not 0 <= unit <= 99:
        raise InvalidInput(f"unit must be an integer in 0-99 (0 = no units), got {unit!r}")
    if isinstance(room, bool) or not isinstance(room, int) or not 1 <= room <= 999:
        raise InvalidInput(f"room must be an integer in 1-999, got {room!r}")
    body = parsed.code[:17] + f"{unit:02d}" + _floor_field(floor) + f"{room:03d}"
    return body + check_character(body)


def normalize(code: str) -> str:
    """Upper-case ``code`` and strip surrounding white space.

    Examples
    --------
    >>> normalize(" 44030700300100012b ")
    '44030700300100012B'
    """
    if not isinstance(code, str):
        raise InvalidCode(f"code must be a string, got {type(code).__name__}")
    return code.strip().upper()


def validate(code: str) -> str:
    """Check a building or room code and return it normalised.

    Parameters
    ----------
    code
        An 18-character building code or a 26-character room code.

    Returns
    -------
    str
        The normalised code.

    Raises
    ------
    InvalidCode
        With the reason: wrong length, a non-digit where digits belong, a zero
        sequence, a bad room suffix, or a wrong check character (the message
        names the expected one).

    Examples
    --------
    >>> validate("44030700300100012b")
    '44030700300100012B'
    >>> validate("44030700300100021B")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gis_core.errors.InvalidCode: wrong check character in '44030700300100021B': expected '9', ...
    """
    norm = normalize(code)
    if len(norm) not in (BUILDING_CODE_LENGTH, ROOM_CODE_LENGTH):
        raise InvalidCode(
            f"a building code has {BUILDING_CODE_LENGTH} characters and a room code "
            f"{ROOM_CODE_LENGTH}; got {len(norm)} in {code!r}",
            reason="wrong_length",
        )
    if not _BODY.match(norm[:17]):
        raise InvalidCode(
            f"the first 17 characters of a building or room code must be digits: {code!r}",
            reason="non_digit",
        )
    if norm[12:17] == "00000":
        raise InvalidCode(f"the building sequence must be 00001-99999: {code!r}", reason="sequence")
    if len(norm) == ROOM_CODE_LENGTH:
        m = _ROOM_SUFFIX.match(norm[17:25])
        if m is None or m.group(3) == "000" or m.group(2) in ("000", "B00"):
            raise InvalidCode(
                "a room suffix is unit (2 digits) + floor (001-999 or B01-B99) + room "
                f"(001-999); got {norm[17:25]!r} in {code!r}",
                reason="room_suffix",
            )
    expected = check_character(norm[:-1])
    if norm[-1] != expected:
        raise InvalidCode(
            f"wrong check character in {code!r}: expected {expected!r}, got {norm[-1]!r}",
            reason="check_character",
            expected=expected,
        )
    return norm


def is_valid(code: str) -> bool:
    """Tell whether ``code`` is a valid building or room code.

    Examples
    --------
    >>> is_valid("44030700300100012B"), is_valid("44030700300100012C")
    (True, False)
    """
    try:
        validate(code)
    except InvalidCode:
        return False
    return True


def parse(code: str) -> BuildingCode:
    """Validate and split a building or room code.

    Parameters
    ----------
    code
        An 18-character building code or a 26-character room code.

    Returns
    -------
    BuildingCode

    Raises
    ------
    InvalidCode
        As :func:`validate`.

    Examples
    --------
    >>> p = parse("4403070030010001202003015N")
    >>> p.community_code, p.sequence, p.unit, p.floor, p.room, p.building_code
    ('440307003001', 12, 2, 3, 15, '44030700300100012B')
    """
    norm = validate(code)
    parts = {
        "code": norm,
        "county": norm[:6],
        "street": norm[6:9],
        "community": norm[9:12],
        "sequence": int(norm[12:17]),
        "check": norm[-1],
    }
    if len(norm) == BUILDING_CODE_LENGTH:
        return BuildingCode(**parts)  # type: ignore[arg-type]
    floor = norm[19:22]
    return BuildingCode(
        **parts,  # type: ignore[arg-type]
        unit=int(norm[17:19]),
        floor=-int(floor[1:]) if floor.startswith("B") else int(floor),
        room=int(norm[22:25]),
    )


def next_building_code(community_code: str, existing_codes: Iterable[str]) -> str:
    """Allocate the next building code of a community, never reusing one.

    The new sequence is one more than the highest sequence among
    ``existing_codes`` that belong to the community (room codes count through
    their building). Pass every code ever issued, demolished buildings
    included, so that a code is never given to a second building.

    Parameters
    ----------
    community_code
        The 12-digit community prefix.
    existing_codes
        Codes already issued (any community; others are ignored).

    Returns
    -------
    str

    Raises
    ------
    InvalidCode
        If one of ``existing_codes`` is not a valid code.
    InvalidInput
        If the community has used up 99999 sequences.

    Examples
    --------
    >>> next_building_code("440307003001", ["44030700300100012B", "44030700300100003D"])
    '440307003001000139'
    >>> next_building_code("440307003001", [])
    '44030700300100001H'
    """
    _check_community(community_code)
    top = 0
    for code in existing_codes:
        parsed = parse(code)
        if parsed.community_code == community_code:
            top = max(top, parsed.sequence)
    if top >= MAX_BUILDING_SEQUENCE:
        raise InvalidInput(
            f"community {community_code} has used all {MAX_BUILDING_SEQUENCE} building codes"
        )
    return make_building_code(community_code, top + 1)

"""Masked forms of personal values, and the normal forms their lookup hashes are taken of.

A masked value shows enough to recognise a contact on a case page and not
enough to use it: phones keep their first three and last four digits, names
their first character, e-mail addresses the first character of the mailbox and
the domain, ID numbers their first six (region) and last four characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_NOT_DIGIT = re.compile(r"\D")


def mask_phone(value: str) -> str:
    """Phone: first 3 and last 4 digits; shorter numbers keep their last 2.

    Examples
    --------
    >>> mask_phone("13812341234")
    '138****1234'
    >>> mask_phone("+86 138-1234-1234")
    '138****1234'
    >>> mask_phone("12345")
    '***45'
    """
    digits = normalise_phone(value)
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(len(digits) - 2, 1) + digits[-2:]


def mask_name(value: str) -> str:
    """Name: the first character and one star per other character.

    Examples
    --------
    >>> mask_name("张三")
    '张*'
    >>> mask_name("John")
    'J***'
    >>> mask_name("李")
    '*'
    """
    name = value.strip()
    if len(name) <= 1:
        return "*"
    return name[0] + "*" * (len(name) - 1)


def mask_email(value: str) -> str:
    """E-mail: the mailbox's first character, three stars, the domain.

    Examples
    --------
    >>> mask_email("john.smith@example.com")
    'j***@example.com'
    >>> mask_email("not an address")
    'n*************'
    """
    box, at, domain = value.strip().rpartition("@")
    if not at or not box:
        return mask_name(value)
    return box[0] + "***@" + domain


def mask_id_number(value: str) -> str:
    """ID number: the first 4 (province and city) and last 4 characters.

    The county digits (5-6) and the birth date stay hidden: with the last four
    they would narrow a person down within a town.

    Examples
    --------
    >>> mask_id_number("11010519491231002X")
    '1101**********002X'
    >>> mask_id_number("A1234567")
    '******67'
    """
    text = value.strip()
    if len(text) <= 8:
        return "*" * max(len(text) - 2, 1) + text[-2:]
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


def normalise_phone(value: str) -> str:
    """Digits only, without the +86 / 0086 country prefix of a mobile number.

    Examples
    --------
    >>> normalise_phone("+86 138 1234 1234")
    '13812341234'
    >>> normalise_phone("021-6123 4567")
    '02161234567'
    """
    digits = _NOT_DIGIT.sub("", value)
    for prefix in ("0086", "86"):
        rest = digits[len(prefix):]
        if digits.startswith(prefix) and len(rest) == 11 and rest.startswith("1"):
            return rest
    return digits


def normalise_text(value: str) -> str:
    """NFKC, trimmed, case-folded: the form names, e-mails and ID numbers are hashed in.

    Examples
    --------
    >>> normalise_text("  Li.Lei@Example.CN ")
    'li.lei@example.cn'
    """
    return unicodedata.normalize("NFKC", value).strip().casefold()


#: kind of personal field -> (mask, normal form for the lookup hash)
KINDS: dict[str, tuple[Callable[[str], str], Callable[[str], str]]] = {
    "name": (mask_name, normalise_text),
    "phone": (mask_phone, normalise_phone),
    "email": (mask_email, normalise_text),
    "id_number": (mask_id_number, normalise_text),
    "position": (lambda _: "***", normalise_text),
}


def mask(kind: str, value: str | None) -> str | None:
    """The masked form of ``value`` for a field of ``kind`` (None stays None).

    Examples
    --------
    >>> mask("phone", "13812341234"), mask("name", None)
    ('138****1234', None)
    """
    if value is None:
        return None
    return KINDS[kind][0](value)

"""Check characters of resident identity numbers (GB 11643) and credit codes (GB 32100)."""

from __future__ import annotations

from datetime import date

import pytest

from coding.credit_code import ALPHABET, check_credit_code, is_valid_credit_code
from coding.iso7064 import check_character
from coding.resident_id import make_resident_id, parse_resident_id
from gis_core.errors import InvalidCode

#: the examples printed in GB 11643-1999 (appendix) and GB 32100-2015
STANDARD_IDS = {
    "11010519491231002X": (date(1949, 12, 31), "female", "110105"),
    "440524188001010014": (date(1880, 1, 1), "male", "440524"),
}


@pytest.mark.parametrize("number", sorted(STANDARD_IDS))
def test_the_standard_examples_are_valid_and_say_birth_date_and_gender(number: str) -> None:
    parsed = parse_resident_id(number)
    assert (parsed.birth_date, parsed.gender, parsed.region) == STANDARD_IDS[number]


@pytest.mark.parametrize("number", sorted(STANDARD_IDS))
def test_every_single_wrong_character_is_refused(number: str) -> None:
    for pos in range(18):
        for ch in "0123456789X":
            wrong = number[:pos] + ch + number[pos + 1:]
            if wrong == number or (pos < 17 and ch == "X"):
                continue
            with pytest.raises(InvalidCode):
                parse_resident_id(wrong)


FULL_WIDTH = "".join(chr(ord(c) + 0xFEE0) for c in "11010519491231002") + "x"


def test_a_lower_case_x_and_full_width_digits_are_read() -> None:
    assert parse_resident_id(FULL_WIDTH).number == "11010519491231002X"


@pytest.mark.parametrize(("number", "why"), [
    ("11010519491231002", "18 characters"),
    ("11010519491332002" + check_character("11010519491332002", 11), "not a birth date"),
    (make_resident_id("110105", date(2099, 1, 1), 1), "outside 1800 to today"),
])
def test_malformed_numbers_say_what_is_wrong(number: str, why: str) -> None:
    with pytest.raises(InvalidCode, match=why):
        parse_resident_id(number)


def test_made_numbers_round_trip() -> None:
    number = make_resident_id("440307", date(1990, 2, 28), 17)
    assert parse_resident_id(number).gender == "male"
    assert parse_resident_id(make_resident_id("440307", date(1990, 2, 28), 18)).gender == "female"


def test_the_credit_code_example_of_the_standard() -> None:
    assert is_valid_credit_code("91350100M000100Y43")
    assert check_credit_code("91350100m000100y43") == "91350100M000100Y43"


def test_every_single_substitution_of_a_credit_code_is_refused() -> None:
    code = "91350100M000100Y43"
    for pos in range(18):
        for ch in ALPHABET:
            if ch != code[pos]:
                assert not is_valid_credit_code(code[:pos] + ch + code[pos + 1:])


def test_letters_outside_the_alphabet_are_refused() -> None:
    with pytest.raises(InvalidCode, match="17 characters of"):
        check_credit_code("91350100I000100Y43")

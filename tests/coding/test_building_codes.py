import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coding import building_codes as bc
from coding.iso7064 import MOD37_ALPHABET, check_character
from coding.iso7064 import is_valid as iso_is_valid
from gis_core.errors import InvalidCode, InvalidInput

COMMUNITY = "440307003001"


# --- ISO 7064 against published examples -------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "11010519491231002X",  # the sample resident ID number of GB 11643
        "0000000218250097",  # ORCID iD examples (ISO 7064 MOD 11-2)
        "000000021694233X",
        "0000000151093700",
    ],
)
def test_mod11_2_published_examples(code):
    assert check_character(code[:-1], modulus=11) == code[-1]
    assert iso_is_valid(code, modulus=11)


def test_mod37_2_weighted_sum_is_one():
    # ISO 7064 pure system: sum(a_i * 2**i) over all characters (check char weight 1) == 1 mod 37
    for data in ["44030700300100012", "A", "ZZZZ", "0000000000"]:
        full = data + check_character(data)
        total = sum(MOD37_ALPHABET.index(ch) * 2**i for i, ch in enumerate(reversed(full)))
        assert total % 37 == 1


def test_check_character_rejects_bad_input():
    with pytest.raises(InvalidCode):
        check_character("12a4")
    with pytest.raises(InvalidCode):
        check_character("")
    with pytest.raises(InvalidInput):
        check_character("123", modulus=10)


# --- building and room codes ---------------------------------------------------------------


def test_building_code_layout():
    code = bc.make_building_code(COMMUNITY, 12)
    assert len(code) == 18
    assert code.startswith("44030700300100012")
    assert bc.is_valid(code)
    p = bc.parse(code)
    assert (p.community_code, p.sequence, p.is_room) == (COMMUNITY, 12, False)
    assert (p.county, p.street, p.community) == ("440307", "003", "001")


def test_room_code_layout_and_basement():
    building = bc.make_building_code(COMMUNITY, 12)
    room = bc.make_room_code(building, unit=2, floor=3, room=15)
    assert len(room) == 26
    assert room.startswith(building[:17] + "02003015")
    p = bc.parse(room)
    assert (p.unit, p.floor, p.room, p.building_code) == (2, 3, 15, building)
    basement = bc.make_room_code(building, unit=0, floor=-2, room=1)
    assert basement[17:25] == "00B02001"
    assert bc.parse(basement).floor == -2


def test_parse_normalises_case_and_space():
    code = bc.make_building_code(COMMUNITY, 5)
    room = bc.make_room_code(code, 1, -1, 3)
    assert bc.parse(" " + room.lower() + "\n").code == room


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("4403070030010001", "wrong_length"),
        ("44030700300100012BX", "wrong_length"),
        ("4403070030010001AB", "non_digit"),
        ("440307003001000000", "sequence"),
        ("44030700300100012" + "02000015" + "0", "room_suffix"),
        ("44030700300100012" + "02B00015" + "0", "room_suffix"),
        ("44030700300100012" + "02003000" + "0", "room_suffix"),
        ("44030700300100012" + "02C03015" + "0", "room_suffix"),
    ],
)
def test_validate_reasons(bad, reason):
    with pytest.raises(InvalidCode) as exc:
        bc.validate(bad)
    assert exc.value.code == "invalid_code"
    assert exc.value.details["reason"] == reason
    assert not bc.is_valid(bad)


def test_wrong_check_character_names_the_expected_one():
    code = bc.make_building_code(COMMUNITY, 12)
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(InvalidCode, match=f"expected '{code[-1]}'"):
        bc.validate(wrong)


def _substitutions(code):
    for i, ch in enumerate(code):
        alphabet = MOD37_ALPHABET if i == len(code) - 1 or code[i].isalpha() else "0123456789"
        for other in alphabet:
            if other != ch:
                yield code[:i] + other + code[i + 1 :]


def _transpositions(code):
    for i in range(len(code) - 1):
        if code[i] != code[i + 1]:
            yield code[:i] + code[i + 1] + code[i] + code[i + 2 :]


@settings(max_examples=25, deadline=None)
@given(
    seq=st.integers(1, 99_999),
    unit=st.integers(0, 99),
    floor=st.one_of(st.integers(1, 999), st.integers(-99, -1)),
    room=st.integers(1, 999),
    community=st.from_regex(r"\A(11|44|65)[0-9]{4}[0-9]{3}[0-9]{3}\Z"),
)
def test_every_single_typo_and_adjacent_swap_is_rejected(seq, unit, floor, room, community):
    building = bc.make_building_code(community, seq)
    room_code = bc.make_room_code(building, unit, floor, room)
    for code in (building, room_code):
        assert bc.is_valid(code)
        for typo in _substitutions(code):
            assert not bc.is_valid(typo), typo
        for swap in _transpositions(code):
            assert not bc.is_valid(swap), swap


def test_substitution_over_full_alphabet_at_every_position():
    # also letters typed where digits belong, and every possible check character
    code = bc.make_building_code(COMMUNITY, 4711)
    for i in range(len(code)):
        for other in MOD37_ALPHABET:
            if other != code[i]:
                assert not bc.is_valid(code[:i] + other + code[i + 1 :])


def test_make_rejects_bad_parameters():
    with pytest.raises(InvalidInput, match="community_code"):
        bc.make_building_code("44030700300", 1)
    with pytest.raises(InvalidInput, match="seq"):
        bc.make_building_code(COMMUNITY, 0)
    with pytest.raises(InvalidInput, match="seq"):
        bc.make_building_code(COMMUNITY, 100_000)
    building = bc.make_building_code(COMMUNITY, 1)
    with pytest.raises(InvalidInput, match="floor"):
        bc.make_room_code(building, 1, 0, 1)
    with pytest.raises(InvalidInput, match="unit"):
        bc.make_room_code(building, 100, 1, 1)
    with pytest.raises(InvalidInput, match="room"):
        bc.make_room_code(building, 1, 1, 1000)
    with pytest.raises(InvalidInput, match="building code"):
        bc.make_room_code(bc.make_room_code(building, 1, 1, 1), 1, 1, 1)


def test_next_building_code_never_reuses_demolished_codes():
    live = [bc.make_building_code(COMMUNITY, s) for s in (1, 2, 3)]
    demolished = bc.make_building_code(COMMUNITY, 9)
    other_community = bc.make_building_code("440307003002", 50)
    room_in_7 = bc.make_room_code(bc.make_building_code(COMMUNITY, 7), 1, 1, 1)
    nxt = bc.next_building_code(COMMUNITY, [*live, demolished, other_community])
    assert bc.parse(nxt).sequence == 10
    assert nxt not in [*live, demolished]
    assert bc.parse(bc.next_building_code(COMMUNITY, [*live, room_in_7])).sequence == 8
    assert bc.parse(bc.next_building_code(COMMUNITY, [])).sequence == 1


def test_next_building_code_rejects_corrupt_existing_codes_and_exhaustion():
    with pytest.raises(InvalidCode):
        bc.next_building_code(COMMUNITY, ["44030700300100012C"])
    with pytest.raises(InvalidInput, match="used all"):
        bc.next_building_code(COMMUNITY, [bc.make_building_code(COMMUNITY, 99_999)])

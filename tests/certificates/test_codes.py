"""Verification codes: random, 100 bits of Crockford base32, forgiving but strict on input."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certificates.credentials.codes import ALPHABET, BITS, generate_code, normalise_code

CODE_FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){3}$")


def test_codes_have_at_least_80_bits_in_four_groups_of_five():
    assert BITS == 100 >= 80
    assert len(ALPHABET) == 32
    code = generate_code()
    assert CODE_FORMAT.match(code), code
    assert normalise_code(code) == code


def test_codes_are_random():
    codes = {generate_code() for _ in range(200)}
    assert len(codes) == 200
    # Every symbol shows up somewhere: the bits are spread over the whole alphabet.
    assert set("".join(codes).replace("-", "")) == set(ALPHABET)


@pytest.mark.parametrize(
    "typed",
    [
        "7k3qd-0zb9m-xt2ra-h5w8c",
        "7K3QD0ZB9MXT2RAH5W8C",
        " 7K3QD 0ZB9M XT2RA H5W8C ",
        "7K3Q-D0ZB-9MXT-2RAH-5W8C",
        "7K3QD--0ZB9M-XT2RA-H5W8C-",
        "7K3QD-OZB9M-XT2RA-H5W8C",  # O typed for 0
    ],
)
def test_typing_variants_normalise_to_the_code(typed):
    assert normalise_code(typed) == "7K3QD-0ZB9M-XT2RA-H5W8C"


def test_i_and_l_are_read_as_one():
    assert normalise_code("IiLl1-00000-00000-00000") == "11111-00000-00000-00000"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("7K3QD-0ZB9M-XT2RA-H5W8U", "'U' cannot appear"),
        ("7K3QD-0ZB9M-XT2RA-H5W8", "20 letters and digits, not 19"),
        ("7K3QD-0ZB9M-XT2RA-H5W8CC", "not 21"),
        ("7K3QD_0ZB9M_XT2RA_H5W8C", "'_' cannot appear"),
        ("7\u041a3QD-0ZB9M-XT2RA-H5W8C", "cannot appear"),  # Cyrillic capital Ka
        ("", "not 0"),
        ("7" * 1000, "too long"),
    ],
)
def test_anything_else_is_refused(typed, message):
    with pytest.raises(ValueError, match=message):
        normalise_code(typed)


def test_non_text_is_refused():
    with pytest.raises(ValueError, match="text"):
        normalise_code(None)  # type: ignore[arg-type]


@settings(max_examples=200, database=None)
@given(st.integers(min_value=0, max_value=(1 << 100) - 1), st.data())
def test_any_code_survives_case_and_spacing_changes(number, data):
    symbols = "".join(ALPHABET[(number >> shift) & 31] for shift in range(95, -1, -5))
    code = "-".join(symbols[i : i + 5] for i in range(0, 20, 5))
    noisy = "".join(
        data.draw(st.sampled_from([char, char.lower()]))
        + data.draw(st.sampled_from(["", "", " ", "-"]))
        for char in symbols
    )
    assert normalise_code(noisy) == code


@settings(max_examples=300, database=None)
@given(st.text(max_size=40))
def test_normalise_either_returns_a_valid_code_or_raises_value_error(text):
    try:
        result = normalise_code(text)
    except ValueError:
        return
    assert CODE_FORMAT.match(result)

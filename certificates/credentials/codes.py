"""Verification codes: 100 random bits in Crockford base32, typed as four groups of five."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS = 4
GROUP_LENGTH = 5
LENGTH = GROUPS * GROUP_LENGTH
BITS = LENGTH * 5
SEPARATOR = "-"
#: Letters people type for the digits they resemble (Crockford's decoding rules).
ALIASES = {"O": "0", "I": "1", "L": "1"}
_SKIPPED = frozenset(" \t\r\n" + SEPARATOR)


def _group(symbols: str) -> str:
    return SEPARATOR.join(
        symbols[start : start + GROUP_LENGTH] for start in range(0, LENGTH, GROUP_LENGTH)
    )


def generate_code() -> str:
    """Return a new random code such as ``7K3QD-0ZB9M-XT2RA-H5W8C`` (100 bits)."""
    number = secrets.randbits(BITS)
    symbols = "".join(ALPHABET[(number >> shift) & 31] for shift in range(BITS - 5, -1, -5))
    return _group(symbols)


def normalise_code(text: str) -> str:
    """Return the canonical form of a typed code; raise ValueError if it cannot be one.

    Accepts lower case, spaces and missing or extra hyphens, and O for 0, I and L for 1.
    """
    if not isinstance(text, str):
        raise ValueError("a verification code is text")
    if len(text) > 4 * LENGTH:
        raise ValueError("that is too long to be a verification code")
    symbols = []
    for char in text:
        if char in _SKIPPED:
            continue
        upper = char.upper() if char.isascii() else char
        upper = ALIASES.get(upper, upper)
        if upper not in ALPHABET:
            raise ValueError(f"{char!r} cannot appear in a verification code")
        symbols.append(upper)
    if len(symbols) != LENGTH:
        raise ValueError(f"a verification code has {LENGTH} letters and digits, not {len(symbols)}")
    return _group("".join(symbols))

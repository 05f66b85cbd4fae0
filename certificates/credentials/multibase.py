"""Base58btc multibase and Multikey encoding of Ed25519 keys."""

from __future__ import annotations

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(_ALPHABET)}

#: Multicodec prefixes (unsigned varints) of Ed25519 keys: ed25519-pub 0xed, ed25519-priv 0x1300.
ED25519_PUB_HEADER = b"\xed\x01"
ED25519_PRIV_HEADER = b"\x80\x26"


def b58encode(data: bytes) -> str:
    """Encode bytes in base58 with the Bitcoin alphabet."""
    number = int.from_bytes(data, "big")
    chars = []
    while number:
        number, rest = divmod(number, 58)
        chars.append(_ALPHABET[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(chars))


def b58decode(text: str) -> bytes:
    """Decode base58 (Bitcoin alphabet); raise ValueError on any other character."""
    number = 0
    for char in text:
        try:
            number = number * 58 + _INDEX[char]
        except KeyError:
            raise ValueError(f"{char!r} is not a base58btc character") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def encode(data: bytes) -> str:
    """Return the base58btc multibase form of ``data`` (prefix ``z``)."""
    return "z" + b58encode(data)


def decode(text: str) -> bytes:
    """Decode a base58btc multibase string; raise ValueError for other encodings."""
    if not isinstance(text, str) or not text.startswith("z"):
        raise ValueError("only base58btc multibase values (starting with 'z') are accepted")
    return b58decode(text[1:])


def encode_multikey(header: bytes, key: bytes) -> str:
    """Return the multibase Multikey of a raw key with its multicodec header."""
    return encode(header + key)


def decode_multikey(text: str, header: bytes, size: int = 32) -> bytes:
    """Return the raw key of a multibase Multikey, checking its header and length."""
    data = decode(text)
    if not data.startswith(header) or len(data) != len(header) + size:
        raise ValueError("not a multibase Ed25519 key of the expected kind")
    return data[len(header) :]

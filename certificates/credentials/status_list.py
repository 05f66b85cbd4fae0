"""Bitstring Status List v1.0: the bits, their encoding, entries and the list credential.

Our credentials carry one ``BitstringStatusListEntry`` (the Open Badges 3.0 schema
allows a single ``credentialStatus``) with ``statusPurpose`` ``revocation`` and one
bit: the form every status checker reads. Suspension is not published in the list;
it is a state of the register that our own verifier reports.

Credentials issued earlier name a two-bit list of purpose ``message`` (the high bit
revoked, the low bit suspended, each value explained by ``statusMessage``); those
lists are still published and :func:`read_status` still reads their entries.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import hmac
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from certificates.credentials.jsonld import VC_V2_URL

#: The specification's minimum list length, for herd privacy.
MIN_ENTRIES = 131_072
#: A gzip bomb guard: a list we decode may not expand beyond this (1 MiB of bits).
MAX_DECODED_BYTES = 1 << 20

#: The purpose of the lists new credentials name: one bit, set when revoked.
REVOCATION_PURPOSE = "revocation"

#: The earlier two-bit lists of purpose ``message``, and the values of their entries.
MESSAGE_PURPOSE = "message"
MESSAGE_STATUS_SIZE = 2
ACTIVE = 0b00
SUSPENDED = 0b01
REVOKED = 0b10
STATUS_MESSAGES = {
    ACTIVE: "active",
    SUSPENDED: "suspended",
    REVOKED: "revoked",
    REVOKED | SUSPENDED: "revoked",
}


class StatusListError(ValueError):
    """A status list or entry is malformed or an index is out of range."""


class StatusList:
    """A list of ``size`` entries of ``status_size`` bits; entry 0 is the leftmost bits."""

    def __init__(self, size: int = MIN_ENTRIES, status_size: int = 1) -> None:
        if status_size < 1 or status_size > 8:
            raise StatusListError("status size must be between 1 and 8 bits")
        if size < MIN_ENTRIES:
            raise StatusListError(f"a status list has at least {MIN_ENTRIES} entries")
        self.size = size
        self.status_size = status_size
        self._bits = bytearray((size * status_size + 7) // 8)

    def __len__(self) -> int:
        return self.size

    @property
    def bit_length(self) -> int:
        """Return the number of bits in the list."""
        return self.size * self.status_size

    def _check_index(self, index: int) -> None:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < self.size:
            raise StatusListError(f"index {index!r} is outside the list (0..{self.size - 1})")

    def get(self, index: int) -> int:
        """Return the value of entry ``index``, its first bit most significant."""
        self._check_index(index)
        value = 0
        start = index * self.status_size
        for bit in range(start, start + self.status_size):
            value = (value << 1) | (self._bits[bit >> 3] >> (7 - (bit & 7))) & 1
        return value

    def set(self, index: int, value: int = 1) -> None:
        """Set entry ``index`` to ``value``."""
        self._check_index(index)
        if not 0 <= value < (1 << self.status_size):
            raise StatusListError(f"value {value} does not fit in {self.status_size} bits")
        start = index * self.status_size
        for offset in range(self.status_size):
            bit = start + offset
            mask = 1 << (7 - (bit & 7))
            if (value >> (self.status_size - 1 - offset)) & 1:
                self._bits[bit >> 3] |= mask
            else:
                self._bits[bit >> 3] &= ~mask & 0xFF

    def clear(self, index: int) -> None:
        """Set entry ``index`` back to zero."""
        self.set(index, 0)

    def to_bytes(self) -> bytes:
        """Return the raw bitstring."""
        return bytes(self._bits)

    def encode(self) -> str:
        """Return ``encodedList``: multibase ``u`` + base64url (no padding) of the gzipped bits.

        The gzip header carries no time, so the same bits always encode the same way.
        """
        compressed = gzip.compress(self.to_bytes(), mtime=0)
        return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")

    @classmethod
    def from_bytes(cls, raw: bytes, status_size: int = 1) -> StatusList:
        """Return the list whose raw bitstring is ``raw`` (as ``to_bytes`` gave it)."""
        if (len(raw) * 8) % status_size:
            raise StatusListError("the bitstring does not hold a whole number of entries")
        status_list = cls(len(raw) * 8 // status_size, status_size)
        status_list._bits[:] = raw
        return status_list

    @classmethod
    def decode(cls, encoded: object, status_size: int = 1) -> StatusList:
        """Return the list an ``encodedList`` holds; raise StatusListError if malformed."""
        if not isinstance(encoded, str) or not encoded.startswith("u"):
            raise StatusListError("encodedList must be base64url multibase (starting with 'u')")
        body = encoded[1:]
        try:
            compressed = base64.b64decode(body + "=" * (-len(body) % 4), b"-_", validate=True)
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            raw = inflater.decompress(compressed, MAX_DECODED_BYTES)
        except (binascii.Error, ValueError, zlib.error) as exc:
            raise StatusListError("encodedList is not gzipped base64url data") from exc
        if inflater.unconsumed_tail or inflater.unused_data or not inflater.eof:
            raise StatusListError("encodedList is truncated or larger than allowed")
        if (len(raw) * 8) % status_size:
            raise StatusListError("the bitstring does not hold a whole number of entries")
        size = len(raw) * 8 // status_size
        if size < MIN_ENTRIES:
            raise StatusListError(f"the list has {size} entries, fewer than {MIN_ENTRIES}")
        status_list = cls(size, status_size)
        status_list._bits[:] = raw
        return status_list


def _feistel_round(key: bytes, round_number: int, half: int, bits: int) -> int:
    digest = hmac.new(key, bytes([round_number]) + half.to_bytes(4, "big"), hashlib.sha256)
    return int.from_bytes(digest.digest()[:4], "big") & ((1 << bits) - 1)


def permuted_index(key: bytes, position: int, size: int = MIN_ENTRIES) -> int:
    """Return the index the ``position``-th credential on a list gets: a keyed shuffle.

    A bijection of ``range(size)`` (a four-round Feistel network over the next even
    number of bits, cycle-walked back into range), so handing out positions 0, 1, 2...
    from a counter gives distinct indexes in O(1) with no scan of the used ones,
    while an index tells nothing of when its credential was issued.
    """
    if not 0 <= position < size:
        raise StatusListError(f"position {position} is outside the list (0..{size - 1})")
    half_bits = max(1, ((size - 1).bit_length() + 1) // 2)
    mask = (1 << half_bits) - 1
    value = position
    while True:
        left, right = value >> half_bits, value & mask
        for round_number in range(4):
            left, right = right, left ^ _feistel_round(key, round_number, right, half_bits)
        value = (left << half_bits) | right
        if value < size:
            return value


def status_entry(
    list_url: str,
    index: int,
    *,
    purpose: str = REVOCATION_PURPOSE,
    status_size: int = 1,
) -> dict[str, Any]:
    """Return the ``BitstringStatusListEntry`` for entry ``index`` of the list at ``list_url``.

    A one-bit entry has no ``statusSize`` (1 is its default); a wider one (the earlier
    ``message`` lists) lists the message of each value.
    """
    if index < 0:
        raise StatusListError("a status list index is not negative")
    entry: dict[str, Any] = {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }
    if status_size > 1:
        entry["statusSize"] = status_size
        entry["statusMessage"] = [
            {"status": hex(value), "message": STATUS_MESSAGES.get(value, "unknown")}
            for value in range(1 << status_size)
        ]
    return entry


def format_datetime(moment: datetime) -> str:
    """Return an XML Schema dateTimeStamp in UTC to the second."""
    if moment.tzinfo is None:
        raise ValueError("timestamps in credentials must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_status_list_credential(
    list_url: str,
    issuer: str,
    status_list: StatusList,
    valid_from: datetime,
    *,
    purpose: str = REVOCATION_PURPOSE,
    valid_until: datetime | None = None,
    ttl_ms: int | None = None,
) -> dict[str, Any]:
    """Return the unsigned ``BitstringStatusListCredential`` published at ``list_url``."""
    subject: dict[str, Any] = {
        "id": f"{list_url}#list",
        "type": "BitstringStatusList",
        "statusPurpose": purpose,
        "encodedList": status_list.encode(),
    }
    if ttl_ms is not None:
        subject["ttl"] = ttl_ms
    credential: dict[str, Any] = {
        "@context": [VC_V2_URL],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": format_datetime(valid_from),
        "credentialSubject": subject,
    }
    if valid_until is not None:
        credential["validUntil"] = format_datetime(valid_until)
    return credential


@dataclass(frozen=True)
class EntryStatus:
    """What a status list says about one credential."""

    value: int
    message: str

    @property
    def revoked(self) -> bool:
        """Return whether the credential is revoked."""
        return self.message == "revoked"

    @property
    def suspended(self) -> bool:
        """Return whether the credential is suspended (and not revoked)."""
        return self.message == "suspended"


def read_status(entry: Any, list_credential: Any) -> EntryStatus:
    """Return the status ``list_credential`` gives the credential whose entry is ``entry``.

    Checks that the entry and list belong together; it does not check the list's
    proof (see ``verification.check_status``).
    """
    if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
        raise StatusListError("credentialStatus is not a BitstringStatusListEntry")
    if not isinstance(list_credential, dict):
        raise StatusListError("the status list is not a JSON object")
    if list_credential.get("id") != entry.get("statusListCredential"):
        raise StatusListError("the status list is not the one the credential names")
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != "BitstringStatusList":
        raise StatusListError("the status list credential holds no BitstringStatusList")
    purpose = entry.get("statusPurpose")
    list_purposes = subject.get("statusPurpose")
    if isinstance(list_purposes, str):
        list_purposes = [list_purposes]
    if not isinstance(list_purposes, list) or purpose not in list_purposes:
        raise StatusListError("the status list does not serve the entry's purpose")
    status_size = entry.get("statusSize", 1)
    if not isinstance(status_size, int) or isinstance(status_size, bool):
        raise StatusListError("statusSize must be an integer")
    index_text = entry.get("statusListIndex")
    if not isinstance(index_text, str) or not (index_text.isascii() and index_text.isdigit()):
        raise StatusListError("statusListIndex must be a string of digits")
    status_list = StatusList.decode(subject.get("encodedList"), status_size)
    value = status_list.get(int(index_text))
    if status_size == 1:
        if not value:
            return EntryStatus(value, "active")
        names: dict[object, str] = {"revocation": "revoked", "suspension": "suspended"}
        return EntryStatus(value, names.get(purpose, str(purpose)))
    messages = {
        item.get("status"): item.get("message")
        for item in entry.get("statusMessage", [])
        if isinstance(item, dict)
    }
    return EntryStatus(value, str(messages.get(hex(value), "unknown")))

"""Bitstring Status List v1.0: bit order, encoding, round trips, entries, the list credential."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certificates.credentials import status_list
from certificates.credentials.jsonld import check_lossless
from certificates.credentials.status_list import (
    MESSAGE_PURPOSE,
    MESSAGE_STATUS_SIZE,
    MIN_ENTRIES,
    REVOKED,
    SUSPENDED,
    StatusList,
    StatusListError,
    build_status_list_credential,
    permuted_index,
    read_status,
    status_entry,
)

# The specification's example: an empty list of 131,072 entries.
SPEC_EMPTY_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
LIST_URL = "https://lms.example.org/status-lists/3"


def raw_bits(encoded: str) -> bytes:
    body = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_spec_example_decodes_to_an_empty_list_of_the_minimum_size():
    decoded = StatusList.decode(SPEC_EMPTY_LIST)
    assert len(decoded) == MIN_ENTRIES == 131_072
    assert decoded.to_bytes() == bytes(16 * 1024)
    assert decoded.get(0) == 0
    assert decoded.get(MIN_ENTRIES - 1) == 0


def test_a_new_list_holds_the_same_bits_as_the_spec_example():
    assert raw_bits(StatusList().encode()) == raw_bits(SPEC_EMPTY_LIST)


def test_index_zero_is_the_leftmost_bit():
    bits = StatusList()
    bits.set(0)
    assert bits.to_bytes()[:2] == b"\x80\x00"
    bits.set(7)
    assert bits.to_bytes()[:2] == b"\x81\x00"
    bits.set(8)
    assert bits.to_bytes()[:2] == b"\x81\x80"
    bits.set(MIN_ENTRIES - 1)
    assert bits.to_bytes()[-1] == 0x01


def test_two_bit_entries_put_the_first_bit_first():
    bits = StatusList(status_size=2)
    assert bits.bit_length == 2 * MIN_ENTRIES
    bits.set(0, REVOKED)  # 0b10
    bits.set(1, SUSPENDED)  # 0b01
    bits.set(3, REVOKED | SUSPENDED)
    assert bits.to_bytes()[0] == 0b10_01_00_11
    assert [bits.get(i) for i in range(5)] == [REVOKED, SUSPENDED, 0, 3, 0]
    bits.set(3, SUSPENDED)
    assert bits.get(3) == SUSPENDED


def test_encoding_is_u_then_unpadded_base64url_of_gzip():
    bits = StatusList()
    for index in (0, 5, 77_777, MIN_ENTRIES - 1):
        bits.set(index)
    encoded = bits.encode()
    assert encoded.startswith("u")
    assert "=" not in encoded
    assert "+" not in encoded
    assert "/" not in encoded
    assert raw_bits(encoded) == bits.to_bytes()
    assert len(raw_bits(encoded)) * 8 >= 131_072
    assert bits.encode() == encoded  # no timestamp in the gzip header


def test_set_clear_get_round_trip_through_the_encoding():
    bits = StatusList()
    bits.set(42)
    bits.set(100_000)
    decoded = StatusList.decode(bits.encode())
    assert decoded.get(42) == 1
    assert decoded.get(100_000) == 1
    assert decoded.get(43) == 0
    decoded.clear(42)
    assert StatusList.decode(decoded.encode()).get(42) == 0


@settings(max_examples=30, deadline=None, database=None)
@given(
    status_size=st.sampled_from([1, 2, 4]),
    changes=st.lists(st.tuples(st.integers(0, MIN_ENTRIES - 1), st.integers(0, 15)), max_size=20),
)
def test_any_changes_survive_encoding(status_size, changes):
    bits = StatusList(status_size=status_size)
    expected = {}
    for index, value in changes:
        value %= 1 << status_size
        bits.set(index, value)
        expected[index] = value
    decoded = StatusList.decode(bits.encode(), status_size)
    assert all(decoded.get(index) == value for index, value in expected.items())
    assert decoded.to_bytes() == bits.to_bytes()


@pytest.mark.parametrize("index", [-1, MIN_ENTRIES, True, "3"])
def test_indexes_outside_the_list_are_refused(index):
    with pytest.raises(StatusListError, match="outside"):
        StatusList().get(index)


def test_values_and_sizes_are_checked():
    with pytest.raises(StatusListError, match="fit"):
        StatusList().set(0, 2)
    with pytest.raises(StatusListError, match="at least"):
        StatusList(size=1000)
    with pytest.raises(StatusListError, match="between"):
        StatusList(status_size=9)


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("zabc", "starting with 'u'"),
        ("u!!!", "not gzipped"),
        ("u" + base64.urlsafe_b64encode(b"plain").decode().rstrip("="), "not gzipped"),
        (
            "u" + base64.urlsafe_b64encode(gzip.compress(bytes(100))).decode().rstrip("="),
            "fewer than",
        ),
        (
            "u" + base64.urlsafe_b64encode(gzip.compress(bytes(4 << 20))).decode().rstrip("="),
            "larger than allowed",
        ),
        (SPEC_EMPTY_LIST[:-6], "truncated"),
    ],
)
def test_malformed_lists_are_refused(encoded, message):
    with pytest.raises(StatusListError, match=message):
        StatusList.decode(encoded)


def test_permuted_indexes_are_a_shuffle_of_the_whole_list():
    key = bytes(range(32))
    # Every entry once, no collisions: shown on a smaller list of an odd size (the
    # permutation is the same construction for every size, cycle-walking included).
    small = [permuted_index(key, position, 5000) for position in range(5000)]
    assert sorted(small) == list(range(5000))
    indexes = [permuted_index(key, position) for position in range(2000)]
    assert len(set(indexes)) == len(indexes)
    assert all(0 <= index < MIN_ENTRIES for index in indexes)
    assert indexes[:20] != list(range(20))  # and not in the order of issue
    assert max(indexes[:20]) - min(indexes[:20]) > 1000
    # Another key, another order; the same key, the same order.
    assert [permuted_index(b"other", p) for p in range(20)] != indexes[:20]
    assert [permuted_index(key, p) for p in range(20)] == indexes[:20]


@pytest.mark.parametrize("size", [MIN_ENTRIES, 2 * MIN_ENTRIES, MIN_ENTRIES + 1000])
def test_permuted_indexes_fit_lists_of_any_size(size):
    indexes = {permuted_index(b"k", position, size) for position in range(0, size, 97)}
    assert all(0 <= index < size for index in indexes)
    assert len(indexes) == len(range(0, size, 97))
    with pytest.raises(StatusListError, match="outside"):
        permuted_index(b"k", size, size)


def test_new_entries_are_one_bit_revocation_entries():
    entry = status_entry(LIST_URL, 7)
    assert entry == {
        "id": f"{LIST_URL}#7",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "7",
        "statusListCredential": LIST_URL,
    }


def test_earlier_message_lists_still_read():
    bits = StatusList(status_size=MESSAGE_STATUS_SIZE)
    bits.set(9, REVOKED)
    bits.set(11, SUSPENDED)
    credential = build_status_list_credential(
        LIST_URL,
        "https://lms.example.org/issuer",
        bits,
        datetime(2025, 1, 1, tzinfo=UTC),
        purpose=MESSAGE_PURPOSE,
    )
    check_lossless(credential)
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    subject = credential["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "message"
    assert "validUntil" not in credential
    assert credential["validFrom"] == "2025-01-01T00:00:00Z"
    entry = status_entry(LIST_URL, 9, purpose=MESSAGE_PURPOSE, status_size=MESSAGE_STATUS_SIZE)
    assert read_status(entry, credential).message == "revoked"
    assert read_status({**entry, "statusListIndex": "10"}, credential).message == "active"
    assert read_status({**entry, "statusListIndex": "11"}, credential).message == "suspended"


def test_revocation_list_credential_is_lossless_and_carries_its_window():
    bits = StatusList()
    bits.set(9)
    credential = build_status_list_credential(
        LIST_URL,
        "did:web:lms.example.org",
        bits,
        datetime(2025, 1, 1, tzinfo=UTC),
        valid_until=datetime(2025, 1, 2, tzinfo=UTC),
    )
    check_lossless(credential)
    assert credential["credentialSubject"]["statusPurpose"] == "revocation"
    assert credential["validUntil"] == "2025-01-02T00:00:00Z"
    assert read_status(status_entry(LIST_URL, 9), credential).message == "revoked"
    assert read_status(status_entry(LIST_URL, 8), credential).message == "active"


def test_one_bit_revocation_and_suspension_lists():
    bits = StatusList()
    bits.set(3)
    for purpose, message in [("revocation", "revoked"), ("suspension", "suspended")]:
        credential = build_status_list_credential(
            LIST_URL, "urn:x", bits, datetime(2025, 1, 1, tzinfo=UTC), purpose=purpose
        )
        entry = status_entry(LIST_URL, 3, purpose=purpose, status_size=1)
        assert "statusSize" not in entry
        assert read_status(entry, credential).message == message
        assert read_status({**entry, "statusListIndex": "4"}, credential).message == "active"


@pytest.mark.parametrize(
    ("entry_changes", "message"),
    [
        ({"type": "StatusList2021Entry"}, "not a BitstringStatusListEntry"),
        ({"statusListCredential": "https://other.example/list"}, "not the one"),
        ({"statusPurpose": "refresh"}, "purpose"),
        ({"statusListIndex": 9}, "string of digits"),
        ({"statusListIndex": "²"}, "string of digits"),
        ({"statusListIndex": "999999"}, "outside"),
    ],
)
def test_entries_that_do_not_fit_the_list_are_refused(entry_changes, message):
    credential = build_status_list_credential(
        LIST_URL, "urn:x", StatusList(), datetime(2025, 1, 1, tzinfo=UTC)
    )
    entry = {**status_entry(LIST_URL, 1), **entry_changes}
    with pytest.raises(StatusListError, match=message):
        read_status(entry, credential)


def test_status_messages_cover_every_value():
    entry = status_list.status_entry(
        LIST_URL, 1, purpose=MESSAGE_PURPOSE, status_size=MESSAGE_STATUS_SIZE
    )
    assert {item["status"]: item["message"] for item in entry["statusMessage"]} == {
        "0x0": "active",
        "0x1": "suspended",
        "0x2": "revoked",
        "0x3": "revoked",
    }

"""The W3C and 1EdTech eddsa-rdfc-2022 test vectors reproduce byte for byte."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from certificates.credentials import multibase, signing
from certificates.credentials.jsonld import (
    VC_V2_URL,
    ContextError,
    PinnedDocumentLoader,
    canonize,
)
from certificates.credentials.openbadges import validate_schema
from tests.standards import STANDARDS

VECTORS = STANDARDS / "test-vectors"
W3C = VECTORS / "w3c-eddsa-rdfc-2022"
OB3 = VECTORS / "1edtech-ob3"

EXAMPLES_URL = "https://www.w3.org/ns/credentials/examples/v2"
# The examples context is for these vectors only; the application never serves it.
LOADER = PinnedDocumentLoader(
    {EXAMPLES_URL: STANDARDS / "contexts" / "credentials-examples-v2.jsonld"}
)

# From the Open Badges 3.0 implementation guide: the Ed25519 seed is the first half of
# its 64-byte private key.
OB3_SEED = bytes.fromhex("6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4")
OB3_PUBLIC_HEX = "4bdeafde2ea8beefadd8c699b5c7e0704cf51154d52e17b20b71337ca04cc5a5"
OB3_MULTIKEY = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"


def read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def read_json(path: Path) -> dict:
    return json.loads(read_text(path))


def split_proof(signed: dict) -> tuple[dict, dict]:
    """Return the unsecured document and its proof."""
    unsecured = {key: value for key, value in signed.items() if key != "proof"}
    return unsecured, signed["proof"]


@pytest.fixture(scope="module")
def w3c_key():
    pair = read_json(VECTORS / "keyPair.json")
    key = signing.private_key_from_multikey(pair["privateKeyMultibase"])
    assert signing.public_multikey(key) == pair["publicKeyMultibase"]
    assert signing.private_multikey(key) == pair["privateKeyMultibase"]
    return key


def test_w3c_key_pair_multikey_headers():
    pair = read_json(VECTORS / "keyPair.json")
    assert multibase.decode(pair["publicKeyMultibase"])[:2] == b"\xed\x01"
    assert multibase.decode(pair["privateKeyMultibase"])[:2] == b"\x80\x26"
    assert pair["publicKeyMultibase"].startswith("z6Mk")


def test_w3c_canonical_forms_and_hashes():
    unsecured, _ = split_proof(read_json(W3C / "signedDataInt.json"))
    config = read_json(W3C / "proofConfigDataInt.json")
    data = signing.hash_input(unsecured, config, LOADER)

    assert data.canonical_document == read_text(W3C / "canonDocDataInt.txt")
    assert data.canonical_proof_config == read_text(W3C / "proofCanonDataInt.txt")
    assert data.document_hash.hex() == read_text(W3C / "docHashDataInt.txt").strip()
    assert data.proof_config_hash.hex() == read_text(W3C / "proofHashDataInt.txt").strip()
    assert data.hash_data.hex() == read_text(W3C / "combinedHashDataInt.txt").strip()


def test_w3c_signature_and_signed_document(w3c_key):
    signed = read_json(W3C / "signedDataInt.json")
    unsecured, proof = split_proof(signed)

    ours = signing.sign(
        unsecured,
        w3c_key,
        proof["verificationMethod"],
        proof["created"],
        loader=LOADER,
        as_array=False,
    )

    value = ours["proof"]["proofValue"]
    assert value == read_text(W3C / "sigBTC58DataInt.txt").strip()
    assert multibase.decode(value).hex() == read_text(W3C / "sigHexDataInt.txt").strip()
    assert ours == signed
    result = signing.verify(signed, signing.did_key_resolver, loader=LOADER)
    assert result.valid, result.checks


def test_w3c_employment_vector(w3c_key):
    """Hashes and signature from the given canonical forms.

    Its citizenship context is not pinned, so the document itself is refused rather
    than fetched; the proof configuration uses only terms of the VC v2 context.
    """
    employ = W3C / "employ"
    signed = read_json(employ / "signedDataInt.json")
    unsecured, proof = split_proof(signed)
    config = read_json(employ / "proofConfigDataInt.json")
    with pytest.raises(ContextError, match="not pinned"):
        canonize(unsecured, LOADER)

    canonical_config = canonize({**config, "@context": [VC_V2_URL]}, LOADER)
    assert canonical_config == read_text(employ / "proofCanonDataInt.txt")
    data = signing.HashInput(canonical_config, read_text(employ / "canonDocDataInt.txt"))
    assert data.document_hash.hex() == read_text(employ / "docHashDataInt.txt").strip()
    assert data.hash_data.hex() == read_text(employ / "combinedHashDataInt.txt").strip()

    signature = w3c_key.sign(data.hash_data)
    assert signature.hex() == read_text(employ / "sigHexDataInt.txt").strip()
    assert multibase.encode(signature) == read_text(employ / "sigBTC58DataInt.txt").strip()
    assert proof["proofValue"] == multibase.encode(signature)


def test_1edtech_key_from_seed():
    key = signing.private_key_from_seed(OB3_SEED)
    assert multibase.decode(signing.public_multikey(key))[2:].hex() == OB3_PUBLIC_HEX
    assert signing.public_multikey(key) == OB3_MULTIKEY


def test_1edtech_canonical_forms_and_signature():
    signed = read_json(OB3 / "signed-credential.json")
    unsecured, proof = split_proof(signed)
    data = signing.hash_input(unsecured, proof)
    assert data.canonical_document == read_text(OB3 / "document-canon.txt")
    assert data.canonical_proof_config == read_text(OB3 / "proof-canon.txt")

    key = signing.private_key_from_seed(OB3_SEED)
    ours = signing.sign(
        unsecured, key, proof["verificationMethod"], proof["created"], as_array=False
    )
    assert ours["proof"]["proofValue"] == proof["proofValue"]
    assert ours == signed

    resolver = signing.key_set_resolver({proof["verificationMethod"]: OB3_MULTIKEY})
    assert signing.verify(signed, resolver).valid


def test_1edtech_example_needs_proof_array_for_the_strict_schema():
    signed = read_json(OB3 / "signed-credential.json")
    errors = validate_schema(signed, raise_errors=False)
    assert any("proof" in error for error in errors)

    as_array = {**signed, "proof": [signed["proof"]]}
    assert validate_schema(as_array, raise_errors=False) == []
    # The proof is not part of what is signed, so the array form verifies too.
    resolver = signing.key_set_resolver({signed["proof"]["verificationMethod"]: OB3_MULTIKEY})
    assert signing.verify(as_array, resolver).valid


def test_pinned_context_digest_is_the_normative_one():
    data = (STANDARDS / "contexts" / "credentials-v2.jsonld").read_bytes()
    assert (
        hashlib.sha256(data).hexdigest()
        == "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734"
    )

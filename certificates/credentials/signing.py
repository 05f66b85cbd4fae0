"""Ed25519 keys and ``eddsa-rdfc-2022`` Data Integrity proofs (sign and verify)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from certificates.credentials import multibase
from certificates.credentials.checks import (
    FORMAT,
    ISSUER_KEY,
    N_,
    PROOF,
    Check,
    Message,
    VerificationResult,
    message,
)
from certificates.credentials.jsonld import (
    MULTIKEY_V1_URL,
    InvalidJsonLd,
    PinnedDocumentLoader,
    canonize,
    canonize_lossless,
    check_lossless,
    copy_json,
    default_loader,
)

logger = logging.getLogger(__name__)

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
ASSERTION_METHOD = "assertionMethod"

#: Given a verificationMethod URL, return the public key it names if it is trusted, else None.
KeyResolver = Callable[[str], Ed25519PublicKey | None]


class SigningError(ValueError):
    """A document cannot be signed as asked."""


# --- keys -----------------------------------------------------------------------------------


def generate_key() -> Ed25519PrivateKey:
    """Return a new random Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def private_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    """Return the Ed25519 private key of a 32-byte seed."""
    return Ed25519PrivateKey.from_private_bytes(seed)


def _raw_public(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_multikey(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """Return the Multikey ``publicKeyMultibase`` (``z6Mk...``) of a key."""
    return multibase.encode_multikey(multibase.ED25519_PUB_HEADER, _raw_public(key))


def public_key_from_multikey(text: str) -> Ed25519PublicKey:
    """Return the public key of a ``z6Mk...`` Multikey; raise ValueError if it is not one."""
    raw = multibase.decode_multikey(text, multibase.ED25519_PUB_HEADER)
    return Ed25519PublicKey.from_public_bytes(raw)


def private_multikey(key: Ed25519PrivateKey) -> str:
    """Return the Multikey ``secretKeyMultibase`` of a private key (its seed)."""
    seed = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return multibase.encode_multikey(multibase.ED25519_PRIV_HEADER, seed)


def private_key_from_multikey(text: str) -> Ed25519PrivateKey:
    """Return the private key of a ``secretKeyMultibase``; raise ValueError if it is not one."""
    return private_key_from_seed(multibase.decode_multikey(text, multibase.ED25519_PRIV_HEADER))


def verification_method_id(controller: str, key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """Return the verificationMethod URL of ``key`` under its controller (``<id>#z6Mk...``)."""
    return f"{controller}#{public_multikey(key)}"


MULTIKEY_CONTEXT = MULTIKEY_V1_URL


def multikey_document(controller: str, key: Ed25519PublicKey | Ed25519PrivateKey) -> dict[str, Any]:
    """Return the Multikey verification method a proof's ``verificationMethod`` names.

    For publishing (e.g. in the issuer profile); only the public key is included.
    """
    return {
        "@context": MULTIKEY_CONTEXT,
        "id": verification_method_id(controller, key),
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": public_multikey(key),
    }


def did_key_resolver(verification_method: str) -> Ed25519PublicKey | None:
    """Resolve a ``did:key:z6Mk...#z6Mk...`` method to the key the DID itself encodes."""
    did, _, fragment = verification_method.partition("#")
    if not did.startswith("did:key:"):
        return None
    encoded = did.removeprefix("did:key:")
    if fragment and fragment != encoded:
        return None
    try:
        return public_key_from_multikey(encoded)
    except ValueError:
        return None


def key_set_resolver(
    keys: Mapping[str, Ed25519PublicKey | str] | Iterable[tuple[str, Ed25519PublicKey | str]],
) -> KeyResolver:
    """Return a resolver that trusts exactly the given verificationMethod -> key pairs.

    Keys may be given as public keys or as ``z6Mk...`` Multikeys.
    """
    pairs = keys.items() if isinstance(keys, Mapping) else keys
    table = {
        method: public_key_from_multikey(key) if isinstance(key, str) else key
        for method, key in pairs
    }
    return table.get


# --- proofs ---------------------------------------------------------------------------------


def format_created(moment: datetime | str) -> str:
    """Return an XML Schema dateTimeStamp in UTC to the second, as proofs carry it."""
    if isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        raise SigningError("proof creation time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class HashInput:
    """The intermediate values of the cryptosuite, as the test vectors list them."""

    canonical_proof_config: str
    canonical_document: str

    @property
    def proof_config_hash(self) -> bytes:
        """Return sha256 of the canonical proof configuration."""
        return hashlib.sha256(self.canonical_proof_config.encode()).digest()

    @property
    def document_hash(self) -> bytes:
        """Return sha256 of the canonical document."""
        return hashlib.sha256(self.canonical_document.encode()).digest()

    @property
    def hash_data(self) -> bytes:
        """Return the signed bytes: the proof configuration hash, then the document hash."""
        return self.proof_config_hash + self.document_hash


def hash_input(
    unsecured: Mapping[str, Any],
    proof_options: Mapping[str, Any],
    loader: PinnedDocumentLoader | None = None,
) -> HashInput:
    """Canonicalise the proof configuration and the unsecured document (RDFC-1.0)."""
    config = {key: value for key, value in proof_options.items() if key != "proofValue"}
    config["@context"] = unsecured["@context"]
    return HashInput(
        canonical_proof_config=canonize(config, loader),
        canonical_document=canonize(unsecured, loader),
    )


def sign(
    document: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime | str,
    *,
    proof_purpose: str = ASSERTION_METHOD,
    loader: PinnedDocumentLoader | None = None,
    as_array: bool = True,
) -> dict[str, Any]:
    """Return ``document`` with an ``eddsa-rdfc-2022`` DataIntegrityProof added.

    The document must have no proof yet and must survive the lossless JSON-LD check,
    so that nothing it says is left unsigned. The proof is an array of one unless
    ``as_array`` is false (as in the W3C examples).
    """
    if "proof" in document:
        raise SigningError("the document already has a proof")
    loader = loader or default_loader
    try:
        # One expansion serves the lossless check and the canonical document.
        canonical_document = canonize_lossless(document, loader)
    except InvalidJsonLd as exc:
        raise SigningError(f"refusing to sign: {exc}") from exc
    proof = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": format_created(created),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    config = dict(proof, **{"@context": document["@context"]})
    data = HashInput(canonize(config, loader), canonical_document)
    signature = private_key.sign(data.hash_data)
    # Check the signature against the very bytes signed (a tenth of a millisecond), so
    # that what is issued is known to verify: the register records it as checked.
    try:
        private_key.public_key().verify(signature, data.hash_data)
    except InvalidSignature as exc:  # pragma: no cover - a fault of the signing library
        raise SigningError("the new signature does not verify") from exc
    proof["proofValue"] = multibase.encode(signature)
    signed = copy_json(dict(document))
    signed["proof"] = [proof] if as_array else proof
    logger.debug("signed %s with %s", document.get("id"), verification_method)
    return signed


def _single_proof(document: Mapping[str, Any]) -> tuple[dict[str, Any] | None, Message | None]:
    """Return the document's one proof, or None and why it is unusable."""
    proof = document.get("proof")
    if isinstance(proof, list):
        if len(proof) != 1:
            return None, message(N_("expected exactly one proof"))
        proof = proof[0]
    if not isinstance(proof, dict):
        return None, message(N_("the document has no proof"))
    expected = {"type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE, "proofPurpose": ASSERTION_METHOD}
    for key, value in expected.items():
        if proof.get(key) != value:
            return None, message(N_("proof %(key)s must be %(value)s"), key=key, value=repr(value))
    for key in ("verificationMethod", "proofValue"):
        if not isinstance(proof.get(key), str):
            return None, message(N_("proof has no %(key)s"), key=key)
    return proof, None


def verify(
    document: Any,
    resolve_key: KeyResolver,
    *,
    loader: PinnedDocumentLoader | None = None,
) -> VerificationResult:
    """Verify the ``eddsa-rdfc-2022`` proof of ``document``; report format, key and proof."""
    loader = loader or default_loader
    if not isinstance(document, dict):
        return VerificationResult(
            (
                Check.said(FORMAT, False, N_("not a JSON object")),
                Check.said(ISSUER_KEY, False, N_("not checked: no proof")),
                Check.said(PROOF, False, N_("not checked: no proof")),
            )
        )
    proof, problem = _single_proof(document)
    if problem is not None:
        format_check = Check(FORMAT, False, problem.english(), problem)
    else:
        try:
            check_lossless(document, loader)
        except InvalidJsonLd as exc:
            format_check = Check(
                FORMAT,
                False,
                str(exc),
                message(N_("the credential is not JSON-LD that the pinned contexts define")),
            )
        else:
            format_check = Check.said(
                FORMAT, True, N_("every property is defined by a pinned context")
            )
    if proof is None:
        return VerificationResult(
            (
                format_check,
                Check.said(ISSUER_KEY, False, N_("not checked: no usable proof")),
                Check.said(PROOF, False, N_("not checked: no usable proof")),
            )
        )

    method = proof["verificationMethod"]
    key = resolve_key(method)
    if key is None:
        key_check = Check.said(
            ISSUER_KEY, False, N_("%(method)s is not a known key of the issuer"), method=method
        )
        proof_check = Check.said(PROOF, False, N_("not checked: no trusted key"))
        return VerificationResult((format_check, key_check, proof_check))
    key_check = Check.said(
        ISSUER_KEY, True, N_("signed with the issuer's key %(method)s"), method=method
    )

    unsecured = {name: value for name, value in document.items() if name != "proof"}
    try:
        signature = multibase.decode(proof["proofValue"])
        key.verify(signature, hash_input(unsecured, proof, loader).hash_data)
    except InvalidSignature:
        proof_check = Check.said(PROOF, False, N_("the signature does not match the content"))
    except ValueError as exc:  # bad multibase, wrong length, or not JSON-LD
        proof_check = Check(
            PROOF,
            False,
            f"the proof cannot be checked: {exc}",
            message(N_("the proof cannot be checked: its value is malformed")),
        )
    else:
        proof_check = Check.said(PROOF, True, N_("the signature matches the content"))
    return VerificationResult((format_check, key_check, proof_check))

"""The issuer's identifiers (all derived from BASE_URL), its DID document, Profile and keys.

Every URL that appears inside a credential is built here, so that issuance,
the public pages and the verification code agree on them.

The issuer is a ``did:web`` DID derived from BASE_URL (``https://lms.example.org``
gives ``did:web:lms.example.org``); its DID document lists every key, current and
retired, as a ``Multikey`` verification method ``<did>#z6Mk...``, which is what
generic resolvers and the Digital Bazaar verifiers dereference. ``<BASE_URL>/issuer``
stays the Open Badges Profile for people and names the DID. Credentials issued
before the DID existed name ``<BASE_URL>/issuer`` as issuer and
``<BASE_URL>/issuer#z6Mk...`` as key; :func:`trusted_methods` still trusts those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, urlsplit

from flask import current_app

from certificates import keys
from certificates.credentials import signing
from certificates.credentials.jsonld import (
    CID_V1_URL,
    DID_V1_URL,
    MULTIKEY_V1_URL,
    OB_V3_URL,
    VC_V2_URL,
)
from certificates.credentials.openbadges import IssuerSnapshot, build_issuer

#: The contexts of the DID document: DID v1 first (verifiers recognise a DID document
#: by it and then read ``assertionMethod`` without JSON-LD framing), then Multikey v1,
#: the context the Digital Bazaar Multikey libraries require on a key.
DID_DOCUMENT_CONTEXT = [DID_V1_URL, MULTIKEY_V1_URL]
#: The issuer Profile's contexts: the Controlled Identifiers context defines the
#: ``verificationMethod``, ``assertionMethod`` and ``Multikey`` terms it carries.
PROFILE_CONTEXT = [VC_V2_URL, OB_V3_URL, CID_V1_URL]
#: The DID document's service type for the PDF signing certificate (see did_services).
PDF_CERTIFICATE_SERVICE_TYPE = "https://www.iana.org/assignments/media-types/application/pkix-cert"


def base_url() -> str:
    """Return the configured BASE_URL without a trailing slash."""
    return current_app.config["BASE_URL"].rstrip("/")


def did_web(url: str) -> str:
    """Return the ``did:web`` DID of a base URL, as the did:web method specifies.

    The host is lower case, a port is kept with its colon percent-encoded (``%3A``)
    and each path segment becomes a ``:``-separated, percent-encoded part:
    ``https://lms.example.org:8443/centre`` gives ``did:web:lms.example.org%3A8443:centre``.
    """
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host to derive a did:web from")
    host = parts.hostname
    if parts.port is not None:
        host = f"{host}%3A{parts.port}"
    segments = [quote(segment, safe="") for segment in parts.path.split("/") if segment]
    return ":".join(["did:web", host, *segments])


def did_document_path(url: str) -> str:
    """Return where a resolver fetches the DID document of ``url``, relative to it.

    ``/.well-known/did.json`` for a bare host, ``/did.json`` under a base URL with a
    path (``https://host/centre`` is resolved at ``https://host/centre/did.json``).
    """
    return "/did.json" if urlsplit(url).path.strip("/") else "/.well-known/did.json"


def issuer_did() -> str:
    """Return the issuer's DID: the ``did:web`` of BASE_URL."""
    return did_web(base_url())


def issuer_url() -> str:
    """Return the issuer Profile's address ``<BASE_URL>/issuer`` (the pre-DID issuer id)."""
    return f"{base_url()}/issuer"


def issuer_ids() -> frozenset[str]:
    """Return every id this centre issues credentials under; verification refuses others.

    That is the DID, and the Profile URL that credentials issued before the DID name.
    """
    return frozenset({issuer_did(), issuer_url()})


def verification_method_url(public_multikey: str) -> str:
    """Return the verificationMethod of a key: ``<did>#<multikey>``."""
    return f"{issuer_did()}#{public_multikey}"


def legacy_verification_method_url(public_multikey: str) -> str:
    """Return the verificationMethod credentials named before the DID: ``<issuer>#<key>``."""
    return f"{issuer_url()}#{public_multikey}"


def achievement_url(scheme_code: str) -> str:
    """Return the Achievement id of a scheme: ``<BASE_URL>/achievements/<code>``."""
    return f"{base_url()}/achievements/{scheme_code}"


def status_list_url(list_id: int) -> str:
    """Return the status list credential id: ``<BASE_URL>/status-lists/<id>``."""
    return f"{base_url()}/status-lists/{list_id}"


def credential_url(code: str) -> str:
    """Return the credential id: ``<BASE_URL>/credentials/<code>.json``."""
    return f"{base_url()}/credentials/{code}.json"


def verify_url(code: str) -> str:
    """Return the public verification page of a code (printed as the QR code)."""
    return f"{base_url()}/verify/{code}"


def trusted_methods(public_multikeys: Iterable[str]) -> dict[str, str]:
    """Return verificationMethod -> Multikey for these keys, under the DID and the old id.

    Each key is trusted as ``<did>#<key>`` and, for credentials and status lists
    signed before the DID, as ``<BASE_URL>/issuer#<key>``.
    """
    table = {}
    for multikey in public_multikeys:
        table[verification_method_url(multikey)] = multikey
        table[legacy_verification_method_url(multikey)] = multikey
    return table


def key_resolver() -> signing.KeyResolver:
    """Return a resolver trusting every SigningKey, current and retired, of this issuer."""
    return signing.key_set_resolver(trusted_methods(row.public_multikey for row in keys.all_keys()))


def current_signing_key() -> keys.CurrentKey:
    """Return the current signing key (created on first use) with its verification method."""
    return keys.current_key()


def issuer_snapshot() -> IssuerSnapshot:
    """Return the issuer as new credentials embed it: the DID, the centre's name and site."""
    return IssuerSnapshot(id=issuer_did(), name=current_app.config["CENTRE_NAME"], url=base_url())


def _methods(controller: str, method_id: Callable[[str], str]) -> list[dict[str, Any]]:
    """Return every key, current and retired, as a Multikey controlled by ``controller``."""
    return [
        {
            "id": method_id(row.public_multikey),
            "type": "Multikey",
            "controller": controller,
            "publicKeyMultibase": row.public_multikey,
        }
        for row in keys.all_keys()
    ]


def did_services() -> list[dict[str, Any]]:
    """Return the DID document's ``service`` entries: other endpoints of the issuer.

    The one entry is the X.509 certificate that signs the centre's PDFs, so a verifier
    who starts from the DID finds what to check a PDF signature against. An entry's
    ``type`` must be a term its contexts define or an absolute IRI, since the document
    must stay lossless under them: no registered service type names a signing
    certificate, so the type is the IRI of the X.509 certificate media type.
    """
    return [
        {
            "id": f"{issuer_did()}#pdf-signing-certificate",
            "type": PDF_CERTIFICATE_SERVICE_TYPE,
            "serviceEndpoint": pdf_certificate_url(),
        }
    ]


def pdf_certificate_url() -> str:
    """Return where the certificate that signs the centre's PDFs is published."""
    return f"{issuer_url()}/pdf-certificate.pem"


def did_document() -> dict[str, Any]:
    """Return the issuer's DID document, served at ``/.well-known/did.json``.

    Every key, current and retired, is a ``Multikey`` verification method named
    ``<did>#<multikey>`` and listed under ``assertionMethod`` (the purpose our proofs
    state), so credentials signed before a rotation still verify anywhere. The
    Profile at ``/issuer`` is the same issuer (``alsoKnownAs``); ``service`` lists
    :func:`did_services`.
    """
    did = issuer_did()
    methods = _methods(did, verification_method_url)
    return {
        "@context": list(DID_DOCUMENT_CONTEXT),
        "id": did,
        "alsoKnownAs": [issuer_url()],
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
        "service": did_services(),
    }


def issuer_profile() -> dict[str, Any]:
    """Return the Open Badges issuer Profile served at ``/issuer``.

    It names the DID as an ``otherIdentifier`` and keeps publishing every key under
    its own id (``<BASE_URL>/issuer#<multikey>``), the form credentials issued before
    the DID name, so a saved copy still verifies them offline.
    """
    profile = build_issuer(
        IssuerSnapshot(id=issuer_url(), name=current_app.config["CENTRE_NAME"], url=base_url())
    )
    methods = _methods(profile["id"], legacy_verification_method_url)
    return {
        "@context": list(PROFILE_CONTEXT),
        **profile,
        "otherIdentifier": [
            {"type": "IdentifierEntry", "identifier": issuer_did(), "identifierType": "identifier"}
        ],
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }

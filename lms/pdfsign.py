"""PAdES signatures on the PDFs the centre issues, and checking them.

A certificate or transcript PDF is signed once its content is final (for a
certificate: after the credential is attached), so the signature covers the page
as printed and everything in the file. Anyone can then tell whether the file is
the one the centre produced: a PDF tool that saves it again, an edit of the page
or an added incremental update leaves a signature that no longer covers the whole
file, or none at all.

The signing identity is an ECDSA P-256 key with a self-signed X.509 certificate
for the centre, generated on first use into ``<instance>/pdf-signing/identity.pem``
(key and certificate in one file, mode 0600), or read from a PKCS#12 file named
by ``LMS_PDF_SIGNING_P12`` (password in ``LMS_PDF_SIGNING_P12_PASSWORD``). The
certificate is published so that verifiers can trust exactly this signer.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID
from flask import current_app

from lms.i18n import N_

with warnings.catch_warnings():
    # pyHanko imports cryptography's DSA module, which warns on import; we never use DSA.
    warnings.filterwarnings("ignore", "DSA is deprecated", CryptographyDeprecationWarning)
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import attributes, fields, signers
    from pyhanko.sign.general import as_signing_certificate_v2
    from pyhanko.sign.signers.pdf_cms import SignedAttributeProviderSpec
    from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

logger = logging.getLogger(__name__)

#: Config keys, from ``LMS_PDF_SIGNING_P12`` and ``LMS_PDF_SIGNING_P12_PASSWORD``.
P12_CONFIG_KEY = "PDF_SIGNING_P12"
P12_PASSWORD_CONFIG_KEY = "PDF_SIGNING_P12_PASSWORD"  # noqa: S105 - a config key's name
IDENTITY_FILE = "identity.pem"
FIELD_NAME = "CentreSignature"
#: Room for the CMS signature: an ECDSA signature with a certificate or two fits easily.
#: Giving it saves pyHanko a trial signature to measure the size.
SIGNATURE_BYTES = 8192
CERTIFICATE_YEARS = 30
_COMMON_NAME_MAX = 64


class PdfSigningError(RuntimeError):
    """The PDF signing identity cannot be loaded or created; the message says why."""


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _to_asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(_der(certificate))


class _SigningCertificateV2(attributes.CMSAttributeProvider):
    """Provide the PAdES signing-certificate-v2 attribute, built once for a certificate.

    The attribute (the certificate's hash and issuer) is the same in every signature
    by this certificate; pyHanko builds it afresh for each one, and that asn1crypto
    work was three quarters of the cost of signing a certificate PDF.
    """

    attribute_type = "signing_certificate_v2"

    def __init__(self, certificate: asn1_x509.Certificate) -> None:
        # Loaded back from DER, the value is serialised once and never again.
        self._value = tsp.SigningCertificateV2.load(as_signing_certificate_v2(certificate).dump())

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        return self._value


class _PadesAttributes(SignedAttributeProviderSpec):
    """The signed attributes of a PAdES signature without a timestamp: pyHanko adds the
    content type and message digest, this adds signing-certificate-v2."""

    def __init__(self, certificate: asn1_x509.Certificate) -> None:
        self._signing_certificate = _SigningCertificateV2(certificate)

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str):
        yield self._signing_certificate


class SigningIdentity:
    """A loaded key and certificate, with the pyHanko signer built once for many PDFs."""

    def __init__(
        self,
        key: PrivateKeyTypes,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
        *,
        reason: str = "",
        field_name: str = FIELD_NAME,
    ) -> None:
        self.certificate = certificate
        self.chain = tuple(chain)
        signing_cert = _to_asn1(certificate)
        signing_key = asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        signer = signers.SimpleSigner(
            signing_cert=signing_cert,
            signing_key=signing_key,
            # The signer embeds its own certificate; the registry adds only the chain.
            cert_registry=SimpleCertificateStore.from_certs(
                [_to_asn1(extra) for extra in self.chain]
            ),
        )
        signer.signed_attr_prov_spec = _PadesAttributes(signing_cert)
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name,
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason=reason or None,
        )
        self._pdf_signer = signers.PdfSigner(metadata, signer=signer)

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        """Return the signing certificate and any chain given with it: what verifiers trust."""
        return (self.certificate, *self.chain)

    def certificate_pem(self) -> bytes:
        """Return :attr:`certificates` as PEM, as published for verifiers."""
        return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in self.certificates)

    def sign(self, pdf: bytes) -> bytes:
        """Return ``pdf`` with a PAdES signature appended as an incremental update."""
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        return self._pdf_signer.sign_pdf(writer, bytes_reserved=SIGNATURE_BYTES).getvalue()


def new_certificate(
    key: ec.EllipticCurvePrivateKey, centre_name: str, now: dt.datetime | None = None
) -> x509.Certificate:
    """Return a self-signed certificate for signing the centre's PDFs with ``key``."""
    now = now or dt.datetime.now(dt.UTC)
    # X.509 caps a common name at 64 bytes of UTF-8.
    encoded = (centre_name.strip() or "Training centre").encode()[:_COMMON_NAME_MAX]
    centre = encoded.decode("utf-8", "ignore").strip()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, centre)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365 * CERTIFICATE_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _write_new(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` (mode 0600) unless it exists; return whether it was written.

    The bytes go to a temporary file in the same folder, are synced, then linked into
    place, which fails if another process got there first: the path never holds half
    a file, and two processes starting together end up with the same identity.
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".identity-")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return True
    finally:
        os.unlink(temporary)


def _load_pem_identity(path: Path, reason: str) -> SigningIdentity:
    data = path.read_bytes()
    try:
        key = serialization.load_pem_private_key(data, password=None)
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise PdfSigningError(f"{path} does not hold a key and a certificate") from exc
    return SigningIdentity(key, certificate, reason=reason)


def _instance_identity(folder: Path, centre_name: str, reason: str) -> SigningIdentity:
    """Return the identity in ``folder``, generating it on first use."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / IDENTITY_FILE
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ) + new_certificate(key, centre_name).public_bytes(serialization.Encoding.PEM)
        if _write_new(path, pem):
            logger.info("created the PDF signing key and certificate in %s", path)
    return _load_pem_identity(path, reason)


def load_pkcs12(path: str | Path, password: str | None, reason: str = "") -> SigningIdentity:
    """Return the identity in a PKCS#12 file; raise PdfSigningError if it holds none."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PdfSigningError(f"the PDF signing PKCS#12 file {path} cannot be read") from exc
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(
            data, password.encode() if password else None
        )
    except ValueError as exc:
        raise PdfSigningError(
            f"{path} is not a PKCS#12 file, or {P12_PASSWORD_CONFIG_KEY} is wrong"
        ) from exc
    if key is None or certificate is None:
        raise PdfSigningError(f"{path} holds no private key with its certificate")
    return SigningIdentity(key, certificate, chain or (), reason=reason)


_identities: dict[tuple[str, str], SigningIdentity] = {}
_identities_lock = threading.Lock()


def current_identity() -> SigningIdentity:
    """Return this application's signing identity, loaded once per process."""
    config = current_app.config
    p12 = config.get(P12_CONFIG_KEY) or ""
    cache_key = (current_app.instance_path, str(p12))
    with _identities_lock:
        found = _identities.get(cache_key)
        if found is None:
            centre = str(config.get("CENTRE_NAME") or "")
            reason = f"Issued by {centre}" if centre else ""
            if p12:
                found = load_pkcs12(p12, config.get(P12_PASSWORD_CONFIG_KEY), reason)
            else:
                folder = Path(current_app.instance_path) / "pdf-signing"
                found = _instance_identity(folder, centre, reason)
            _identities[cache_key] = found
    return found


def sign_pdf(pdf: bytes, identity: SigningIdentity | None = None) -> bytes:
    """Return ``pdf`` signed by ``identity`` (by default, this application's)."""
    return (identity or current_identity()).sign(pdf)


# --- checking a signature -------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureCheck:
    """What a PDF's signature says about the file.

    ``sound`` means one signature, cryptographically intact, covering every byte of
    the file. ``signer_trusted`` is None when no trusted certificate was given, so the
    signer could be anyone.
    """

    signed: bool
    intact: bool = False
    whole_file: bool = False
    signer_trusted: bool | None = None
    signer: str = ""
    #: What is wrong, as a msgid with ``%(name)s`` placeholders filled from ``problem_params``.
    problem_message: str = ""
    problem_params: Mapping[str, object] = field(default_factory=dict, compare=False)

    @property
    def problem(self) -> str:
        """Return what is wrong, in English ("" when nothing is)."""
        return self.problem_message % dict(self.problem_params)

    @property
    def sound(self) -> bool:
        return self.signed and self.intact and self.whole_file

    @property
    def passed(self) -> bool:
        return self.sound and self.signer_trusted is True


def certificates_from_pem(data: bytes) -> list[x509.Certificate]:
    """Return the certificates in PEM text; raise ValueError if there are none."""
    certificates = x509.load_pem_x509_certificates(data)
    if not certificates:
        raise ValueError("no certificate in the PEM text")
    return certificates


def check_signature(
    pdf: bytes, trusted: Sequence[x509.Certificate] | None = None
) -> SignatureCheck:
    """Check the PDF's signature; ``trusted`` are the certificates a signer may have.

    Never raises: a file that cannot be read as a signed PDF gives a check saying why.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a damaged file warns while it is read
            reader = PdfFileReader(io.BytesIO(pdf), strict=False)
            signatures = reader.embedded_signatures
    except Exception as exc:
        # Uploaded bytes can break the parser in any way; all of them mean "unsigned".
        logger.info("PDF signature unreadable: %s", exc)
        return SignatureCheck(False, problem_message=N_("the PDF's signature cannot be read"))
    if not signatures:
        return SignatureCheck(
            False,
            problem_message=N_(
                "the PDF carries no signature: it was removed, or the file was"
                " saved again by another program"
            ),
        )
    if len(signatures) > 1:
        return SignatureCheck(
            True,
            problem_message=N_("the PDF carries %(count)s signatures; an issued file has one"),
            problem_params={"count": len(signatures)},
        )
    signature = signatures[0]
    try:
        signer_der = signature.signer_cert.dump()
    except Exception as exc:
        # A malformed signature container breaks parsing in many ways; all mean "broken".
        logger.info("PDF signature unreadable: %s", exc)
        return SignatureCheck(True, problem_message=N_("the PDF's signature is damaged"))
    known = [cert for cert in trusted or () if _der(cert) == signer_der]
    # The trust anchors are the given certificates when the signer is one of them. Any
    # other signer is untrusted whatever it chains to; it is then taken as its own
    # anchor only so that pyHanko reports whether the bytes are intact.
    roots = [_to_asn1(cert) for cert in trusted or ()] if known else [signature.signer_cert]
    context = ValidationContext(
        trust_roots=roots, allow_fetching=False, moment=signature.self_reported_timestamp
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            status = validate_pdf_signature(signature, context, skip_diff=True)
    except Exception as exc:
        logger.info("PDF signature invalid: %s", exc)
        return SignatureCheck(True, problem_message=N_("the PDF's signature is damaged"))
    subject = status.signing_cert.subject
    signer = subject.native.get("common_name") or subject.human_friendly
    intact = bool(status.intact and status.valid)
    whole_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    signer_trusted = None if trusted is None else bool(known and status.trusted)
    problem = ""
    if not intact:
        problem = N_("the signature does not match the file: its signed bytes were changed")
    elif not whole_file:
        problem = N_(
            "the signature does not cover the whole file: something was added after signing"
        )
    elif signer_trusted is False:
        problem = N_("the PDF was signed by %(signer)s, not by the centre's certificate")
    return SignatureCheck(
        True, intact, whole_file, signer_trusted, signer, problem, {"signer": signer}
    )

"""PDF signing: the centre's identity, PAdES signatures, and what checking them finds."""

from __future__ import annotations

import hashlib
import io
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen.canvas import Canvas

from lms import create_app, pdfsign
from tests.pdf_tools import needs_pdfsig, pdfsig


def page(text: str = "Maria Ivanova") -> bytes:
    """Return a one-page PDF saying ``text``."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(100, 700, text)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def identity(name: str = "Test Centre", **options) -> pdfsign.SigningIdentity:
    key = ec.generate_private_key(ec.SECP256R1())
    return pdfsign.SigningIdentity(key, pdfsign.new_certificate(key, name), **options)


@pytest.fixture(scope="module")
def centre() -> pdfsign.SigningIdentity:
    return identity()


@pytest.fixture(scope="module")
def original() -> bytes:
    return page()


@pytest.fixture(scope="module")
def signed(centre, original) -> bytes:
    return centre.sign(original)


def test_a_signed_pdf_passes_against_the_centres_certificate(centre, original, signed):
    check = pdfsign.check_signature(signed, centre.certificates)
    assert check.passed
    assert check.sound
    assert (check.intact, check.whole_file, check.signer_trusted) == (True, True, True)
    assert check.signer == "Test Centre"
    assert signed.startswith(original)  # an incremental update: the page is untouched
    assert PdfReader(io.BytesIO(signed)).pages[0].extract_text().strip() == "Maria Ivanova"


def test_without_a_trusted_certificate_the_signer_is_not_judged(signed):
    check = pdfsign.check_signature(signed)
    assert check.sound
    assert not check.passed
    assert check.signer_trusted is None


def test_another_signer_is_not_trusted(centre, signed):
    stranger = identity("Test Centre")  # the same name, another key
    check = pdfsign.check_signature(stranger.sign(page()), centre.certificates)
    assert check.sound
    assert check.signer_trusted is False
    assert not check.passed
    assert "not by the centre's certificate" in check.problem
    assert pdfsign.check_signature(signed, stranger.certificates).signer_trusted is False


def test_an_unsigned_pdf_has_no_signature(centre):
    check = pdfsign.check_signature(page(), centre.certificates)
    assert not check.signed
    assert not check.passed
    assert "no signature" in check.problem


def test_an_update_after_the_signature_is_not_covered(centre, signed):
    writer = PdfWriter(io.BytesIO(signed), incremental=True)
    writer.add_metadata({"/Title": "changed"})
    buffer = io.BytesIO()
    writer.write(buffer)
    check = pdfsign.check_signature(buffer.getvalue(), centre.certificates)
    assert check.intact
    assert not check.whole_file
    assert not check.passed
    assert "does not cover the whole file" in check.problem


def test_changed_signed_bytes_break_the_signature(centre, signed):
    changed = signed.replace(b"ReportLab", b"ReportLaB", 1)  # a byte inside the signed range
    assert changed != signed
    check = pdfsign.check_signature(changed, centre.certificates)
    assert not check.intact
    assert not check.passed
    assert "does not match the file" in check.problem


@pytest.mark.parametrize("data", [b"", b"%PDF-1.4\n", b"not a pdf at all", b"%PDF-1.7\n" * 999])
def test_unreadable_bytes_never_raise(centre, data):
    check = pdfsign.check_signature(data, centre.certificates)
    assert not check.passed
    assert check.problem


def test_a_second_signature_is_refused(centre, signed):
    second = identity(field_name="Second").sign(signed)
    check = pdfsign.check_signature(second, centre.certificates)
    assert not check.passed
    assert "2 signatures" in check.problem


@needs_pdfsig
def test_pdfsig_finds_the_whole_document_signed(tmp_path, signed):
    output = pdfsig(signed, tmp_path)
    assert "Signature Validation: Signature is Valid." in output
    assert "Total document signed" in output
    assert "ETSI.CAdES.detached" in output  # PAdES


def test_the_certificate_is_a_self_signed_p256_certificate(centre):
    certificate = centre.certificate
    assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
    assert certificate.public_key().curve.name == "secp256r1"
    assert certificate.issuer == certificate.subject
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.content_commitment
    assert not usage.key_cert_sign
    assert pdfsign.certificates_from_pem(centre.certificate_pem()) == [certificate]


def test_a_long_centre_name_is_shortened_for_the_certificate():
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = pdfsign.new_certificate(key, "Център " * 30)
    (name,) = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    assert name.value.startswith("Център Център")
    assert 60 <= len(name.value.encode()) <= 64


# --- the application's identity -------------------------------------------------------------


def make_app(tmp_path, **config):
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "test-secret-key-" * 4,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            **config,
        }
    )


def test_generated_on_first_use_into_the_instance_folder_private(tmp_path):
    with make_app(tmp_path).app_context():
        first = pdfsign.current_identity()
        assert pdfsign.current_identity() is first  # loaded once per process
    path = tmp_path / "pdf-signing" / pdfsign.IDENTITY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert b"PRIVATE KEY" in path.read_bytes()
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    # Another process (here: a fresh cache) reads the same identity back.
    pdfsign._identities.clear()
    with make_app(tmp_path).app_context():
        again = pdfsign.current_identity()
        assert again is not first
        assert again.certificate == first.certificate
        signed = pdfsign.sign_pdf(page())
    assert pdfsign.check_signature(signed, first.certificates).passed


def test_an_existing_identity_file_is_never_replaced(tmp_path):
    path = tmp_path / "identity.pem"
    path.write_bytes(b"first")
    assert pdfsign._write_new(path, b"second") is False
    assert path.read_bytes() == b"first"
    assert list(tmp_path.iterdir()) == [path]


def p12_file(tmp_path, password: bytes) -> tuple[str, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = pdfsign.new_certificate(key, "Centre from PKCS#12")
    path = tmp_path / "centre.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"centre", key, certificate, None, BestAvailableEncryption(password)
        )
    )
    return str(path), certificate


def test_a_pkcs12_file_from_the_configuration(tmp_path):
    path, certificate = p12_file(tmp_path, b"s3cret")
    app = make_app(tmp_path, PDF_SIGNING_P12=path, PDF_SIGNING_P12_PASSWORD="s3cret")
    with app.app_context():
        signed = pdfsign.sign_pdf(page())
        assert pdfsign.current_identity().certificate == certificate
    assert pdfsign.check_signature(signed, [certificate]).passed
    assert not (tmp_path / "pdf-signing").exists()  # nothing generated


def test_a_pkcs12_file_from_the_environment(tmp_path, monkeypatch):
    path, certificate = p12_file(tmp_path, b"env-pass")
    monkeypatch.setenv("LMS_PDF_SIGNING_P12", path)
    monkeypatch.setenv("LMS_PDF_SIGNING_P12_PASSWORD", "env-pass")
    with make_app(tmp_path).app_context():
        assert pdfsign.current_identity().certificate == certificate


@pytest.mark.parametrize(
    ("password", "message"), [("wrong", "is wrong"), (None, "is wrong")], ids=["wrong", "missing"]
)
def test_a_wrong_pkcs12_password_says_so(tmp_path, password, message):
    path, _certificate = p12_file(tmp_path, b"right")
    app = make_app(tmp_path, PDF_SIGNING_P12=path, PDF_SIGNING_P12_PASSWORD=password)
    with app.app_context(), pytest.raises(pdfsign.PdfSigningError, match=message):
        pdfsign.current_identity()


def test_a_missing_pkcs12_file_says_so(tmp_path):
    app = make_app(tmp_path, PDF_SIGNING_P12=str(tmp_path / "absent.p12"))
    with app.app_context(), pytest.raises(pdfsign.PdfSigningError, match="cannot be read"):
        pdfsign.current_identity()


def test_the_signature_names_its_certificate_as_pades_requires(centre, signed):
    from pyhanko.pdf_utils.reader import PdfFileReader

    (signature,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    info = signature.signed_data["signer_infos"][0]
    attributes = {item["type"].native: item["values"][0] for item in info["signed_attrs"]}
    assert set(attributes) == {"content_type", "message_digest", "signing_certificate_v2"}
    (cert_id,) = attributes["signing_certificate_v2"]["certs"]
    der = centre.certificate.public_bytes(serialization.Encoding.DER)
    assert cert_id["cert_hash"].native == hashlib.sha256(der).digest()
    assert len(signature.signed_data["certificates"]) == 1  # the signer's, once

"""The PDF's own signature: a genuine credential in a changed file is never called valid.

Each forgery here is real: the page of the changed file shows the forged name
(checked by extracting its text) while the genuine credential stays attached.
"""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfgen.canvas import Canvas

from certificates import operations as ops
from certificates.pdf import embed_credential
from certificates.verify import service
from certificates.verify.cli import verify_command
from lms import pdfsign
from tests.certificates.verify.test_pages import check_states, upload, verdict
from tests.pdf_tools import linearize, needs_pdfsig, needs_qpdf, pdfsig

FORGED = "Forged Person"


def overlay() -> PdfReader:
    """Return a page that whites out the holder's name and prints another."""
    width, height = landscape(A4)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height))
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(60, height - 215, width - 120, 52, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setFont("Helvetica-Bold", 30)
    canvas.drawCentredString(width / 2, height - 200, FORGED)
    canvas.showPage()
    canvas.save()
    return PdfReader(io.BytesIO(buffer.getvalue()))


def paint_over(pdf: bytes, *, incremental: bool) -> bytes:
    """Paint another name over the holder's, as an incremental update or a full rewrite."""
    writer = (
        PdfWriter(io.BytesIO(pdf), incremental=True)
        if incremental
        else PdfWriter(clone_from=io.BytesIO(pdf))
    )
    writer.pages[0].merge_page(overlay().pages[0])
    buffer = io.BytesIO()
    writer.write(buffer)
    painted = buffer.getvalue()
    assert FORGED in PdfReader(io.BytesIO(painted)).pages[0].extract_text()
    return painted


def strip_signature(pdf: bytes) -> bytes:
    """Remove the signature field and its widget, keeping page and credential."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    del writer.root_object["/AcroForm"]
    page = writer.pages[0]
    if "/Annots" in page:
        del page[NameObject("/Annots")]
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def add_update(pdf: bytes) -> bytes:
    """Append an innocent-looking incremental update (new metadata) after the signature."""
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    writer.add_metadata({"/Title": "Certificate"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def resign(pdf: bytes) -> bytes:
    """Sign the file again with someone else's certificate bearing the centre's name."""
    key = ec.generate_private_key(ec.SECP256R1())
    stranger = pdfsign.SigningIdentity(key, pdfsign.new_certificate(key, "Skills4Cities"))
    return stranger.sign(strip_signature(pdf))


@pytest.fixture
def saved(tmp_path, client, status_list_row):
    """Save the issuer's documents a holder downloads for offline checks."""
    pem = tmp_path / "pdf-certificate.pem"
    pem.write_bytes(client.get("/issuer/pdf-certificate.pem").data)
    listed = tmp_path / "status-list.json"
    listed.write_bytes(client.get(f"/status-lists/{status_list_row.id}").data)
    return {"pem": str(pem), "list": str(listed)}


@pytest.fixture
def cli(tmp_path, issued, saved):
    """Verify bytes offline: ``cli(data)`` or ``cli(data, pdf_certificate=False)``."""
    key = issued.credential["proof"][0]["verificationMethod"].partition("#")[2]

    def run(data: bytes, *, pdf_certificate: bool = True):
        path = tmp_path / "upload.pdf"
        path.write_bytes(data)
        args = [str(path), "--issuer-key", key, "--status-list", saved["list"]]
        if pdf_certificate:
            args += ["--pdf-certificate", saved["pem"]]
        return CliRunner().invoke(verify_command, args)

    return run


def holder_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("   HOLDER:")]


def assert_changed_file_offline(result, issued) -> None:
    assert result.exit_code == 1, result.output
    assert "FAIL  pdf_signature:" in result.output
    assert holder_lines(result.output) == [f"   HOLDER:        {issued.certificate.user.name}"]
    last = result.output.splitlines()[-1]
    assert last.startswith("result: NOT VALID (changed file): the credential is genuine;")
    assert repr(issued.certificate.user.name) in last
    assert FORGED not in result.output
    assert "result: VALID" not in result.output


def assert_changed_file_online(report: service.Report, issued) -> None:
    assert not report.valid
    assert report.status == service.CHANGED_FILE
    assert set(report.failed) == {service.ISSUED_FILE, service.PDF_SIGNATURE}
    assert report.credential["holder"] == issued.certificate.user.name


# --- genuine -------------------------------------------------------------------------------


@needs_pdfsig
def test_an_issued_certificate_pdf_is_signed_over_the_whole_document(db, world, trainee, tmp_path):
    certificate = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    output = pdfsig(certificate.pdf, tmp_path)
    assert "Signature Validation: Signature is Valid." in output
    assert "Total document signed" in output
    check = pdfsign.check_signature(certificate.pdf, pdfsign.current_identity().certificates)
    assert check.passed


def test_the_genuine_file_is_valid_online_and_offline(issued, cli):
    report = service.verify_upload(issued.pdf)
    assert report.valid
    assert report.status == service.ACTIVE
    assert report.get(service.PDF_SIGNATURE).passed
    result = cli(issued.pdf)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "result: VALID"


def test_offline_without_the_pdf_certificate_the_signer_is_unchecked(issued, cli):
    result = cli(issued.pdf, pdf_certificate=False)
    assert result.exit_code == 1
    assert "FAIL  pdf_signature: the signature is intact and covers the whole file" in (
        result.output
    )
    assert "result: NOT CONFIRMED (PDF signer not checked)" in result.output
    assert "--pdf-certificate" in result.output.splitlines()[-1]
    assert holder_lines(result.output) == [f"   HOLDER:        {issued.certificate.user.name}"]


# --- saved again by a PDF tool ---------------------------------------------------------------


@needs_qpdf
def test_a_linearised_copy_is_a_genuine_credential_in_a_changed_file(client, issued, cli, tmp_path):
    copy = linearize(issued.pdf, tmp_path)
    assert copy != issued.pdf
    assert_changed_file_online(service.verify_upload(copy), issued)
    response = upload(client, copy)
    assert verdict(response) == "changed_file"
    page = response.get_data(as_text=True)
    assert 'class="alert alert-warning' in page
    assert "alert-danger" not in page
    assert "this file was changed after issue" in page
    assert "Compare them with the printed page, or check by code" in page
    assert check_states(response)[service.PROOF] == "yes"  # the credential's own signature
    body = client.post("/api/v1/verify", data=copy, content_type="application/pdf").get_json()
    assert (body["valid"], body["status"]) == (False, "changed_file")
    assert body["credential"]["holder"] == issued.certificate.user.name
    assert_changed_file_offline(cli(copy), issued)


@needs_qpdf
def test_the_amber_verdict_in_bulgarian(client, issued, tmp_path):
    copy = linearize(issued.pdf, tmp_path)
    response = client.post_form(
        "/verify",
        {"file": (io.BytesIO(copy), "certificate.pdf")},
        content_type="multipart/form-data",
        headers={"Accept-Language": "bg"},
    )
    page = response.get_data(as_text=True)
    assert "Истинско удостоверение, променен файл" in page
    assert "този файл е променен след издаването" in page  # noqa: RUF001
    assert "Подпис на PDF файла" in page


# --- a painted-over name ---------------------------------------------------------------------


@pytest.mark.parametrize("incremental", [True, False], ids=["incremental-update", "rewrite"])
def test_a_painted_over_name_is_never_valid(issued, cli, incremental):
    painted = paint_over(issued.pdf, incremental=incremental)
    report = service.verify_upload(painted)
    assert_changed_file_online(report, issued)
    assert FORGED not in json.dumps(report.as_dict())
    assert_changed_file_offline(cli(painted), issued)


def test_a_painted_over_name_signed_again_by_someone_else(issued, cli):
    forged = resign(paint_over(issued.pdf, incremental=False))
    check = pdfsign.check_signature(forged)
    assert check.sound  # intact over the whole file, by the wrong signer
    assert_changed_file_online(service.verify_upload(forged), issued)
    result = cli(forged)
    assert_changed_file_offline(result, issued)
    assert "not by the centre's certificate" in result.output, result.output
    # Without the centre's certificate nothing says who signed: never VALID either.
    unchecked = cli(forged, pdf_certificate=False)
    assert unchecked.exit_code == 1
    assert "NOT CONFIRMED" in unchecked.output
    assert "result: VALID" not in unchecked.output


# --- a stripped signature, an update after it ------------------------------------------------


def test_a_stripped_signature_is_not_valid(issued, cli):
    stripped = strip_signature(issued.pdf)
    assert pdfsign.check_signature(stripped).signed is False
    report = service.verify_upload(stripped)
    assert_changed_file_online(report, issued)
    assert "no signature" in report.get(service.PDF_SIGNATURE).detail
    assert_changed_file_offline(cli(stripped), issued)


def test_the_unsigned_revision_before_the_signature_is_not_valid(issued, cli, make_certificate):
    unsigned = embed_credential(issued.rendered, issued.credential_bytes)
    assert issued.pdf.startswith(unsigned)
    assert_changed_file_online(service.verify_upload(unsigned), issued)
    assert_changed_file_offline(cli(unsigned), issued)


def test_an_update_after_the_signature_is_not_valid(issued, cli):
    updated = add_update(issued.pdf)
    report = service.verify_upload(updated)
    assert_changed_file_online(report, issued)
    assert "does not cover the whole file" in report.get(service.PDF_SIGNATURE).detail
    result = cli(updated)
    assert_changed_file_offline(result, issued)
    assert "does not cover the whole file" in result.output


def test_a_revoked_certificate_in_a_changed_file_is_revoked(issued, set_status, tmp_path):
    set_status(issued, "revoked", "Exam taken by another person")
    report = service.verify_upload(add_update(issued.pdf))
    assert report.status == service.REVOKED
    assert not report.valid


# --- the published certificate ---------------------------------------------------------------


def test_the_pdf_certificate_is_published_for_anyone(client, db, issued):
    response = client.get("/issuer/pdf-certificate.pem")
    assert response.status_code == 200
    assert response.mimetype == "application/x-pem-file"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    (certificate,) = pdfsign.certificates_from_pem(response.data)
    signer = pdfsign.check_signature(issued.pdf, [certificate])
    assert signer.passed
    link = client.get("/issuer").headers["Link"]
    assert link.startswith("<http://localhost/issuer/pdf-certificate.pem>;")
    assert "/issuer/pdf-certificate.pem" in client.get("/verify").get_data(as_text=True)


def test_a_file_issued_before_pdfs_were_signed_is_still_the_file_issued(issued, db):
    unsigned = embed_credential(issued.rendered, issued.credential_bytes)
    issued.certificate.pdf = unsigned
    issued.certificate.pdf_sha256 = hashlib.sha256(unsigned).hexdigest()
    db.session.flush()
    report = service.verify_upload(unsigned)
    assert report.valid
    assert report.status == service.ACTIVE
    assert "issued before PDFs were signed" in report.get(service.PDF_SIGNATURE).detail

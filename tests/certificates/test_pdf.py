"""The certificate PDF, parsed back: page, text, fonts, QR code and the embedded credential."""

import dataclasses
import datetime as dt
import io
import json
import random

import pypdfium2
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import BooleanObject, ContentStream, DictionaryObject, NameObject

from certificates.pdf import (
    CREDENTIAL_FILENAME,
    CertificatePDF,
    CertificateSnapshot,
    CompetencyLine,
    InvalidPDF,
    _append_credential,
    _embed_with_pypdf,
    embed_credential,
    extract_credential,
)

CODE = "7Q2M-K9XD-4HTR-PZ1A-X8"
CREDENTIAL = json.dumps(
    {"type": ["VerifiableCredential", "OpenBadgeCredential"], "name": "Мария Иванова"},
    ensure_ascii=False,
).encode()


def snapshot(**changes) -> CertificateSnapshot:
    values = {
        "code": CODE,
        "base_url": "https://lms.example.org/",
        "holder_name": "Мария Иванова-Петрова",
        "scheme_code": "SC-PM",
        "scheme_title_bg": "Мениджър на проекти за умни градове",
        "scheme_title_en": "Smart City Project Manager",
        "issued_on": dt.date(2025, 6, 1),
        "valid_until": dt.date(2028, 6, 1),
        "eqf_level": 6,
        "workload_hours": 120,
        "competencies": (
            CompetencyLine("E.2", "Управление на проекти / Project management", "3"),
            CompetencyLine("A.1", "IS and business strategy alignment", "2"),
        ),
        "signatory_name": "проф. Елена Димитрова",
        "signatory_title": "Ръководител / Head of Certification",
    }
    values.update(changes)
    return CertificateSnapshot(**values)


def render(**changes) -> bytes:
    return CertificatePDF(snapshot(**changes)).render()


def reader(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def text(data: bytes) -> str:
    return " ".join(reader(data).pages[0].extract_text().split())


def fonts(data: bytes) -> dict[str, bool]:
    """Map each font's base name to whether its program is embedded."""
    found = {}
    for font in reader(data).pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        descriptor = None
        if "/DescendantFonts" in font:
            descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
        descriptor = descriptor or font.get("/FontDescriptor")
        embedded = bool(descriptor) and "/FontFile2" in descriptor.get_object()
        found[str(font["/BaseFont"])] = embedded
    return found


@pytest.fixture(scope="module")
def certificate() -> bytes:
    return render()


def test_one_a4_landscape_page(certificate):
    pages = reader(certificate).pages

    assert len(pages) == 1
    box = pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx((841.89, 595.28), abs=0.01)


def test_shows_every_field_in_both_languages(certificate):
    shown = text(certificate)

    for expected in [
        "СЕРТИФИКАТ",
        "CERTIFICATE",
        "Мария Иванова-Петрова",
        "Мениджър на проекти за умни градове",
        "Smart City Project Manager",
        "SC-PM",
        "01.06.2025",
        "01.06.2028",
        "EQF level: 6",
        "Workload: 120",
        "E.2 Управление на проекти / Project management",
        "A.1 IS and business strategy alignment",
        CODE,
        f"https://lms.example.org/verify/{CODE}",
        "проф. Елена Димитрова",
        "Head of Certification",
        "Skills4Cities",
    ]:
        assert expected in shown


def test_no_expiry_eqf_or_workload_when_the_scheme_has_none():
    shown = text(render(valid_until=None, eqf_level=None, workload_hours=None))

    assert "no expiry" in shown
    assert "EQF" not in shown
    assert "Workload" not in shown


def test_workload_keeps_fractions():
    assert "Workload: 37.5" in text(render(workload_hours=37.5))


def test_every_font_is_an_embedded_dejavu_subset(certificate):
    found = fonts(certificate)

    assert found
    assert all(embedded for embedded in found.values())
    assert {name.split("+", 1)[1] for name in found} == {"DejaVuSans", "DejaVuSans-Bold"}


def test_same_snapshot_same_bytes_and_dated_by_issue(certificate):
    assert render() == certificate
    assert reader(certificate).metadata["/CreationDate"] == "D:20250601000000+00'00'"
    assert render(issued_on=dt.date(2025, 6, 2)) != certificate


def test_qr_code_encodes_the_verification_url(certificate):
    document = pypdfium2.PdfDocument(certificate)
    image = document[0].render(scale=200 / 72).to_pil()
    document.close()

    results = zxingcpp.read_barcodes(image)

    assert [result.text for result in results] == [f"https://lms.example.org/verify/{CODE}"]


def test_many_competencies_end_with_how_many_more():
    items = tuple(CompetencyLine(f"C.{n}", f"Competency {n}", "2") for n in range(40))
    shown = text(render(competencies=items))

    assert "C.0 Competency 0" in shown
    hidden = [n for n in range(40) if f"C.{n} Competency {n} " not in shown + " "]
    assert hidden
    assert f"+{len(hidden)} more" in shown
    assert hidden == list(range(40 - len(hidden), 40))


def test_few_competencies_all_shown_without_more():
    items = tuple(CompetencyLine(f"C.{n}", f"Competency {n}", "2") for n in range(5))
    shown = text(render(competencies=items))

    assert all(f"C.{n} Competency {n}" in shown for n in range(5))
    assert "more" not in shown


def test_long_competency_titles_are_cut_not_overflowing():
    items = (CompetencyLine("E.2", "Very long title " * 30, "level 3"),)
    shown = text(render(competencies=items))

    assert "E.2 Very long title" in shown
    assert "…" in shown
    assert "level 3" in shown


@pytest.mark.parametrize(
    "name",
    [
        "Мария Иванова-Петрова",
        "Ελένη Παπαδοπούλου",
        "José Ñúñez Çelik",
        '<img src="http://127.0.0.1:1/x"/>',
        '<font color="red">Ivan</font>',
        'Tom & Jerry < O\'Brien "Junior"',
        "&",
        "<",
        "Анна-Мария Константинова-Христова Димитрова-Попова",
        " ".join(["Константинова"] * 21)[:300],
        "Ivan\x00\x07 Petrov",
    ],
)
def test_holder_name_printed_literally(name):
    shown = text(render(holder_name=name))
    expected = " ".join(name.replace("\x00", "").replace("\x07", "").split())

    assert expected in shown


def test_three_hundred_characters_wrap_without_loss():
    name = " ".join(["Константинова"] * 30)[:300]
    fitted_text = text(render(holder_name=name))

    assert name in fitted_text
    assert len(name) == 300


@pytest.mark.parametrize(
    "name",
    [
        "שלום כהן",
        "محمد عبد الله",
        "Ivan 😀 Petrov 🎓",
        "A\u0303n\u0303a",
        "漢字 名前",
        "\u202eevil",
    ],
)
def test_any_script_renders_without_error(name):
    data = render(holder_name=name, scheme_title_en=name, signatory_name=name)

    assert len(reader(data).pages) == 1


def page_operations(data: bytes) -> list:
    document = reader(data)
    return ContentStream(document.pages[0].get_contents(), document).operations


def test_primary_colour_from_the_scheme_is_used():
    operations = page_operations(render(primary_colour="#ff0000"))

    assert ([1, 0, 0], b"RG") in operations


@pytest.mark.parametrize("bad", ["red", "#ff00", "#gg0000", "#ff0000;evil", ""])
def test_invalid_colour_falls_back_to_the_default(bad):
    operations = page_operations(render(primary_colour=bad))

    assert ([1, 0, 0], b"RG") not in operations
    assert any(op == b"RG" for _, op in operations)


def image_bytes(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 80), "navy").save(buffer, format=kind)
    return buffer.getvalue()


def images(data: bytes) -> list:
    return list(reader(data).pages[0]["/Resources"].get("/XObject", {}).values())


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_logo_is_drawn(kind):
    assert len(images(render(logo=image_bytes(kind)))) == 1


@pytest.mark.parametrize("logo", [b"GIF89a...", b"\x89PNG\r\n\x1a\nbroken", b""])
def test_bad_logo_is_left_out(logo):
    data = render(logo=logo)

    assert images(data) == []
    assert "Мария Иванова-Петрова" in text(data)


def test_snapshot_verify_url_joins_base_and_code():
    assert snapshot(base_url="https://x.org").verify_url == f"https://x.org/verify/{CODE}"
    assert snapshot(base_url="https://x.org/").verify_url == f"https://x.org/verify/{CODE}"


# The embedded credential ----------------------------------------------------------------


EMBEDDERS = [
    pytest.param(embed_credential, id="appended"),
    pytest.param(_embed_with_pypdf, id="pypdf"),
]


@pytest.mark.parametrize("embed", EMBEDDERS)
def test_credential_round_trips_byte_for_byte(certificate, embed):
    signed = embed(certificate, CREDENTIAL)

    assert extract_credential(signed) == CREDENTIAL


@pytest.mark.parametrize("embed", EMBEDDERS)
def test_attachment_is_json_and_associated_with_the_document(certificate, embed):
    document = PdfReader(io.BytesIO(embed(certificate, CREDENTIAL)), strict=True)
    filespec = document.trailer["/Root"]["/AF"][0].get_object()
    stream = filespec["/EF"]["/F"].get_object()

    assert filespec["/F"] == CREDENTIAL_FILENAME
    assert filespec["/UF"] == CREDENTIAL_FILENAME
    assert filespec["/AFRelationship"] == "/Data"
    assert stream["/Subtype"] == "/application/json"
    assert stream["/Params"]["/Size"] == len(CREDENTIAL)
    assert list(document.attachments) == [CREDENTIAL_FILENAME]
    assert document.trailer["/Info"]["/Title"].startswith("Certificate")


@pytest.mark.parametrize("embed", EMBEDDERS)
def test_pdfium_reads_the_attachment_too(certificate, embed):
    document = pypdfium2.PdfDocument(embed(certificate, CREDENTIAL))
    try:
        assert len(document) == 1
        assert document.count_attachments() == 1
        attachment = document.get_attachment(0)
        assert attachment.get_name() == CREDENTIAL_FILENAME
        assert bytes(attachment.get_data()) == CREDENTIAL
    finally:
        document.close()


def test_a_certificate_takes_the_fast_path_and_others_pypdf(certificate):
    assert _append_credential(certificate, CREDENTIAL) is not None
    writer = PdfWriter(clone_from=reader(certificate))
    writer.root_object[NameObject("/ViewerPreferences")] = DictionaryObject(
        {NameObject("/DisplayDocTitle"): BooleanObject(True)}
    )
    buffer = io.BytesIO()
    writer.write(buffer)
    other = buffer.getvalue()

    assert _append_credential(other, CREDENTIAL) is None
    assert extract_credential(embed_credential(other, CREDENTIAL)) == CREDENTIAL


def test_embedding_keeps_the_page_and_is_deterministic(certificate):
    signed = embed_credential(certificate, CREDENTIAL)

    assert signed.startswith(certificate)  # an incremental update: the page is untouched
    assert text(signed) == text(certificate)
    assert len(reader(signed).pages) == 1
    assert embed_credential(certificate, CREDENTIAL) == signed


def test_a_pdf_without_credential_gives_none(certificate):
    assert extract_credential(certificate) is None


def test_embedding_twice_is_refused(certificate):
    signed = embed_credential(certificate, CREDENTIAL)

    with pytest.raises(InvalidPDF, match="already"):
        embed_credential(signed, b"{}")


def test_two_credentials_are_ambiguous(certificate):
    writer = PdfWriter(clone_from=reader(certificate))
    writer.add_attachment(CREDENTIAL_FILENAME, b"{}")
    writer.add_attachment(CREDENTIAL_FILENAME, b'{"x": 1}')
    buffer = io.BytesIO()
    writer.write(buffer)

    with pytest.raises(InvalidPDF, match="more than one"):
        extract_credential(buffer.getvalue())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a PDF"),
        (b'{"type": "VerifiableCredential"}', "not a PDF"),
        (b"\x89PNG\r\n\x1a\n", "not a PDF"),
        ("%PDF-1.4 text", "not a PDF"),
        (b"%PDF-1.4\ngarbage\n%%EOF\n", "cannot be read"),
        (b"%PDF-1.7\n" + b"\x00" * 2000 + b"\n%%EOF", "cannot be read"),
    ],
)
def test_non_pdf_input_raises_invalid_pdf(data, message):
    with pytest.raises(InvalidPDF, match=message):
        extract_credential(data)


def test_truncated_pdf_raises_invalid_pdf(certificate):
    signed = embed_credential(certificate, CREDENTIAL)

    for cut in (len(signed) // 3, len(signed) - 10):
        with pytest.raises(InvalidPDF, match="incomplete"):
            extract_credential(signed[:cut])


def test_damaged_pdfs_give_the_credential_none_or_invalid_pdf(certificate):
    signed = embed_credential(certificate, CREDENTIAL)
    rng = random.Random(4)
    for _ in range(60):
        damaged = bytearray(signed)
        for _ in range(rng.randint(1, 20)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        try:
            found = extract_credential(bytes(damaged))
        except InvalidPDF:
            continue
        assert found is None or isinstance(found, bytes)


def test_cut_back_to_the_rendered_revision_has_no_credential(certificate):
    signed = embed_credential(certificate, CREDENTIAL)

    assert extract_credential(signed[: len(certificate)]) is None


def test_snapshot_is_plain_frozen_data():
    frozen = snapshot()

    with pytest.raises(dataclasses.FrozenInstanceError):
        frozen.holder_name = "x"

# ruff: noqa: RUF001 (Bulgarian text is Cyrillic on purpose)
"""What each check found, refusals and upload errors, in the reader's language.

The pages say it all in Bulgarian for a Bulgarian reader, dates as the locale writes
them; the JSON API keeps the English sentences and ISO dates for machines.
"""

from __future__ import annotations

import html
import io
import re

import pytest

from certificates.verify import service
from tests.certificates.verify.test_hostile import hostile_bytes, refuse_json_ld
from tests.certificates.verify.test_pages import _check_lines, check_states, verdict

BG = {"Accept-Language": "bg"}


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _upload(client, data: bytes, filename: str, headers=None):
    return client.post_form(
        "/verify",
        {"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        headers=headers or {},
    )


def _english_details(body: dict) -> list[str]:
    """Return the English sentences the JSON API gives for a verification."""
    details = [check["detail"] for check in body.get("checks", [])]
    return [detail for detail in [*details, body.get("detail", "")] if detail]


def _assert_no_english(page: str, details: list[str]) -> None:
    assert details
    for detail in details:
        assert detail not in page, detail
    for line in _check_lines(page).values():
        assert 'lang="en"' not in line


def _detail_of(page: str, name: str) -> str:
    line = _check_lines(page)[name]
    return " ".join(re.sub(r"<[^>]+>", " ", line).split())


def test_a_valid_certificate_says_every_detail_in_bulgarian(client, issued):
    english = _english_details(client.get(f"/api/v1/verify/{issued.code}").get_json())
    response = client.get(f"/verify/{issued.code}", headers=BG)
    page = _page(response)
    assert verdict(response) == "active"
    _assert_no_english(page, english)
    assert "всяко свойство е определено от фиксиран контекст" in _detail_of(page, "format")
    assert "подписано с ключа на издателя did:web:" in _detail_of(page, "issuer_key")
    assert "подписът съответства на съдържанието" in _detail_of(page, "proof")
    assert "в сила: нито е спряно, нито е отменено" in _detail_of(page, "status")
    validity = _detail_of(page, "validity")
    assert validity.startswith("Успешна Срок на валидност")
    assert "валидно от " in validity
    # A date a person reads, to the minute: no ISO timestamp, no seconds.
    valid_from = issued.credential["validFrom"]
    assert valid_from not in page
    moment = r"\d{1,2}\.\d{1,2}\.\d{4} г\., \d{1,2}:\d{2}(?!:)"  # date and time, no seconds
    assert re.search("валидно от " + moment, validity), validity


def test_english_readers_keep_the_english_details(client, issued):
    page = _page(client.get(f"/verify/{issued.code}", headers={"Accept-Language": "en"}))
    assert "every property is defined by a pinned context" in _detail_of(page, "format")
    assert "the signature matches the content" in _detail_of(page, "proof")
    assert "Технически" not in page


def test_a_revoked_certificate_says_why_in_bulgarian(client, issued, set_status):
    set_status(issued, "revoked", reason="Измама при изпита")
    english = _english_details(client.get(f"/api/v1/verify/{issued.code}").get_json())
    response = client.get(f"/verify/{issued.code}", headers=BG)
    page = _page(response)
    assert verdict(response) == "revoked"
    _assert_no_english(page, english)
    assert "удостоверението е отменено: Измама при изпита" in _detail_of(page, "status")


def test_a_changed_pdf_says_what_changed_in_bulgarian(client, issued):
    edited = issued.pdf.replace(b"/Producer", b"/Producex", 1)
    english = _english_details(
        client.post("/api/v1/verify", data=edited, content_type="application/pdf").get_json()
    )
    response = _upload(client, edited, "certificate.pdf", BG)
    page = _page(response)
    assert verdict(response) == "changed_file"
    assert check_states(response)[service.PDF_SIGNATURE] == "no"
    _assert_no_english(page, english)
    assert "файлът се различава от PDF файла, издаден с този код" in _detail_of(
        page, service.ISSUED_FILE
    )
    assert "подпис" in _detail_of(page, service.PDF_SIGNATURE)


def test_the_issued_pdf_names_its_signature_in_bulgarian(client, issued):
    english = _english_details(
        client.post("/api/v1/verify", data=issued.pdf, content_type="application/pdf").get_json()
    )
    response = _upload(client, issued.pdf, "certificate.pdf", BG)
    page = _page(response)
    assert verdict(response) == "active"
    _assert_no_english(page, english)
    assert "подписано от центъра (" in _detail_of(page, service.PDF_SIGNATURE)
    assert "файлът е точно PDF файлът, издаден с този код" in _detail_of(page, service.ISSUED_FILE)


@pytest.mark.parametrize(
    ("case", "bulgarian"),
    [
        ("another issuer", "Удостоверението не е издадено от този център (издателят му е"),
        ("a moved proof", "Удостоверението не е оформено като издаваните от този център:"),
        ("300 results", "съдържа повече елементи от което и да е удостоверение"),
    ],
)
def test_a_hostile_upload_is_refused_in_bulgarian(client, issued, monkeypatch, case, bulgarian):
    refuse_json_ld(monkeypatch)
    data = hostile_bytes(case, issued.credential)
    body = client.post("/api/v1/verify", data=data, content_type="application/json").get_json()
    response = _upload(client, data, "credential.json", BG)
    assert response.status_code == 400
    page = _page(response)
    _assert_no_english(page, _english_details(body))
    assert "JSON файлът не може да бъде проверен: Удостоверението не е" in page
    assert bulgarian in page


@pytest.mark.parametrize(
    ("data", "bulgarian"),
    [
        (b"just some text", "Файлът не може да бъде проверен: Файлът не е нито PDF"),
        (b'{"a": 1}', "JSON файлът не може да бъде проверен: JSON файлът не е проверимо"),
        (b"%PDF-1.4\n1 0 obj", "PDF файлът не може да бъде проверен: PDF файлът е непълен"),
    ],
)
def test_unreadable_uploads_are_explained_in_bulgarian(client, db, data, bulgarian):
    body = client.post("/api/v1/verify", data=data, content_type="application/pdf").get_json()
    response = _upload(client, data, "upload.bin", BG)
    assert response.status_code == 400
    page = _page(response)
    _assert_no_english(page, _english_details(body))
    assert bulgarian in page

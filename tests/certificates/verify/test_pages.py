"""Public verification pages: code, QR link, upload, errors, revocation, rate limit."""

from __future__ import annotations

import html
import io
import re

import pytest

from certificates import operations as ops
from certificates.verify import service
from courses.gradebook.models import CourseCompletion
from tests.certificates.conftest import release_exam

UNKNOWN = "7K3QD-0ZB9M-XT2RA-H5W8C"


def verdict(response) -> str:
    match = re.search(r'id="verdict" data-status="([a-z_]+)"', response.get_data(as_text=True))
    assert match, "no verdict on the page"
    return match.group(1)


def check_states(response) -> dict[str, str]:
    return dict(
        re.findall(
            r'data-check="([a-z_]+)" data-passed="(yes|no)"', response.get_data(as_text=True)
        )
    )


def upload(client, data: bytes, filename: str = "certificate.pdf"):
    return client.post_form(
        "/verify",
        {"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def test_form_is_public(client):
    response = client.get("/verify")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="code"' in page
    assert 'type="file"' in page
    assert 'enctype="multipart/form-data"' in page


def test_code_form_redirects_to_the_canonical_report(client, issued):
    typed = issued.code.lower().replace("-", " ")
    response = client.get("/verify", query_string={"code": typed})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/verify/{issued.code}"


def test_empty_code_form_explains(client):
    response = client.get("/verify", query_string={"code": ""})
    assert response.status_code == 400
    assert "This field is required" in response.get_data(as_text=True)


def test_qr_link_shows_every_check_passing(client, issued):
    response = client.get(f"/verify/{issued.code}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert verdict(response) == "active"
    assert set(check_states(response).values()) == {"yes"}
    page = response.get_data(as_text=True)
    # The name as printed, escaped; never the e-mail.
    assert "Иван Петров &lt;b&gt;&amp;&lt;/b&gt; &#34;Ivo&#34;" in page
    assert "<b>&</b>" not in page
    assert issued.certificate.user.email not in page
    assert "Smart City Project Manager" in page
    assert "E.2: Project and Portfolio Management" in page


def test_unknown_and_malformed_codes_look_the_same(client, issued):
    unknown = client.get(f"/verify/{UNKNOWN}")
    malformed = client.get("/verify/not-a-code!")
    assert unknown.status_code == malformed.status_code == 404
    assert verdict(unknown) == verdict(malformed) == "not_found"

    def body(response):
        return response.get_data(as_text=True).replace(UNKNOWN, "").replace("not-a-code!", "")

    assert body(unknown) == body(malformed)


def test_uploaded_pdf_is_verified(client, issued):
    response = upload(client, issued.pdf)
    assert response.status_code == 200
    assert verdict(response) == "active"
    states = check_states(response)
    assert states[service.ISSUED_FILE] == "yes"
    assert set(states.values()) == {"yes"}
    assert "certificate.pdf" in response.get_data(as_text=True)


def test_uploaded_json_is_verified(client, issued):
    response = upload(client, issued.credential_bytes, "credential.json")
    assert verdict(response) == "active"
    assert service.ISSUED_FILE not in check_states(response)


def test_after_revocation_code_link_and_pdf_all_say_revoked(client, issued, set_status):
    set_status(issued, "revoked", "Certificate obtained with a borrowed identity")
    for response in (
        client.get(f"/verify/{issued.code}"),
        client.get("/verify", query_string={"code": issued.code}, follow_redirects=True),
        upload(client, issued.pdf),
    ):
        assert response.status_code == 200
        assert verdict(response) == "revoked"
        page = response.get_data(as_text=True)
        assert "Certificate obtained with a borrowed identity" in page
        assert check_states(response)["status"] == "no"


def test_suspended_and_expired_verdicts(client, issued, set_status, make_certificate):
    from datetime import timedelta

    from lms.db import utcnow

    set_status(issued, "suspended")
    assert verdict(client.get(f"/verify/{issued.code}")) == "suspended"
    now = utcnow()
    old = make_certificate(valid_from=now - timedelta(days=900), valid_until=now - timedelta(1))
    response = client.get(f"/verify/{old.code}")
    assert verdict(response) == "expired"
    assert check_states(response)["validity"] == "no"


def test_an_edited_pdf_is_a_genuine_credential_in_a_changed_file(client, issued):
    edited = issued.pdf.replace(b"/Producer", b"/Producex", 1)
    assert edited != issued.pdf
    response = upload(client, edited)
    assert verdict(response) == "changed_file"
    assert check_states(response)[service.ISSUED_FILE] == "no"
    assert check_states(response)[service.PDF_SIGNATURE] == "no"
    page = response.get_data(as_text=True)
    assert "differs from the PDF the centre issued" in page
    assert 'class="alert alert-warning' in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"just some text", "neither a PDF nor a credential"),
        (b'{"a": 1}', "not a verifiable credential"),
        (b"%PDF-1.4\n1 0 obj", "The PDF is incomplete"),
    ],
)
def test_bad_uploads_get_a_clear_error(client, db, data, message):
    response = upload(client, data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert 'role="alert"' in page


def test_missing_file_is_refused(client):
    response = client.post_form("/verify", {}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Choose a PDF or JSON file" in response.get_data(as_text=True)


def test_upload_without_csrf_token_is_refused(client, issued):
    response = client.post(
        "/verify",
        data={"file": (io.BytesIO(issued.pdf), "c.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400


@pytest.mark.parametrize("size", [120 * 1024, 200 * 1024])
def test_upload_size_is_capped(client, app, size):
    # Below the declared length's margin the body is read up to the cap; beyond, it is not read.
    app.config["VERIFY_MAX_UPLOAD"] = 100 * 1024
    try:
        response = upload(client, b"%PDF-1.7\n" + b"0" * size)
    finally:
        del app.config["VERIFY_MAX_UPLOAD"]
    assert response.status_code == 413
    assert "larger than 100 KB" in response.get_data(as_text=True)


def test_pages_are_rate_limited_per_address_with_a_friendly_page(client, app):
    app.config["VERIFY_RATE_LIMIT"] = "3 per minute"
    try:
        statuses = [client.get(f"/verify/{UNKNOWN}").status_code for _ in range(3)]
        refused = client.get("/verify")
        other_address = client.get("/verify", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    finally:
        del app.config["VERIFY_RATE_LIMIT"]
    assert statuses == [404, 404, 404]
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    assert "Please wait a minute" in refused.get_data(as_text=True)
    assert other_address.status_code == 200


def test_report_page_in_bulgarian(client, issued):
    with client.session_transaction() as session:
        session["locale"] = "bg"
    response = client.get(f"/verify/{issued.code}")
    assert response.status_code == 200
    assert 'lang="bg"' in response.get_data(as_text=True)


def test_a_malformed_typed_code_is_not_found_like_an_unknown_one(client, db):
    malformed = client.get("/verify", query_string={"code": "a/b <c>"})
    unknown = client.get("/verify", query_string={"code": UNKNOWN}, follow_redirects=True)
    assert malformed.status_code == unknown.status_code == 404
    assert verdict(malformed) == verdict(unknown) == "not_found"


def _text(fragment: str) -> str:
    """Return the visible words of an HTML fragment, without what is marked as English."""
    fragment = re.sub(r'<[^>]* lang="en"[^>]*>.*?</[a-z]+>', " ", fragment, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _is_bulgarian(text: str) -> bool:
    """Whether ``text`` is Bulgarian words (the standard's name and identifiers such as
    a key's DID URL may stay as they are)."""
    text = re.sub(r"did:\S+|https?://\S+", " ", text.replace("Open Badges", ""))
    return bool(re.search("[\u0400-\u04ff]", text)) and not re.search("[A-Za-z]", text)


def _check_lines(page: str) -> dict[str, str]:
    return dict(re.findall(r'<li [^>]*data-check="([a-z_]+)"[^>]*>(.*?)</li>', page, re.S))


def _verdict_text(page: str) -> str:
    return _text(re.search(r'id="verdict"[^>]*>(.*?</p>)\s*</div>', page, re.S).group(1))


def _certification(page: str) -> str:
    return re.search(r'<dd [^>]*id="certification">(.*?)</dd>', page, re.S).group(1)


@pytest.mark.parametrize("how", ["accept-language", "language switch"])
def test_every_check_and_the_verdict_speak_bulgarian(client, issued, how):
    if how == "accept-language":
        response = client.get(f"/verify/{issued.code}", headers={"Accept-Language": "bg"})
    else:
        client.post_form("/language", {"language": "bg", "next": f"/verify/{issued.code}"})
        response = client.get(f"/verify/{issued.code}", headers={"Accept-Language": "en"})
    page = response.get_data(as_text=True)
    assert verdict(response) == "active"
    assert _is_bulgarian(_verdict_text(page)), _verdict_text(page)
    lines = _check_lines(page)
    assert set(lines) == set(check_states(response))
    assert len(lines) >= 5
    for name, line in lines.items():
        assert _is_bulgarian(_text(line)), (name, _text(line))
        # The technical detail is in Bulgarian too: nothing is marked as English.
        assert 'lang="en"' not in line, name
    # The scheme's Bulgarian title, with the title the credential states in English.
    certification = _certification(page)
    assert _text(certification) == "Мениджър (SC-PM)"
    assert '<div class="small text-muted" lang="en">Smart City Project Manager</div>' in (
        certification
    )


def test_failed_checks_speak_bulgarian_too(client, issued, set_status):
    set_status(issued, "revoked", reason="Измама при изпита")
    response = client.get(f"/verify/{issued.code}", headers={"Accept-Language": "bg"})
    page = response.get_data(as_text=True)
    assert verdict(response) == "revoked"
    assert check_states(response)["status"] == "no"
    assert _is_bulgarian(_verdict_text(page))
    assert "Измама при изпита" in _verdict_text(page)
    for name, line in _check_lines(page).items():
        assert _is_bulgarian(_text(line)), (name, _text(line))


def test_english_readers_see_the_title_the_credential_states(client, db, issued, scheme):
    scheme.title_en = "Renamed since issue"
    db.session.flush()
    page = client.get(f"/verify/{issued.code}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert _text(_certification(page)) == "Smart City Project Manager (SC-PM)"
    assert 'lang="en">Smart City' not in page


def test_a_scheme_without_a_bulgarian_title_keeps_the_stated_one(client, db, issued, scheme):
    scheme.title_bg = ""
    db.session.flush()
    page = client.get(f"/verify/{issued.code}", headers={"Accept-Language": "bg"}).get_data(
        as_text=True
    )
    assert _text(_certification(page)) == "Smart City Project Manager (SC-PM)"


def test_results_of_a_scheme_are_named_in_the_readers_language(client, db, world, make_user):
    trainee = make_user(name="Петър Петров")
    db.session.add(
        CourseCompletion(user_id=trainee.id, course_id=world.course.id, completed=True, grade=80)
    )
    release_exam(db, trainee, world.exam, 90)
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    db.session.commit()

    def results(language: str) -> list[str]:
        page = client.get(f"/verify/{cert.code}", headers={"Accept-Language": language})
        items = re.findall(
            r'<li class="list-group-item px-0">(.*?)</li>', page.get_data(as_text=True), re.S
        )
        return [" ".join(item.split()) for item in items]

    course, exam = world.course, world.exam
    bulgarian = results("bg")
    assert [item.split(": <strong>")[0] for item in bulgarian] == [
        f"{course.code}: {course.title_bg}",
        exam.title_bg,
    ]
    assert [item.split("<strong>")[1].split("<")[0] for item in bulgarian] == ["80", "90"]
    assert results("en")[0].startswith(f'<span lang="en">{course.code}: {course.title_en}</span>')
    assert results("en")[1].startswith(f'<span lang="en">{exam.title_en}</span>')

"""Scheme pages for admins: fields, alignments, requirements and design, with bad input refused."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from PIL import Image

from certificates.achievements import achievement_json
from certificates.models import Scheme, SchemeRequirement

ESCO = "http://data.europa.eu/esco/skill/7111b95d-0ce3-441a-9d92-4c75d05c4388"
VALID = {
    "code": "s4c-test",
    "title_en": "Smart-City Tester",
    "title_bg": "Тестер на интелигентни градове",
    "programme": "0",
    "validity_months": "36",
    "renewal_rule": "exam",
    "eqf_level": "6",
    "workload_hours": "120",
    "participation_form": "blended",
    "esco_uris": ESCO.upper().replace(
        "HTTP://DATA.EUROPA.EU/ESCO/SKILL/", "http://data.europa.eu/esco/skill/"
    ),
    "ecf_codes": "e.2 A.4",
    "active": "y",
}


def _count(db, model=Scheme):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_create_scheme(client, db, login_as, make_user):
    login_as(make_user(roles=["admin"]))
    response = client.post_form("/admin/schemes/new", VALID)
    assert response.status_code == 302, response.get_data(as_text=True)
    scheme = db.session.scalar(sa.select(Scheme))
    assert scheme.code == "S4C-TEST"
    assert scheme.eqf_level == 6
    assert scheme.esco_uris == ESCO
    assert scheme.ecf_codes == "E.2 A.4"
    assert scheme.title_bg == "Тестер на интелигентни градове"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("esco_uris", "http://example.org/skill/1", "Not ESCO skill URIs"),
        ("ecf_codes", "E.2 Z.9", "Not e-CF competence codes"),
        ("eqf_level", "9", "between 1 and 8"),
        ("title_en", "", "This field is required"),
        ("title_en", "x" * 201, "longer than 200"),
        ("code", "bad code!", "Use only letters"),
        ("validity_months", "0", "between 1 and 600"),
    ],
)
def test_bad_scheme_input_changes_nothing(client, db, login_as, make_user, field, value, message):
    login_as(make_user(roles=["admin"]))
    response = client.post_form("/admin/schemes/new", {**VALID, field: value})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(db) == 0


def test_duplicate_code_is_refused(client, db, login_as, world):
    login_as(world.admin)
    response = client.post_form("/admin/schemes/new", {**VALID, "code": world.scheme.code})
    assert "exists already" in response.get_data(as_text=True)


def test_edit_keeps_code(client, db, login_as, world):
    login_as(world.admin)
    response = client.post_form(
        f"/admin/schemes/{world.scheme.code}/edit", {**VALID, "code": "CHANGED", "title_en": "New"}
    )
    assert response.status_code == 302
    db.session.refresh(world.scheme)
    assert world.scheme.title_en == "New"
    assert world.scheme.code != "CHANGED"


def test_requirements_editor(client, db, login_as, world, make_course_with_exam):
    login_as(world.admin)
    course, exam = make_course_with_exam()
    before = _count(db, SchemeRequirement)
    url = f"/admin/schemes/{world.scheme.code}/requirements"
    # Bad: exam without a minimum, a course required twice, a grade over 100.
    for data, message in [
        ({"kind": "exam", "assessment": exam.id}, "minimum percentage"),
        ({"kind": "course", "course": world.course.id}, "already requires this course"),
        ({"kind": "course", "course": course.id, "min_grade": "150"}, "between 0 and 100"),
        ({"kind": "course", "course": "0"}, "Choose the course"),
    ]:
        page = client.post_form(url, data).get_data(as_text=True)
        assert message in page, message
    assert _count(db, SchemeRequirement) == before
    assert (
        client.post_form(
            url, {"kind": "course", "course": course.id, "min_grade": "65"}
        ).status_code
        == 302
    )
    assert _count(db, SchemeRequirement) == before + 1
    page = client.get(url).get_data(as_text=True)
    assert course.code in page
    assert "Open Badges achievement" in page


def test_achievement_from_scheme(db, world):
    achievement = achievement_json(world.scheme)
    assert achievement["id"] == f"http://localhost/achievements/{world.scheme.code}"
    assert achievement["humanCode"] == world.scheme.code
    targets = {a["targetUrl"] for a in achievement["alignment"]}
    assert "http://data.europa.eu/esco/skill/1dd23dba-dd00-45ab-abf4-642902538317" in targets
    assert any(a.get("targetCode") == "E.2" for a in achievement["alignment"])
    assert len(achievement["resultDescription"]) == 2


def _image(kind: str, size=(40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, kind)
    return buffer.getvalue()


def _design(client, world, **data):
    payload = {"colour": "#112233", "signatory_name": "N. Stoyanov", "signatory_title": "Head"}
    payload.update(data)
    return client.post_form(
        f"/admin/schemes/{world.scheme.code}/design",
        payload,
        content_type="multipart/form-data",
    )


def test_design_with_logo(client, db, login_as, world):
    login_as(world.admin)
    logo = _image("PNG")
    response = _design(client, world, logo=(io.BytesIO(logo), "logo.png"))
    assert response.status_code == 302
    db.session.refresh(world.scheme)
    assert world.scheme.design_logo == logo
    assert world.scheme.design_colour == "#112233"
    assert client.get(f"/admin/schemes/{world.scheme.code}/logo").data == logo


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"colour": "blue"}, "#RRGGBB"),
        ({"colour": "#12345g"}, "#RRGGBB"),
        ({"logo": (io.BytesIO(b"GIF89a" + b"0" * 50), "logo.png")}, "PNG or JPEG"),
        ({"logo": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 50), "logo.png")}, "damaged"),
        ({"signatory_name": "x" * 201}, "longer than 200"),
    ],
)
def test_bad_design_changes_nothing(client, db, login_as, world, data, message):
    login_as(world.admin)
    before = (world.scheme.design_colour, world.scheme.design_logo, world.scheme.signatory_name)
    response = _design(client, world, **data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.refresh(world.scheme)
    after = (world.scheme.design_colour, world.scheme.design_logo, world.scheme.signatory_name)
    assert after == before


def test_jpeg_logo_is_accepted(client, db, login_as, world):
    login_as(world.admin)
    assert _design(client, world, logo=(io.BytesIO(_image("JPEG")), "l.jpg")).status_code == 302


def test_logo_over_512_kb_is_refused():
    # Checked on the operation: the test client spools such a body to an unclosed temp file.
    from certificates import operations as ops

    with pytest.raises(ops.CertificationError, match="512 KB"):
        ops.check_logo(b"\xff\xd8\xff" + b"0" * (512 * 1024))


def test_signature_image_is_uploaded_previewed_and_printed(client, db, login_as, world, qualify):
    from pypdf import PdfReader

    from certificates import operations as ops
    from lms.models import AuditLog

    login_as(world.admin)
    page = client.get(f"/admin/schemes/{world.scheme.code}/design").text
    assert "<script>" not in page.split("</main>")[0]
    preview_url = f"/admin/schemes/{world.scheme.code}/design/preview.png"
    assert preview_url in page
    before = client.get(preview_url)
    assert before.status_code == 200
    assert before.mimetype == "image/png"
    assert Image.open(io.BytesIO(before.data)).size[0] == 1200

    signature = _image("PNG", size=(300, 90))
    response = _design(client, world, signature=(io.BytesIO(signature), "signature.png"))
    assert response.status_code == 302
    db.session.refresh(world.scheme)
    assert world.scheme.signature_image == signature
    assert client.get(f"/admin/schemes/{world.scheme.code}/signature").data == signature
    assert db.session.scalar(sa.select(AuditLog.id).where(AuditLog.action == "scheme.signature"))
    after = client.get(preview_url)
    assert after.data != before.data  # the preview shows the new signature
    page = client.get(f"/admin/schemes/{world.scheme.code}/design").text
    assert f"/admin/schemes/{world.scheme.code}/signature" in page

    # Issued certificates carry it: one more image on the page than without.
    images = {}
    for name, value in (("with", signature), ("without", None)):
        world.scheme.signature_image = value
        holder = qualify(_trainee(db, name), world)
        cert = ops.issue_certificate(world.scheme, holder, actor=world.certifier)
        xobjects = PdfReader(io.BytesIO(cert.pdf)).pages[0]["/Resources"].get("/XObject", {})
        images[name] = len(xobjects)
    assert images["with"] == images["without"] + 1

    # Removing it takes it off; only admins reach the preview.
    assert _design(client, world, remove_signature="y").status_code == 302
    db.session.refresh(world.scheme)
    assert world.scheme.signature_image is None
    login_as(world.certifier)
    assert client.get(preview_url).status_code == 403


def _trainee(db, name):
    from lms.auth.operations import create_user

    user = create_user(email=f"{name}@example.org", name=f"Trainee {name}", password=None)
    db.session.flush()
    return user

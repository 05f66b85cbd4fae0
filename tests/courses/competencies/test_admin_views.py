"""Admin pages: frameworks, scales, competencies with alignments, CSV import; bad input."""

from __future__ import annotations

import base64
import io
import re

import pytest
import sqlalchemy as sa

from courses.competencies.models import (
    Competency,
    CompetencyAlignment,
    Evidence,
    Framework,
    ProficiencyLevel,
)
from lms.models import Role

ESCO = "http://data.europa.eu/esco/skill/7111b95d-0ce3-441a-9d92-4c75d05c4388"


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def admin(login_as):
    return login_as(Role.ADMIN)


def test_create_a_framework_with_the_default_scale(client, db, admin):
    response = client.post_form(
        "/competencies/frameworks/new",
        {"code": "S4C-X", "name_en": "Smart city <roles>", "name_bg": "Умни градове"},
    )
    assert response.status_code == 302
    framework = db.session.scalar(sa.select(Framework).where(Framework.code == "S4C-X"))
    assert [level.rank for level in framework.levels] == [1, 2, 3, 4, 5]
    assert framework.proficient_level.rank == 3
    page = client.get(response.location).get_data(as_text=True)
    assert "Smart city &lt;roles&gt;" in page
    assert "<roles>" not in page
    listing = client.get("/competencies/frameworks").get_data(as_text=True)
    assert "S4C-X" in listing


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "", "name_en": "x"}, "This field is required"),
        ({"code": "bad code!", "name_en": "x"}, "Use only letters"),
        ({"code": "OK", "name_en": ""}, "This field is required"),
        ({"code": "S4C-T", "name_en": "Duplicate"}, "exists already"),
        ({"code": "OK", "name_en": "x" * 201}, "200"),
    ],
)
def test_bad_framework_input_changes_nothing(client, db, classroom, admin, data, message):
    before = _count(db, Framework)
    response = client.post_form("/competencies/frameworks/new", data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(db, Framework) == before


def test_edit_framework_refuses_a_taken_code(client, db, classroom, admin, make_framework):
    other = make_framework(code="OTHER")
    response = client.post_form(
        f"/competencies/frameworks/{other.id}/edit", {"code": "s4c-t", "name_en": "Other"}
    )
    assert "exists already" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Framework, other.id).code == "OTHER"


def _scale_data(rows, proficient):
    data = {"proficient": str(proficient)}
    for n, (level_id, name_en, name_bg) in enumerate(rows):
        data[f"levels-{n}-level_id"] = "" if level_id is None else str(level_id)
        data[f"levels-{n}-name_en"] = name_en
        data[f"levels-{n}-name_bg"] = name_bg
    return data


def test_scale_editor_renames_adds_and_moves_the_proficient_level(client, db, classroom, admin):
    framework = classroom.framework
    page = client.get(f"/competencies/frameworks/{framework.id}/scale").get_data(as_text=True)
    assert page.count('type="radio"') == 7  # five levels and two spare rows
    levels = [(lv.id, lv.name_en, lv.name_bg) for lv in framework.levels]
    levels[0] = (levels[0][0], "Novice", "Начинаещ")
    response = client.post_form(
        f"/competencies/frameworks/{framework.id}/scale",
        _scale_data([*levels, (None, "Master", "Майстор"), (None, "", "")], proficient=3),
    )
    assert response.status_code == 302
    db.session.expire_all()
    framework = db.session.get(Framework, framework.id)
    assert next(lv.name_en for lv in framework.levels) == "Novice"
    assert [lv.rank for lv in framework.levels] == [1, 2, 3, 4, 5, 6]
    assert framework.proficient_level.rank == 4
    assert sum(lv.proficient for lv in framework.levels) == 1


def test_scale_editor_removes_a_cleared_unused_level(client, db, classroom, admin):
    framework = classroom.framework
    rows = [(lv.id, lv.name_en, lv.name_bg) for lv in framework.levels]
    rows[0] = (rows[0][0], "", "")
    response = client.post_form(
        f"/competencies/frameworks/{framework.id}/scale", _scale_data(rows, proficient=2)
    )
    assert response.status_code == 302
    db.session.expire_all()
    framework = db.session.get(Framework, framework.id)
    assert [lv.rank for lv in framework.levels] == [2, 3, 4, 5]
    assert framework.proficient_level.rank == 3  # the same level, one row up


def test_scale_editor_refuses_removing_a_used_level(client, db, classroom, admin):
    from courses.competencies import operations as ops

    ops.record_evidence(
        classroom.trainee,
        classroom.competencies[1],
        classroom.level(5),
        actor=classroom.instructor,
        note="Expert work",
        course=classroom.course,
    )
    db.session.commit()
    framework = classroom.framework
    rows = [(lv.id, lv.name_en, lv.name_bg) for lv in framework.levels][:4]
    response = client.post_form(
        f"/competencies/frameworks/{framework.id}/scale", _scale_data(rows, proficient=2)
    )
    assert "is used by evidence or mappings" in response.get_data(as_text=True)
    db.session.expire_all()
    assert _count(db, ProficiencyLevel) == 5


@pytest.mark.parametrize(
    ("rows", "proficient", "message"),
    [
        ("first_empty", 2, "needs a name in English"),
        ("all", 9, "Mark one of the levels as proficient"),
        ("duplicate", 1, "same name"),
    ],
)
def test_scale_editor_bad_input(client, db, classroom, admin, rows, proficient, message):
    framework = classroom.framework
    levels = [(lv.id, lv.name_en, lv.name_bg) for lv in framework.levels]
    if rows == "first_empty":
        levels[0] = (levels[0][0], "", "Начинаещ")
    elif rows == "duplicate":
        levels[1] = (levels[1][0], levels[0][1], "")
    response = client.post_form(
        f"/competencies/frameworks/{framework.id}/scale", _scale_data(levels, proficient)
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    framework = db.session.get(Framework, framework.id)
    assert [lv.name_en for lv in framework.levels][:2] == ["Awareness", "Basic"]
    assert framework.proficient_level.rank == 3


def test_create_a_competency_with_alignments(client, db, classroom, admin):
    framework = classroom.framework
    response = client.post_form(
        f"/competencies/frameworks/{framework.id}/competencies/new",
        {
            "code": "PM.3",
            "title_en": "Report progress",
            "title_bg": "Отчита напредъка",
            "parent": str(classroom.competencies[0].id),
            "esco_text": ESCO.upper().replace("HTTP://DATA.EUROPA.EU/ESCO/SKILL/", ESCO[:33]),
            "ecf_text": "e.2, A.6",
        },
    )
    assert response.status_code == 302
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == "PM.3"))
    assert competency.parent_id == classroom.competencies[0].id
    assert competency.esco_uris == [ESCO]
    assert sorted(competency.ecf_codes) == ["A.6", "E.2"]
    page = client.get(f"/competencies/frameworks/{framework.id}").get_data(as_text=True)
    assert "Report progress" in page
    assert "e-CF E.2" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"esco_text": "http://data.europa.eu/esco/skill/not-a-uuid"}, "is not an ESCO skill URI"),
        ({"esco_text": "https://example.org/skill"}, "is not an ESCO skill URI"),
        ({"ecf_text": "E.10"}, "is not an e-CF 4.0 competence code"),
        ({"ecf_text": "Z.1"}, "is not an e-CF 4.0 competence code"),
        ({"code": "PM.1"}, "already"),
        ({"code": "a b"}, "Use only letters"),
        ({"parent": "999999"}, "Choose a competency of this framework"),
        ({"title_en": ""}, "This field is required"),
    ],
)
def test_bad_competency_input_changes_nothing(client, db, classroom, admin, changes, message):
    data = {"code": "NEW.1", "title_en": "New", "esco_text": "", "ecf_text": "", "parent": ""}
    data.update(changes)
    before = (_count(db, Competency), _count(db, CompetencyAlignment))
    response = client.post_form(
        f"/competencies/frameworks/{classroom.framework.id}/competencies/new", data
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert (_count(db, Competency), _count(db, CompetencyAlignment)) == before


def test_a_competency_cannot_move_under_its_own_part(client, db, classroom, admin):
    area, part = classroom.competencies[0], classroom.competencies[1]
    response = client.post_form(
        f"/competencies/{area.id}/edit",
        {"code": area.code, "title_en": area.title_en, "parent": str(part.id)},
    )
    assert "cannot be placed under itself" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Competency, area.id).parent_id is None


def test_edit_keeps_and_replaces_alignments(client, db, classroom, admin):
    competency = classroom.competencies[1]
    form = client.get(f"/competencies/{competency.id}/edit").get_data(as_text=True)
    assert "Plan a project" in form
    response = client.post_form(
        f"/competencies/{competency.id}/edit",
        {
            "code": "PM.1",
            "title_en": "Plan a project",
            "parent": str(classroom.competencies[0].id),
            "esco_text": ESCO,
            "ecf_text": "E.2",
        },
    )
    assert response.status_code == 302
    client.post_form(
        f"/competencies/{competency.id}/edit",
        {"code": "PM.1", "title_en": "Plan a project", "parent": "", "ecf_text": "E.3"},
    )
    db.session.expire_all()
    competency = db.session.get(Competency, competency.id)
    assert competency.ecf_codes == ["E.3"]
    assert competency.esco_uris == []
    assert competency.parent_id is None


# --- CSV import ----------------------------------------------------------------

GOOD_CSV = (
    "code,title_en,title_bg,parent_code,esco_uri,ecf_code\r\n"
    "DEV,Project development,Разработване на проекти,,,\r\n"
    f"DEV.1,Write a funding bid,Кандидатства за финансиране,DEV,{ESCO},E.2|A.3\r\n"
)


def _upload(client, framework, content: bytes):
    return client.post_form(
        f"/competencies/frameworks/{framework.id}/import",
        {"file": (io.BytesIO(content), "framework.csv")},
        content_type="multipart/form-data",
    )


def _confirm_token(html: str) -> str:
    match = re.search(r'name="content" type="hidden" value="([^"]+)"', html) or re.search(
        r'id="content" name="content" type="hidden" value="([^"]+)"', html
    )
    assert match, html[:2000]
    return match.group(1)


@pytest.mark.parametrize(
    "content",
    [
        GOOD_CSV.encode(),
        b"\xef\xbb\xbf" + GOOD_CSV.encode(),  # Excel's byte-order mark
        GOOD_CSV.replace(",", ";").replace("E.2|A.3", "E.2 A.3").encode(),  # semicolons
    ],
    ids=["plain", "bom", "semicolons"],
)
def test_import_previews_then_imports_everything(client, db, classroom, admin, content):
    framework = classroom.framework
    before = _count(db, Competency)
    preview = _upload(client, framework, content)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html[:1000]
    assert "Write a funding bid" in html
    assert "Import 2 competencies" in html
    assert _count(db, Competency) == before  # the preview changes nothing
    response = client.post_form(
        f"/competencies/frameworks/{framework.id}/import", {"content": _confirm_token(html)}
    )
    assert response.status_code == 302
    child = db.session.scalar(sa.select(Competency).where(Competency.code == "DEV.1"))
    assert child.parent.code == "DEV"
    assert child.title_bg == "Кандидатства за финансиране"
    assert child.esco_uris == [ESCO]
    assert sorted(child.ecf_codes) == ["A.3", "E.2"]
    assert _count(db, Competency) == before + 2


@pytest.mark.parametrize(
    ("content", "messages"),
    [
        (b"kod,title\r\nX,Y\r\n", ["Unknown column(s)", "Missing column(s): code, title_en"]),
        (
            (
                b"code,title_en,parent_code,esco_uri,ecf_code\n"
                b"A,Good row,,,\n"
                b"B,,,,\n"
                b"C,Bad URI,,http://data.europa.eu/esco/skill/xyz,\n"
                b"D,Bad e-CF,,,Q.9\n"
                b"E,Orphan,NOPE,,\n"
                b"A,Again,,,\n"
                b"PM.1,Exists already,,,\n"
            ),
            [
                "title_en is empty",
                "is not an ESCO skill URI",
                "is not an e-CF 4.0 competence code",
                "The parent code NOPE is not in the file",
                "already used on line 2",
                "The framework has a competency with the code PM.1 already",
            ],
        ),
        (b"\xff\xfecode", ["not UTF-8"]),
        (b"", ["The file is empty"]),
    ],
    ids=["wrong-header", "bad-rows", "not-utf8", "empty"],
)
def test_import_with_errors_shows_each_and_imports_nothing(
    client, db, classroom, admin, content, messages
):
    before = _count(db, Competency)
    response = _upload(client, classroom.framework, content)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in messages:
        assert message in html
    assert "Import " not in html.split("</table>")[-1]  # no import button
    assert _count(db, Competency) == before


def test_a_forged_confirmation_is_checked_again(client, db, classroom, admin):
    before = _count(db, Competency)
    bad = base64.b64encode(b"code,title_en\nX,\n").decode()
    response = client.post_form(
        f"/competencies/frameworks/{classroom.framework.id}/import", {"content": bad}
    )
    assert response.status_code == 422
    assert "title_en is empty" in response.get_data(as_text=True)
    response = client.post_form(
        f"/competencies/frameworks/{classroom.framework.id}/import", {"content": "%%%"}
    )
    assert response.status_code == 302
    assert _count(db, Competency) == before
    assert _count(db, Evidence) == 0


def test_import_without_a_file_says_so(client, classroom, admin):
    response = client.post_form(f"/competencies/frameworks/{classroom.framework.id}/import", {})
    assert "Choose a CSV file" in response.get_data(as_text=True)


def test_framework_pages_run_a_fixed_number_of_queries(
    client, db, classroom, admin, make_framework, make_competency
):
    from tests.conftest import count_queries

    framework_url = f"/competencies/frameworks/{classroom.framework.id}"

    def measure():
        db.session.expire_all()
        counts = []
        for url in ("/competencies/frameworks", framework_url):
            with count_queries(client.application) as counter:
                assert client.get(url).status_code == 200
            counts.append(counter.count)
        return counts

    before = measure()
    for n in range(5):
        make_framework(code=f"MORE{n}")
        make_competency(
            classroom.framework, code=f"Z{n}", parent=classroom.competencies[0], ecf_codes=["E.2"]
        )
    assert measure() == before

"""CSV bulk enrolment: reading files as spreadsheets write them, preview, all-or-nothing import."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from courses.enrolment.csv_import import CsvFileError, parse_enrolment_csv
from courses.models import Enrolment
from lms.models import AuditLog, Role, User

LIMITS = {"max_rows": 10, "max_bytes": 10_000}
# A Bulgarian name saved in the Windows code page instead of UTF-8.
CP1251_FILE = "email,name\nivan@example.org,Иван\n".encode("cp1251")


# --- reading the file (no database) --------------------------------------------


def test_comma_file_with_names():
    rows = parse_enrolment_csv(b"email,name\r\nana@example.org,Ana Petrova\r\n", **LIMITS)
    assert [(r.line, r.email, r.name) for r in rows] == [(2, "ana@example.org", "Ana Petrova")]


def test_excel_utf8_with_bom_and_semicolons():
    data = "email;name\r\nmaria@example.org;Мария Иванова\r\n".encode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = parse_enrolment_csv(data, **LIMITS)
    assert rows[0].email == "maria@example.org"
    assert rows[0].name == "Мария Иванова"


def test_excel_quoting_with_separators_and_quotes_inside():
    data = b'Name;EMAIL\n"Smith; John ""JJ""";john@example.org\n"O\'Neil, Mary";mary@example.org\n'
    rows = parse_enrolment_csv(data, **LIMITS)
    assert [(r.email, r.name) for r in rows] == [
        ("john@example.org", 'Smith; John "JJ"'),
        ("mary@example.org", "O'Neil, Mary"),
    ]


def test_excel_separator_hint_line():
    rows = parse_enrolment_csv(b"sep=;\r\nemail;name\r\nana@example.org;Petrova, Ana\r\n", **LIMITS)
    assert [(r.line, r.email, r.name) for r in rows] == [(3, "ana@example.org", "Petrova, Ana")]
    with pytest.raises(CsvFileError, match="The file is empty"):
        parse_enrolment_csv(b"sep=,\r\n", **LIMITS)


def test_email_only_header_and_blank_lines_are_skipped():
    rows = parse_enrolment_csv(b"email,name\n\nana@example.org\n,\n\nbob@example.org\n", **LIMITS)
    assert [(r.line, r.email, r.name) for r in rows] == [
        (3, "ana@example.org", ""),
        (6, "bob@example.org", ""),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\r\n  \n", "The file is empty."),
        (b"\xef\xbb\xbf", "The file is empty."),
        (b"email,name\n", "header but no rows"),
        (b"mail,name\nana@example.org,Ana\n", "must be a header"),
        (b"ana@example.org,Ana\n", "must be a header"),
        (b"email,name,phone\nana@example.org,Ana,123\n", "Found: email, name, phone"),
        (b"email,email\nana@example.org,a@example.org\n", "names a column twice: email"),
        (CP1251_FILE, "not UTF-8"),
        (b'email,name\n"ana@example.org,Ana\n', "Line 2 cannot be read"),
        (b"email\n" + b"x@example.org\n" * 11, "more than 10 rows"),
        (b"email\n" + b"x" * 10_000, "too large"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(data, message):
    with pytest.raises(CsvFileError, match=re.escape(message)):
        parse_enrolment_csv(data, **LIMITS)


def test_max_rows_counts_data_rows_only():
    data = b"email\n" + b"".join(b"u%d@example.org\n" % i for i in range(10))
    assert len(parse_enrolment_csv(data, **LIMITS)) == 10


# --- through the web pages ---------------------------------------------------------


@pytest.fixture
def staff(login_as, make_user):
    return login_as(make_user(roles=[Role.INSTRUCTOR], name="Staff Person"))


@pytest.fixture
def cohort(staff, make_course, make_cohort):
    return make_cohort(make_course(code="CSV1", instructors=[staff]), capacity=2, name="Spring")


def snapshot(db):
    """Everything an import could change."""
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(User)),
        sorted(db.session.execute(sa.select(Enrolment.user_id, Enrolment.status)).all()),
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)),
    )


def upload(client, cohort, data: bytes, filename="people.csv"):
    return client.post_form(
        f"/courses/CSV1/cohorts/{cohort.id}/import",
        {"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def imports_folder(app) -> Path:
    return Path(app.instance_path) / "enrolment-imports"


def stored_files(app) -> set[str]:
    folder = imports_folder(app)
    return {p.name for p in folder.glob("*.json")} if folder.exists() else set()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"mail;name\nana@example.org;Ana\n", "must be a header naming the columns"),
        (CP1251_FILE, "not UTF-8"),
        (b"", "The file is empty."),
        (b"email\n" + b"x@example.org\n" * 6, "more than 5 rows"),
    ],
)
def test_bad_files_change_nothing(app, db, client, cohort, data, message):
    app.config["ENROLMENT_CSV_MAX_ROWS"] = 5
    try:
        before, files = snapshot(db), stored_files(app)
        response = upload(client, cohort, data)
    finally:
        app.config["ENROLMENT_CSV_MAX_ROWS"] = 5000
    assert response.status_code == 400
    assert message in response.text.replace("&#34;", '"')
    assert snapshot(db) == before
    assert stored_files(app) == files


def test_a_file_of_another_type_is_refused(db, client, cohort):
    before = snapshot(db)
    response = upload(client, cohort, b"email\na@example.org\n", filename="people.xlsx")
    assert response.status_code == 400
    assert "Upload a .csv file." in response.text
    assert snapshot(db) == before


def test_preview_lists_every_row_with_its_problem_and_imports_nothing(
    app, db, client, cohort, make_user, make_enrolment
):
    make_enrolment(cohort, make_user(email="already@example.org"))
    make_user(email="inactive@example.org", active=False)
    db.session.commit()  # a refused import rolls back what is not committed
    data = (
        "email;name\n"
        "fresh@example.org;Нова Личност\n"
        "not-an-address;Bad\n"
        "Fresh@Example.org;Twice\n"
        "already@example.org;\n"
        "inactive@example.org;\n"
        "extra@example.org;Extra;value\n"
        "<script>@example.org;<b>x</b>\n"
    ).encode("utf-8-sig")
    before = snapshot(db)
    response = upload(client, cohort, data)
    assert response.status_code == 302
    preview = client.get(response.headers["Location"])
    html = preview.text
    assert preview.status_code == 200
    assert "Нова Личност" in html
    assert "new trainee account" in html
    assert "This is not a valid e-mail address." in html
    assert "The e-mail address has no @ sign." in html
    assert "Duplicate of line 2." in html
    assert "Already enrolled in this cohort; skipped." in html
    assert "This account is deactivated." in html
    assert "more values than the header" in html
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "5 rows have problems" in html
    assert "without a password, and no e-mail is sent" in html
    assert 'type="submit">Import' not in html  # no confirm button while rows are bad

    # Posting the confirmation anyway imports nothing.
    confirm = client.post_form(response.headers["Location"], {})
    assert confirm.status_code == 409
    assert "5 rows have problems; nothing was imported." in confirm.text
    assert snapshot(db) == before


def test_confirm_imports_all_creates_accounts_and_waitlists_beyond_capacity(
    app, db, client, cohort, make_user, make_enrolment, staff
):
    known = make_user(email="known@example.org", name="Known Person", roles=[Role.EMPLOYER])
    withdrawn = make_user(email="back@example.org")
    old = make_enrolment(cohort, withdrawn, status="withdrawn")
    data = b"email,name\nknown@example.org,\nNEW@example.org,New Person\nback@example.org,\n"
    response = upload(client, cohort, data)
    location = response.headers["Location"]
    preview = client.get(location).text
    assert preview.count("waiting list (cohort full)") == 1
    assert "enrolled again after withdrawal" in preview
    token_file = imports_folder(app) / (location.rsplit("/", 1)[1] + ".json")
    assert token_file.exists()

    confirm = client.post_form(location, {})
    assert confirm.status_code == 302
    assert confirm.headers["Location"].endswith(f"/courses/CSV1/cohorts/{cohort.id}")
    assert not token_file.exists()
    page = client.get(confirm.headers["Location"]).text
    assert "3 trainees imported, 1 of them on the waiting list." in page

    new = db.session.scalar(sa.select(User).where(User.email == "new@example.org"))
    assert new.name == "New Person"
    assert new.password_hash is None
    assert new.roles == {Role.TRAINEE}
    statuses = dict(
        db.session.execute(
            sa.select(Enrolment.user_id, Enrolment.status).where(Enrolment.cohort_id == cohort.id)
        ).all()
    )
    assert statuses == {known.id: "active", new.id: "active", withdrawn.id: "waitlisted"}
    assert db.session.get(Enrolment, old.id).status == "waitlisted"  # the row is reused
    assert all(
        e.enrolled_by_id == staff.id
        for e in db.session.scalars(sa.select(Enrolment).where(Enrolment.cohort_id == cohort.id))
    )
    # The confirmation cannot be replayed.
    assert client.post_form(location, {}).status_code == 404


def test_a_name_is_made_from_the_address_when_missing(db, client, cohort):
    response = upload(client, cohort, b"email\nivan.petrov@example.org\n")
    client.post_form(response.headers["Location"], {})
    user = db.session.scalar(sa.select(User).where(User.email == "ivan.petrov@example.org"))
    assert user.name == "ivan.petrov"


def test_rows_are_checked_again_at_confirmation(db, client, cohort, make_user, make_enrolment):
    ana = make_user(email="ana@example.org")
    make_user(email="bob@example.org")
    response = upload(client, cohort, b"email\nana@example.org\nbob@example.org\n")
    location = response.headers["Location"]
    assert "Problem:" not in client.get(location).text
    db.session.get(User, ana.id).active = False  # deactivated by an admin meanwhile
    db.session.commit()
    before = snapshot(db)
    confirm = client.post_form(location, {})
    assert confirm.status_code == 409
    assert "1 row has a problem; nothing was imported." in confirm.text
    assert "This account is deactivated." in confirm.text
    assert snapshot(db) == before


def test_people_already_in_the_cohort_are_skipped_not_refused(
    db, client, cohort, make_user, make_enrolment
):
    ana = make_user(email="ana@example.org", name="Ana Already")
    eve = make_user(email="eve@example.org", name="Eve Waiting")
    make_enrolment(cohort, ana)
    make_enrolment(cohort, eve, status="waitlisted")
    db.session.commit()
    data = b"email\nana@example.org\neve@example.org\nbob@example.org\n"
    response = upload(client, cohort, data)
    location = response.headers["Location"]
    preview = client.get(location).text
    assert "Problem:" not in preview
    assert "Already enrolled in this cohort; skipped." in preview
    assert "Already on the waiting list of this cohort; skipped." in preview
    assert "2 people are already in this cohort and will be skipped." in preview
    assert 'type="submit">Import 1 row<' in preview

    confirm = client.post_form(location, {})
    assert confirm.status_code == 302
    page = client.get(confirm.headers["Location"]).text
    assert "1 trainees imported, 0 of them on the waiting list." in page
    assert "2 people were already in this cohort and were skipped." in page
    statuses = {
        user.email: status
        for user, status in db.session.execute(
            sa.select(User, Enrolment.status)
            .join(Enrolment, Enrolment.user_id == User.id)
            .where(Enrolment.cohort_id == cohort.id)
        )
    }
    assert statuses == {
        "ana@example.org": "active",
        "eve@example.org": "waitlisted",
        "bob@example.org": "active",
    }


def test_a_file_of_people_already_enrolled_offers_nothing_to_import(
    db, client, cohort, make_user, make_enrolment
):
    make_enrolment(cohort, make_user(email="ana@example.org"))
    db.session.commit()
    response = upload(client, cohort, b"email\nana@example.org\n")
    preview = client.get(response.headers["Location"]).text
    assert "Nothing to import" in preview
    assert 'type="submit">Import' not in preview


def test_uploads_are_private_to_their_uploader_and_cohort(
    app, client, login_as, cohort, make_user, make_cohort
):
    response = upload(client, cohort, b"email\nana@example.org\n")
    location = response.headers["Location"]
    token = location.rsplit("/", 1)[1]
    other_cohort = make_cohort(cohort.course, name="Autumn")
    assert client.get(f"/courses/CSV1/cohorts/{other_cohort.id}/import/{token}").status_code == 404
    assert (
        client.get(f"/courses/CSV1/cohorts/{cohort.id}/import/..%2Fsecret_key").status_code == 404
    )
    assert client.get(f"/courses/CSV1/cohorts/{cohort.id}/import/{'A' * 32}").status_code == 404
    login_as(make_user(roles=[Role.ADMIN]))
    assert client.get(location).status_code == 404
    stored = (imports_folder(app) / f"{token}.json").read_text()
    assert "ana@example.org" in stored


def test_a_name_with_a_direction_override_is_a_row_problem(db, make_course, make_cohort):
    """A hidden right-to-left override would make a certificate name read differently."""
    from courses.enrolment.csv_import import CsvRow
    from courses.enrolment.operations import check_csv_rows

    cohort = make_cohort(make_course())
    checks = check_csv_rows(
        cohort,
        [
            CsvRow(line=2, email="ok@example.org", name="Мария Иванова"),
            CsvRow(line=3, email="hidden@example.org", name="\u202enavI"),
        ],
    )
    assert checks[0].problem is None
    assert "invisible control characters" in checks[1].problem

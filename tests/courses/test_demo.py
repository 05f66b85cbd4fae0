"""The demo loader: idempotent, complete, and with lesson bodies that render safely."""

# ruff: noqa: RUF001 - Cyrillic on purpose

from datetime import date

import sqlalchemy as sa

from courses import demo
from courses.models import (
    Cohort,
    Course,
    CourseState,
    Enrolment,
    EnrolmentStatus,
    LearningOutcome,
    Lesson,
    LessonProgress,
    Module,
    Programme,
    ProgrammeCourse,
)
from lms.markdown import render_markdown
from lms.models import AuditLog, Role, User, UserRole

COUNTED = (
    User,
    UserRole,
    Programme,
    ProgrammeCourse,
    Course,
    Module,
    Lesson,
    LearningOutcome,
    Cohort,
    Enrolment,
    LessonProgress,
    AuditLog,
)


def _counts(db) -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in COUNTED
    }


def test_load_twice_creates_the_same_rows(db):
    first_accounts = demo.load()
    db.session.flush()
    after_first = _counts(db)
    second_accounts = demo.load()
    db.session.flush()

    assert _counts(db) == after_first
    assert second_accounts == first_accounts
    assert after_first["Programme"] == 3
    loads = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "demo.load")).all()
    assert len(loads) == 1


def test_accounts_cover_every_role_and_can_log_in(db):
    accounts = demo.load()
    roles = {role.strip() for account in accounts for role in account["roles"].split(",")}
    assert roles == {str(r) for r in Role}
    for account in accounts:
        assert len(account["password"]) >= 10
        user = db.session.scalar(sa.select(User).where(User.email == account["email"]))
        assert user.check_password(account["password"])


def test_contents(db):
    demo.load()
    programmes = db.session.scalars(sa.select(Programme).order_by(Programme.code)).all()
    assert [p.code for p in programmes] == ["S4C-PD", "S4C-PM", "S4C-PMC"]
    assert all(p.title_bg and p.summary_bg for p in programmes)
    # Shared foundation plus role-specific courses.
    course_sets = [{c.code for c in p.courses} for p in programmes]
    assert "SC-101" in set.intersection(*course_sets)
    assert len(set.union(*course_sets)) > len(set.intersection(*course_sets))

    courses = db.session.scalars(sa.select(Course)).all()
    published = [c for c in courses if c.state == CourseState.PUBLISHED]
    assert len(published) >= 5
    assert [c.code for c in courses if c.state == CourseState.DRAFT] == ["SC-108"]
    for course in published:
        assert course.title_bg
        assert course.instructors
        assert course.outcomes
        assert 2 <= len(course.modules) <= 3
        for module in course.modules:
            assert module.title_bg
            assert 2 <= len(module.lessons) <= 3
            for lesson in module.lessons:
                assert lesson.title_bg
                assert len(lesson.body_en) > 800, lesson.title_en
                assert len(lesson.body_bg) > 800, lesson.title_en
                assert any("а" <= ch <= "я" for ch in lesson.body_bg)

    names = set(db.session.scalars(sa.select(User.name)))
    assert {"Мария Иванова", "Георги Петров"} <= names


def test_cohorts_open_full_and_upcoming(db):
    demo.load()
    today = date.today()
    cohorts = db.session.scalars(sa.select(Cohort)).all()

    def count(cohort, status):
        return db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Enrolment)
            .where(Enrolment.cohort_id == cohort.id, Enrolment.status == status)
        )

    full = [
        c
        for c in cohorts
        if c.capacity
        and count(c, EnrolmentStatus.ACTIVE) == c.capacity
        and count(c, EnrolmentStatus.WAITLISTED) > 0
    ]
    assert full
    assert all(c.window_open(today) for c in full)
    assert any(
        c.window_open(today)
        and c.capacity
        and count(c, EnrolmentStatus.ACTIVE) < c.capacity
        and count(c, EnrolmentStatus.ACTIVE) > 0
        for c in cohorts
    )
    assert any(c.enrol_opens_on > today for c in cohorts)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LessonProgress)) > 0


def test_lesson_bodies_render_without_raw_html():
    for spec in demo.COURSES:
        for language in ("en", "bg"):
            for body in demo.lesson_bodies(spec.code, language).values():
                html = str(render_markdown(body))
                assert "<script" not in html
                assert "&lt;" not in html
                assert "<h2>" in html
    assert "<table>" in str(render_markdown(demo.lesson_bodies("SC-101", "en")[(1, 2)]))


def test_every_lesson_has_a_body_file_section():
    for spec in demo.COURSES:
        bodies = demo.lesson_bodies(spec.code, "en")
        expected = {
            (m, n)
            for m, module in enumerate(spec.modules, start=1)
            for n in range(1, len(module.lessons) + 1)
        }
        assert set(bodies) == expected, spec.code
        assert set(demo.lesson_bodies(spec.code, "bg")) == expected, spec.code


def test_demo_pages_show_the_curriculum(client, login_as, db):
    demo.load()
    db.session.flush()  # the pages read what is in the database
    catalogue = client.get("/courses?per_page=50").get_data(as_text=True)
    for spec in demo.COURSES:
        assert (spec.code in catalogue) == (spec.state == CourseState.PUBLISHED)

    maria = db.session.scalar(sa.select(User).where(User.email == "maria.ivanova@example.org"))
    login_as(maria)
    lesson = db.session.scalar(
        sa.select(Lesson).join(Module).join(Course).where(Course.code == "SC-101").limit(1)
    )
    page = client.get(f"/courses/SC-101/lessons/{lesson.id}").get_data(as_text=True)
    assert "Защо „интелигентен“ не е целта" in page  # Maria reads in Bulgarian


def test_lms_demo_upgrades_loads_prints_and_serves(tmp_path, monkeypatch):
    import werkzeug.serving

    from lms import create_app

    served = {}
    monkeypatch.setattr(
        werkzeug.serving, "run_simple", lambda host, port, app, **kw: served.update(port=port)
    )
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")  # as under the ``lms`` script
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x" * 32})
    runner = app.test_cli_runner()

    result = runner.invoke(args=["demo", "--port", "5099"])
    assert result.exit_code == 0, result.output
    assert "maria.ivanova@example.org" in result.output
    assert "learn-demo-2026" in result.output
    assert served == {"port": 5099}  # it serves instead of returning silently
    # Demo certificates link to the server the demo runs on.
    assert app.config["BASE_URL"] == "http://127.0.0.1:5099"

    again = runner.invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0, again.output
    with app.app_context():
        from lms.extensions import db

        assert db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) == 3
        db.engine.dispose()


def test_demo_pages_name_people_and_cohorts_in_the_readers_language(client, db):
    demo.load()
    db.session.flush()
    english = client.get("/courses/SC-101").text
    assert "Anna Koleva" in english
    assert "Sofia A (blended)" in english
    assert "Анна Колева" not in english
    assert "София А" not in english

    client.post_form("/language", {"language": "bg"})
    bulgarian = client.get("/courses/SC-101").text
    assert "Анна Колева" in bulgarian
    assert "София А (смесено обучение)" in bulgarian
    assert "Anna Koleva" not in bulgarian
    assert "Sofia A (blended)" not in bulgarian
    catalogue = client.get("/courses?per_page=50").text
    assert "Анна Колева" in catalogue


def test_demo_people_keep_their_own_names_with_the_latin_form(db):
    demo.load()
    anna = db.session.scalar(sa.select(User).where(User.email == "anna.koleva@example.org"))
    assert (anna.name, anna.name_latin) == ("Анна Колева", "Anna Koleva")
    laura = db.session.scalar(sa.select(User).where(User.email == "laura.rossi@example.org"))
    assert (laura.name, laura.name_latin) == ("Laura Rossi", "")
    names = db.session.execute(sa.select(Cohort.name, Cohort.name_bg)).all()
    assert all(bg for _name, bg in names)

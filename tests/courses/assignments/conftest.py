"""Factories for assignments: an assignment with a rubric, submissions, and sample files."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest

from courses.assessments.assignments import operations as ops
from courses.assessments.assignments import storage
from courses.assessments.assignments.models import MarkingScheme
from lms.db import utcnow
from lms.models import Role
from lms.storage import storage as file_store

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def office_zip(main: str) -> bytes:
    """Return a minimal OOXML package whose content-type list names ``main``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types><Override PartName="/word/document.xml" '
            f'ContentType="application/vnd.openxmlformats-officedocument.{main}"/></Types>',
        )
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


DOCX = office_zip("wordprocessingml.document.main+xml")
XLSX = office_zip("spreadsheetml.sheet.main+xml")


def odt() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return buffer.getvalue()


def upload_files(app) -> set[str]:
    """Files being checked and keys in the file store (to prove a refusal left nothing behind)."""
    with app.test_request_context():
        checking = {p.name for p in storage.upload_dir().iterdir()}
        return checking | {key for key, _modified in file_store().listing()}


class World:
    """A course with an instructor, a cohort, trainees in every relation, and an assignment."""


@pytest.fixture
def world(db, make_user, make_course, make_cohort, make_enrolment):
    w = World()
    w.instructor = make_user(roles=[Role.INSTRUCTOR], name="Anna Koleva")
    w.other_instructor = make_user(roles=[Role.INSTRUCTOR], name="David Other")
    w.trainee = make_user(roles=[Role.TRAINEE], name="Мария Иванова")
    w.classmate = make_user(roles=[Role.TRAINEE], name="Georgi Petrov")
    w.outsider = make_user(roles=[Role.TRAINEE], name="Not Enrolled")
    w.certifier = make_user(roles=[Role.CERTIFIER], name="Petya Certifier")
    w.employer = make_user(roles=[Role.EMPLOYER], name="Ivan Employer")
    w.admin = make_user(roles=[Role.ADMIN], name="Admin Person")
    w.course = make_course(code="AS-101", instructors=[w.instructor])
    w.other_course = make_course(code="AS-999", instructors=[w.other_instructor])
    w.cohort = make_cohort(w.course, name="Sofia A")
    w.cohort_b = make_cohort(w.course, name="Online B")
    make_enrolment(w.cohort, w.trainee)
    make_enrolment(w.cohort_b, w.classmate)
    return w


@pytest.fixture
def make_assignment(db):
    """Create an assignment: ``make_assignment(course, marking="rubric", criteria=[...])``.

    ``criteria`` for a rubric: ``[("Clarity", [("Weak", 0), ("Good", 5)]), ...]``;
    for a marking guide: ``[("Clarity", Decimal(10)), ...]``.
    """

    def make(
        course,
        *,
        title="Stakeholder map",
        marking=MarkingScheme.RUBRIC,
        criteria=None,
        due_in=timedelta(days=7),
        late_policy="accept",
        late_percent_per_day=Decimal(0),
        resubmission="graded",
        allow_text=True,
        allow_files=True,
        allowed_types=("pdf", "docx", "png", "jpeg", "txt", "zip", "odt"),
        max_file_bytes=1024 * 1024,
        max_files=3,
        max_points=Decimal(100),
        published=True,
        actor=None,
    ):
        if actor is None:  # the course's first instructor sets it up
            actor = course.instructors[0]
        data = ops.AssignmentData(
            title_en=title,
            max_points=max_points,
            due_at=None if due_in is None else utcnow() + due_in,
            published=published,
            allow_text=allow_text,
            allow_files=allow_files,
            allowed_types=list(allowed_types) if allow_files else [],
            max_file_bytes=max_file_bytes,
            max_files=max_files,
            late_policy=late_policy,
            late_percent_per_day=late_percent_per_day,
            resubmission=resubmission,
            marking=marking,
        )
        assignment = ops.create_assignment(course, data, actor=actor)
        if criteria is None and marking == MarkingScheme.RUBRIC:
            criteria = [
                ("Stakeholders identified", [("Missing", 0), ("Partial", 3), ("Complete", 5)]),
                ("Interests and influence", [("Missing", 0), ("Some", 2), ("Clear", 5)]),
            ]
        for title_en, spec in criteria or []:
            if marking == MarkingScheme.RUBRIC:
                criterion = ops.add_criterion(assignment, title_en=title_en, actor=actor)
                for level_title, points in spec:
                    ops.add_level(
                        criterion, title_en=level_title, points=Decimal(points), actor=actor
                    )
            else:
                ops.add_criterion(
                    assignment, title_en=title_en, guide_max=Decimal(spec), actor=actor
                )
        db.session.commit()
        return assignment

    return make


@pytest.fixture
def levels():
    """Return {(criterion title, level title): level id} of an assignment."""

    def get(assignment):
        return {(c.title_en, lv.title_en): lv.id for c in assignment.criteria for lv in c.levels}

    return get

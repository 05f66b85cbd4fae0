"""Grades over the API: a trainee's released grades, a course's gradebook, competency profiles."""

from __future__ import annotations

import marshmallow as ma
from flask import url_for

from courses.access import visible_course
from courses.competencies import queries as competency_queries
from courses.gradebook import queries as gradebook_queries
from courses.gradebook.queries import GradebookPage, TraineeRow
from courses.models import Cohort
from courses.permissions import can_manage_course
from lms.api import ApiSchema, PageArgs, abort, api_blueprint, current_api_user, require_scope
from lms.api.loading import MAX_ID, load
from lms.models import User
from lms.permissions import require

bp = api_blueprint("api_grades", __name__, description="Grades, gradebooks and competency profiles")

DECIMAL = {"description": 'A decimal number written as a string, e.g. "78.50"'}


def _decimal(value) -> str | None:
    return None if value is None else str(value)


class AssessmentSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    max_points = ma.fields.String(required=True, metadata=DECIMAL)
    category_id = ma.fields.Integer(required=True, allow_none=True)
    required = ma.fields.Boolean(required=True)
    due_at = ma.fields.DateTime(required=True, allow_none=True)


class GradeCellSchema(ApiSchema):
    assessment_id = ma.fields.Integer(required=True)
    points = ma.fields.String(required=True, allow_none=True, metadata=DECIMAL)
    excused = ma.fields.Boolean(required=True)
    status = ma.fields.String(required=True, metadata={"enum": ["draft", "released"]})


class CourseResultSchema(ApiSchema):
    grade = ma.fields.String(
        required=True, allow_none=True, metadata={**DECIMAL, "description": "Course grade (%)"}
    )
    computed = ma.fields.String(required=True, allow_none=True, metadata=DECIMAL)
    overridden = ma.fields.Boolean(required=True)
    complete = ma.fields.Boolean(required=True)
    reasons = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "What completion still needs"}
    )
    lessons_done = ma.fields.Integer(required=True)
    lessons_required = ma.fields.Integer(required=True)


def _assessment(assessment) -> dict:
    return {
        "id": assessment.id,
        "kind": str(assessment.kind),
        "title": assessment.tr("title"),
        "max_points": _decimal(assessment.max_points),
        "category_id": assessment.category_id,
        "required": assessment.required,
        "due_at": assessment.due_at,
    }


def _cell(cell) -> dict:
    return {
        "assessment_id": cell.assessment_id,
        "points": _decimal(cell.points),
        "excused": bool(cell.excused),
        "status": str(cell.status),
    }


def _result(row: TraineeRow) -> dict:
    return {
        "grade": _decimal(row.result.grade),
        "computed": _decimal(row.result.computed),
        "overridden": row.result.override is not None,
        "complete": row.completion.complete,
        "reasons": [str(reason) for reason in row.completion.reasons],
        "lessons_done": row.lessons.done,
        "lessons_required": row.lessons.required,
    }


# --- the trainee's own grades -------------------------------------------------------------


class MyGradesLinksSchema(ApiSchema):
    self = ma.fields.String(required=True)
    page = ma.fields.String(required=True)


class MyGradesSchema(ApiSchema):
    course_code = ma.fields.String(required=True)
    pass_mark = ma.fields.String(required=True, allow_none=True, metadata=DECIMAL)
    assessments = ma.fields.List(ma.fields.Nested(AssessmentSchema), required=True)
    grades = ma.fields.List(
        ma.fields.Nested(GradeCellSchema),
        required=True,
        metadata={"description": "Released grades only"},
    )
    result = ma.fields.Nested(CourseResultSchema, required=True)
    links = ma.fields.Nested(MyGradesLinksSchema, required=True)


@bp.route("/courses/<code>/grades")
@require_scope("read", "learn")
@bp.response(200, MyGradesSchema)
@bp.alt_response(404, response="NOT_FOUND")
def my_grades(code: str):
    """Return the token user's released grades and course grade in a course they study."""
    course = visible_course(code, current_api_user)
    me = current_api_user
    book = gradebook_queries.compute_gradebook(course, user_ids=[me.id])
    row = book.row_for(me.id)
    require(row is not None)
    assert row is not None, "require() refused the request otherwise"
    published = [a for a in book.assessments if a.published]
    return {
        "course_code": course.code,
        "pass_mark": _decimal(course.pass_mark),
        "assessments": [_assessment(a) for a in published],
        "grades": [_cell(cell) for a in published if (cell := row.released(a.id)) is not None],
        "result": _result(row),
        "links": {
            "self": url_for("api_grades.my_grades", code=course.code),
            "page": url_for("gradebook.my_grades", code=course.code),
        },
    }


# --- the course staff's gradebook ---------------------------------------------------------


class GradebookArgs(PageArgs):
    cohort_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_ID))


class TraineeSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    email = ma.fields.String(required=True)


class GradebookRowSchema(ApiSchema):
    trainee = ma.fields.Nested(TraineeSchema, required=True)
    cohort_id = ma.fields.Integer(required=True)
    grades = ma.fields.List(
        ma.fields.Nested(GradeCellSchema), required=True, metadata={"description": "Drafts too"}
    )
    result = ma.fields.Nested(CourseResultSchema, required=True)


class GradebookLinksSchema(ApiSchema):
    self = ma.fields.String(required=True)
    next = ma.fields.String(required=True, allow_none=True)
    prev = ma.fields.String(required=True, allow_none=True)
    csv = ma.fields.String(required=True)


class GradebookSchema(ApiSchema):
    course_code = ma.fields.String(required=True)
    pass_mark = ma.fields.String(required=True, allow_none=True, metadata=DECIMAL)
    assessments = ma.fields.List(ma.fields.Nested(AssessmentSchema), required=True)
    items = ma.fields.List(
        ma.fields.Nested(GradebookRowSchema),
        required=True,
        metadata={"description": "Trainees by name, one page"},
    )
    page = ma.fields.Integer(required=True)
    per_page = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)
    links = ma.fields.Nested(GradebookLinksSchema, required=True)


def serialise_gradebook(pager: GradebookPage, args: dict) -> dict:
    """Return one page of the gradebook: every assessment, the page's trainees and their grades."""
    book, page, per_page = pager.book, pager.page, pager.per_page
    code = book.course.code
    query = {"cohort_id": args["cohort_id"]} if args.get("cohort_id") else {}

    def link(number):
        return url_for("api_grades.gradebook", code=code, page=number, per_page=per_page, **query)

    return {
        "course_code": code,
        "pass_mark": _decimal(book.course.pass_mark),
        "assessments": [_assessment(a) for a in book.assessments],
        "items": [
            {
                "trainee": {"id": row.user.id, "name": row.user.name, "email": row.user.email},
                "cohort_id": row.cohort.id,
                "grades": [_cell(row.grades[a.id]) for a in book.assessments if a.id in row.grades],
                "result": _result(row),
            }
            for row in book.rows
        ],
        "page": page,
        "per_page": per_page,
        "total": pager.total,
        "links": {
            "self": link(page),
            "next": link(page + 1) if page * per_page < pager.total else None,
            "prev": link(page - 1) if page > 1 else None,
            "csv": url_for("gradebook.export", code=code),
        },
    }


@bp.route("/courses/<code>/gradebook")
@require_scope("read", "teach")
@bp.arguments(GradebookArgs, location="query")
@bp.response(200, GradebookSchema)
@bp.alt_response(404, response="NOT_FOUND")
def gradebook(args, code: str):
    """Return the gradebook of a course the token user teaches: trainees by assessments.

    Only the requested page of trainees is computed.
    """
    course = visible_course(code, current_api_user)
    require(can_manage_course(current_api_user, course))
    cohort = None
    if args.get("cohort_id"):
        cohort = load(Cohort, args["cohort_id"])
        if cohort is None or cohort.course_id != course.id:
            abort(
                422,
                "This course has no cohort with this id.",
                errors=[{"field": "cohort_id", "message": "Not a cohort of this course."}],
            )
    pager = gradebook_queries.load_page(
        course,
        gradebook_queries.Roster(cohort),
        page=args["page"],
        per_page=args["per_page"],
        clamp_page=False,
    )
    return serialise_gradebook(pager, args)


# --- competency profiles ------------------------------------------------------------------


class LevelSchema(ApiSchema):
    rank = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class CompetencyRowSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    depth = ma.fields.Integer(required=True)
    level = ma.fields.Nested(LevelSchema, required=True, allow_none=True)
    proficient = ma.fields.Boolean(required=True)
    evidence = ma.fields.Integer(required=True, metadata={"description": "Evidence rows"})


class FrameworkProfileSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    proficient_level = ma.fields.Nested(LevelSchema, required=True, allow_none=True)
    competencies = ma.fields.List(ma.fields.Nested(CompetencyRowSchema), required=True)


class ProfileLinksSchema(ApiSchema):
    self = ma.fields.String(required=True)
    page = ma.fields.String(required=True)


class ProfileSchema(ApiSchema):
    trainee = ma.fields.Nested(TraineeSchema, required=True)
    as_of = ma.fields.DateTime(required=True)
    frameworks = ma.fields.List(ma.fields.Nested(FrameworkProfileSchema), required=True)
    links = ma.fields.Nested(ProfileLinksSchema, required=True)


def _level(level) -> dict | None:
    return None if level is None else {"rank": level.rank, "name": level.tr("name")}


def serialise_profile(trainee: User, *, own: bool) -> dict:
    record = competency_queries.profile(trainee)
    return {
        "trainee": {"id": trainee.id, "name": trainee.name, "email": trainee.email},
        "as_of": record.as_of,
        "frameworks": [
            {
                "id": item.framework.id,
                "code": item.framework.code,
                "name": item.framework.tr("name"),
                "proficient_level": _level(item.proficient_level),
                "competencies": [
                    {
                        "id": row.competency.id,
                        "code": row.competency.code,
                        "title": row.competency.tr("title"),
                        "depth": row.depth,
                        "level": _level(row.level),
                        "proficient": row.proficient,
                        "evidence": len(row.evidence),
                    }
                    for row in item.rows
                ],
            }
            for item in record.frameworks
        ],
        "links": {
            "self": url_for("api_grades.my_competencies")
            if own
            else url_for("api_grades.competencies", user_id=trainee.id),
            "page": url_for("competencies.profile", user_id=trainee.id),
        },
    }


@bp.route("/me/competencies")
@require_scope("read")
@bp.response(200, ProfileSchema)
def my_competencies():
    """Return the token user's competency profile: current level per competency."""
    return serialise_profile(current_api_user, own=True)


@bp.route("/users/<int:user_id>/competencies")
@require_scope("read")
@bp.response(200, ProfileSchema)
@bp.alt_response(404, response="NOT_FOUND")
def competencies(user_id: int):
    """Return a trainee's competency profile (certifiers, admins, and the trainee's instructors)."""
    trainee = load(User, user_id)
    if trainee is None:
        abort(404, "No user has this id.")
    require(competency_queries.can_view_record(current_api_user, trainee))
    return serialise_profile(trainee, own=trainee.id == current_api_user.id)

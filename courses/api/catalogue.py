"""The catalogue over the API: programmes, courses and their cohorts, as the pages list them."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask import url_for
from flask_login import current_user

from courses import queries
from courses.models import Cohort, Course, Programme
from courses.permissions import can_view_course
from lms.api import ApiSchema, PageArgs, abort, api_blueprint, optional_scope, page_schema
from lms.extensions import db

bp = api_blueprint(
    "api_catalogue",
    __name__,
    description="Programmes, courses and cohorts. Public: without a token, published ones.",
)

READ_SCOPES = ("read", "learn", "teach", "certify", "admin")


class ProgrammeLinksSchema(ApiSchema):
    courses = ma.fields.String(required=True)


class ProgrammeSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    title_en = ma.fields.String(required=True)
    title_bg = ma.fields.String(required=True)
    summary_en = ma.fields.String(required=True)
    summary_bg = ma.fields.String(required=True)
    state = ma.fields.String(required=True)
    links = ma.fields.Nested(ProgrammeLinksSchema, required=True)


class ProgrammeListSchema(ApiSchema):
    items = ma.fields.List(ma.fields.Nested(ProgrammeSchema), required=True)


class InstructorSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class CourseLinksSchema(ApiSchema):
    self = ma.fields.String(required=True)
    cohorts = ma.fields.String(required=True)


class CourseSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    title_en = ma.fields.String(required=True)
    title_bg = ma.fields.String(required=True)
    summary_en = ma.fields.String(required=True)
    summary_bg = ma.fields.String(required=True)
    workload_hours = ma.fields.Integer(required=True)
    pass_mark = ma.fields.String(
        required=True, metadata={"description": 'A decimal percentage, e.g. "50.00"'}
    )
    state = ma.fields.String(required=True)
    published_at = ma.fields.DateTime(required=True, allow_none=True)
    instructors = ma.fields.List(ma.fields.Nested(InstructorSchema), required=True)
    has_open_cohort = ma.fields.Boolean(required=True)
    links = ma.fields.Nested(CourseLinksSchema, required=True)


class OutcomeSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    text_en = ma.fields.String(required=True)
    text_bg = ma.fields.String(required=True)


class ModuleSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    title_en = ma.fields.String(required=True)
    title_bg = ma.fields.String(required=True)
    lesson_count = ma.fields.Integer(required=True)


class CourseDetailSchema(CourseSchema):
    outcomes = ma.fields.List(ma.fields.Nested(OutcomeSchema), required=True)
    modules = ma.fields.List(ma.fields.Nested(ModuleSchema), required=True)
    programmes = ma.fields.List(ma.fields.String(), required=True)


class CohortLinksSchema(ApiSchema):
    course = ma.fields.String(required=True)


class CohortSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    name_bg = ma.fields.String(
        required=True, metadata={"description": "The Bulgarian name; empty when not given."}
    )
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(required=True)
    capacity = ma.fields.Integer(required=True, allow_none=True)
    enrol_opens_on = ma.fields.Date(required=True, allow_none=True)
    enrol_closes_on = ma.fields.Date(required=True, allow_none=True)
    self_enrolment = ma.fields.Boolean(required=True)
    open_for_enrolment = ma.fields.Boolean(required=True)
    links = ma.fields.Nested(CohortLinksSchema, required=True)


class CohortListSchema(ApiSchema):
    items = ma.fields.List(ma.fields.Nested(CohortSchema), required=True)


class CourseArgs(PageArgs):
    programme = ma.fields.String(
        validate=ma.validate.Length(max=32), metadata={"description": "Programme code"}
    )
    search = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=200),
        metadata={"description": "Words that must all appear in the code, title or summary"},
    )


def programme_json(programme: Programme) -> dict:
    return {
        "id": programme.id,
        "code": programme.code,
        "title_en": programme.title_en,
        "title_bg": programme.title_bg or "",
        "summary_en": programme.summary_en or "",
        "summary_bg": programme.summary_bg or "",
        "state": str(programme.state),
        "links": {"courses": url_for("api_catalogue.courses", programme=programme.code)},
    }


def course_json(course: Course, *, has_open_cohort: bool) -> dict:
    return {
        "id": course.id,
        "code": course.code,
        "title_en": course.title_en,
        "title_bg": course.title_bg or "",
        "summary_en": course.summary_en or "",
        "summary_bg": course.summary_bg or "",
        "workload_hours": course.workload_hours,
        "pass_mark": str(course.pass_mark),
        "state": str(course.state),
        "published_at": course.published_at,
        "instructors": [
            {"id": person.id, "name": person.name}
            for person in sorted(course.instructors, key=lambda p: p.id)
        ],
        "has_open_cohort": has_open_cohort,
        "links": {
            "self": url_for("api_catalogue.course", code=course.code),
            "cohorts": url_for("api_catalogue.cohorts", code=course.code),
        },
    }


def _visible_course(code: str) -> Course:
    """Return the course a code names, or 404 when it is missing or hidden from the user."""
    if len(code) > 32:
        abort(404, "No course has this code.")
    course = queries.course_with_contents(code)
    if course is None or not can_view_course(current_user, course):
        abort(404, "No course has this code.")  # a draft is not admitted to exist
    return course


def _open_cohort_ids(course: Course) -> set[int]:
    today = queries.local_today()
    return set(
        db.session.scalars(
            sa.select(Cohort.id).where(
                Cohort.course_id == course.id, queries.open_cohort_condition(today)
            )
        )
    )


@bp.route("/programmes")
@optional_scope(*READ_SCOPES)
@bp.response(200, ProgrammeListSchema)
def programmes():
    """List the programmes the caller may see, by code."""
    return {"items": [programme_json(p) for p in queries.visible_programmes(current_user)]}


@bp.route("/courses")
@optional_scope(*READ_SCOPES)
@bp.arguments(CourseArgs, location="query")
@bp.response(200, page_schema(CourseSchema))
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def courses(args):
    """List courses by code: published ones, and the drafts the caller manages."""
    page, per_page = args["page"], args["per_page"]
    programme = None
    if args.get("programme"):
        programme = queries.programme_by_code(args["programme"])
        if programme is not None and programme not in queries.visible_programmes(current_user):
            programme = None
    if args.get("programme") and programme is None:
        # A filter naming no programme the caller may see matches no course.
        items, total, open_ids = [], 0, set()
    else:
        pagination, open_ids = queries.catalogue_page(
            current_user, search=args["search"], programme=programme, page=page, per_page=per_page
        )
        items, total = pagination.items, pagination.total or 0
        page = pagination.page  # a number past the end shows (and says) the last page
    query = {"search": args["search"] or None, "programme": args.get("programme")}
    query = {k: v for k, v in query.items() if v}

    def link(number):
        return url_for("api_catalogue.courses", page=number, per_page=per_page, **query)

    return {
        "items": [course_json(c, has_open_cohort=c.id in open_ids) for c in items],
        "page": page,
        "per_page": per_page,
        "total": total,
        "links": {
            "self": link(page),
            "next": link(page + 1) if page * per_page < total else None,
            "prev": link(page - 1) if page > 1 else None,
        },
    }


@bp.route("/courses/<code>")
@optional_scope(*READ_SCOPES)
@bp.response(200, CourseDetailSchema)
@bp.alt_response(404, response="NOT_FOUND")
def course(code: str):
    """Return a course with its outcomes, modules and programmes."""
    course = _visible_course(code)
    body = course_json(course, has_open_cohort=bool(_open_cohort_ids(course)))
    body["outcomes"] = [
        {"id": o.id, "text_en": o.text_en, "text_bg": o.text_bg or ""} for o in course.outcomes
    ]
    body["modules"] = [
        {
            "id": m.id,
            "title_en": m.title_en,
            "title_bg": m.title_bg or "",
            "lesson_count": sum(1 for lesson in m.lessons if lesson.published),
        }
        for m in course.modules
    ]
    visible = {p.id for p in queries.visible_programmes(current_user)}
    body["programmes"] = sorted(
        link.programme.code for link in course.programme_links if link.programme_id in visible
    )
    return body


@bp.route("/courses/<code>/cohorts")
@optional_scope(*READ_SCOPES)
@bp.response(200, CohortListSchema)
@bp.alt_response(404, response="NOT_FOUND")
def cohorts(code: str):
    """List a course's cohorts by start date, each saying whether it is open for enrolment."""
    course = _visible_course(code)
    open_ids = _open_cohort_ids(course)
    items = db.session.scalars(
        sa.select(Cohort).where(Cohort.course_id == course.id).order_by(Cohort.starts_on, Cohort.id)
    ).all()
    course_url = url_for("api_catalogue.course", code=course.code)
    return {
        "items": [
            {
                "id": c.id,
                "name": c.name,
                "name_bg": c.name_bg,
                "starts_on": c.starts_on,
                "ends_on": c.ends_on,
                "capacity": c.capacity,
                "enrol_opens_on": c.enrol_opens_on,
                "enrol_closes_on": c.enrol_closes_on,
                "self_enrolment": c.self_enrolment,
                "open_for_enrolment": c.id in open_ids,
                "links": {"course": course_url},
            }
            for c in items
        ]
    }

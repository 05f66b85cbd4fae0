"""Enrolments over the API: a trainee's own, and the rosters of the staff's cohorts."""

from __future__ import annotations

import logging

import marshmallow as ma
import sqlalchemy as sa
from flask import url_for
from sqlalchemy.orm import contains_eager

from courses.enrolment import operations
from courses.enrolment.csv_import import EMAIL_MAX_LENGTH
from courses.models import Cohort, Course, Enrolment, EnrolmentStatus
from courses.permissions import can_manage_course, can_view_course
from lms.api import (
    ApiSchema,
    PageArgs,
    abort,
    api_blueprint,
    current_api_user,
    idempotent,
    page_schema,
    paginate,
    require_scope,
)
from lms.api.loading import MAX_ID, load
from lms.auth.operations import find_user_by_email
from lms.models import Role, User
from lms.permissions import require

logger = logging.getLogger(__name__)

bp = api_blueprint("api_enrolments", __name__, description="Enrolments in cohorts")

STATUSES = [str(s) for s in EnrolmentStatus]


class CohortRefSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    name_bg = ma.fields.String(
        required=True, metadata={"description": "The Bulgarian name; empty when not given."}
    )
    course_code = ma.fields.String(required=True)
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(required=True)


class PersonSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    email = ma.fields.String(required=True)


class EnrolmentLinksSchema(ApiSchema):
    self = ma.fields.String(required=True)
    withdraw = ma.fields.String(required=True)
    course = ma.fields.String(required=True)


class EnrolmentSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, metadata={"enum": STATUSES})
    cohort = ma.fields.Nested(CohortRefSchema, required=True)
    user = ma.fields.Nested(PersonSchema, required=True)
    queued_at = ma.fields.DateTime(required=True)
    enrolled_at = ma.fields.DateTime(required=True, allow_none=True)
    withdrawn_at = ma.fields.DateTime(required=True, allow_none=True)
    links = ma.fields.Nested(EnrolmentLinksSchema, required=True)


class EnrolmentListArgs(PageArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    course = ma.fields.String(
        validate=ma.validate.Length(min=1, max=32), metadata={"description": "A course code"}
    )


class RosterArgs(PageArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))


class SelfEnrolSchema(ApiSchema):
    cohort_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_ID))


class StaffEnrolSchema(ApiSchema):
    email = ma.fields.Email(required=True, validate=ma.validate.Length(min=3, max=EMAIL_MAX_LENGTH))


def serialise(enrolment: Enrolment, *, staff: bool = False) -> dict:
    """Return the API form of an enrolment, with links for its owner or for staff."""
    cohort = enrolment.cohort
    if staff:
        own = url_for("api_enrolments.roster_entry", cohort_id=cohort.id, enrolment_id=enrolment.id)
        withdraw = url_for(
            "api_enrolments.staff_withdraw", cohort_id=cohort.id, enrolment_id=enrolment.id
        )
    else:
        own = url_for("api_enrolments.my_enrolment", enrolment_id=enrolment.id)
        withdraw = url_for("api_enrolments.my_withdraw", enrolment_id=enrolment.id)
    return {
        "id": enrolment.id,
        "status": str(enrolment.status),
        "cohort": {
            "id": cohort.id,
            "name": cohort.name,
            "name_bg": cohort.name_bg,
            "course_code": cohort.course.code,
            "starts_on": cohort.starts_on,
            "ends_on": cohort.ends_on,
        },
        "user": {
            "id": enrolment.user.id,
            "name": enrolment.user.name,
            "email": enrolment.user.email,
        },
        "queued_at": enrolment.queued_at,
        "enrolled_at": enrolment.enrolled_at,
        "withdrawn_at": enrolment.withdrawn_at,
        "links": {
            "self": own,
            "withdraw": withdraw,
            "course": url_for("courses.detail", code=cohort.course.code),
        },
    }


def _page(result: dict, *, staff: bool = False) -> dict:
    result["items"] = [serialise(e, staff=staff) for e in result["items"]]
    return result


def _with_parts(query):
    return (
        query.join(Enrolment.cohort)
        .join(Cohort.course)
        .join(Enrolment.user)
        .options(
            contains_eager(Enrolment.cohort).contains_eager(Cohort.course),
            contains_eager(Enrolment.user),
        )
    )


# --- the token's own enrolments ------------------------------------------------------------


@bp.route("/me/enrolments")
@require_scope("read", "learn")
@bp.arguments(EnrolmentListArgs, location="query")
@bp.response(200, page_schema(EnrolmentSchema))
def my_enrolments(args):
    """List the token user's enrolments, oldest first; filter by status or course code."""
    query = _with_parts(sa.select(Enrolment)).where(Enrolment.user_id == current_api_user.id)
    if args.get("status"):
        query = query.where(Enrolment.status == args["status"])
    if args.get("course"):
        query = query.where(Course.code == args["course"].upper())
    query = query.order_by(Enrolment.queued_at, Enrolment.id)
    return _page(paginate(query, args, endpoint="api_enrolments.my_enrolments"))


def _my_enrolment_or_404(enrolment_id: int) -> Enrolment:
    enrolment = load(Enrolment, enrolment_id)
    if enrolment is None or enrolment.user_id != current_api_user.id:
        abort(404, "You have no enrolment with this id.")
    return enrolment


@bp.route("/me/enrolments/<int:enrolment_id>")
@require_scope("read", "learn")
@bp.response(200, EnrolmentSchema)
@bp.alt_response(404, response="NOT_FOUND")
def my_enrolment(enrolment_id: int):
    """Return one of the token user's enrolments."""
    return serialise(_my_enrolment_or_404(enrolment_id))


@bp.route("/me/enrolments", methods=["POST"])
@require_scope("learn")
@idempotent
@bp.arguments(SelfEnrolSchema)
@bp.response(201, EnrolmentSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def self_enrol(data):
    """Enrol the token's trainee in a cohort: active if a place is free, else waiting list."""
    require(current_api_user.has_role(Role.TRAINEE, Role.ADMIN))
    cohort = load(Cohort, data["cohort_id"])
    if cohort is None or not can_view_course(current_api_user, cohort.course):
        abort(
            404,
            "No cohort has this id.",
            errors=[{"field": "cohort_id", "message": "Unknown cohort."}],
        )
    try:
        enrolment = operations.enrol(cohort, current_api_user, actor=current_api_user)
    except operations.EnrolmentError as error:
        abort(409, str(error))
    logger.info("user %s enrolled in cohort %s through the API", current_api_user.id, cohort.id)
    return (
        serialise(enrolment),
        201,
        {"Location": url_for(".my_enrolment", enrolment_id=enrolment.id)},
    )


@bp.route("/me/enrolments/<int:enrolment_id>/withdraw", methods=["POST"])
@require_scope("learn")
@bp.response(200, EnrolmentSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def my_withdraw(enrolment_id: int):
    """Withdraw from one of the token user's enrolments; a freed place goes to the waiting list."""
    enrolment = _my_enrolment_or_404(enrolment_id)
    try:
        operations.withdraw(enrolment, actor=current_api_user)
    except operations.EnrolmentError as error:
        abort(409, str(error))
    return serialise(enrolment)


# --- staff: the rosters of their cohorts ------------------------------------------------------


def _staff_cohort(cohort_id: int) -> Cohort:
    """Load a cohort whose course the token user manages: 404 if unknown, 403 otherwise."""
    cohort = load(Cohort, cohort_id)
    if cohort is None:
        abort(404, "No cohort has this id.")
    require(can_manage_course(current_api_user, cohort.course))
    return cohort


def _roster_entry_or_404(cohort: Cohort, enrolment_id: int) -> Enrolment:
    enrolment = load(Enrolment, enrolment_id)
    if enrolment is None or enrolment.cohort_id != cohort.id:
        abort(404, "This cohort has no enrolment with this id.")
    return enrolment


@bp.route("/cohorts/<int:cohort_id>/enrolments")
@require_scope("teach")
@bp.arguments(RosterArgs, location="query")
@bp.response(200, page_schema(EnrolmentSchema))
@bp.alt_response(404, response="NOT_FOUND")
def roster(args, cohort_id: int):
    """List a cohort's enrolments by name (course staff); filter by status."""
    cohort = _staff_cohort(cohort_id)
    query = _with_parts(sa.select(Enrolment)).where(Enrolment.cohort_id == cohort.id)
    if args.get("status"):
        query = query.where(Enrolment.status == args["status"])
    query = query.order_by(User.name, Enrolment.id)
    result = paginate(query, args, endpoint="api_enrolments.roster", cohort_id=cohort.id)
    return _page(result, staff=True)


@bp.route("/cohorts/<int:cohort_id>/enrolments/<int:enrolment_id>")
@require_scope("teach")
@bp.response(200, EnrolmentSchema)
@bp.alt_response(404, response="NOT_FOUND")
def roster_entry(cohort_id: int, enrolment_id: int):
    """Return one enrolment of a cohort (course staff)."""
    cohort = _staff_cohort(cohort_id)
    return serialise(_roster_entry_or_404(cohort, enrolment_id), staff=True)


@bp.route("/cohorts/<int:cohort_id>/enrolments", methods=["POST"])
@require_scope("teach")
@idempotent
@bp.arguments(StaffEnrolSchema)
@bp.response(201, EnrolmentSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def staff_enrol(data, cohort_id: int):
    """Enrol a user by e-mail (course staff); a full cohort puts them on the waiting list."""
    cohort = _staff_cohort(cohort_id)
    user = find_user_by_email(data["email"])
    if user is None:
        abort(
            422,
            "No account uses this address.",
            errors=[{"field": "email", "message": "No account uses this address."}],
        )
    try:
        enrolment = operations.enrol(cohort, user, actor=current_api_user, by_staff=True)
    except operations.EnrolmentError as error:
        abort(409, str(error))
    location = url_for(".roster_entry", cohort_id=cohort.id, enrolment_id=enrolment.id)
    return serialise(enrolment, staff=True), 201, {"Location": location}


@bp.route("/cohorts/<int:cohort_id>/enrolments/<int:enrolment_id>/withdraw", methods=["POST"])
@require_scope("teach")
@bp.response(200, EnrolmentSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def staff_withdraw(cohort_id: int, enrolment_id: int):
    """Withdraw an enrolment of a cohort (course staff)."""
    cohort = _staff_cohort(cohort_id)
    enrolment = _roster_entry_or_404(cohort, enrolment_id)
    try:
        operations.withdraw(enrolment, actor=current_api_user)
    except operations.EnrolmentError as error:
        abort(409, str(error))
    return serialise(enrolment, staff=True)

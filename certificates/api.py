"""Certificates over the API: a holder's own, the certifier's decisions, and public verification."""

from __future__ import annotations

import logging

import marshmallow as ma
import sqlalchemy as sa
from flask import Flask, url_for

from certificates import operations as ops
from certificates import queries
from certificates.models import Certificate, CertificateStatus, Scheme
from certificates.verify import service
from lms.api import (
    ApiSchema,
    PageArgs,
    abort,
    add_plain_path,
    api_blueprint,
    current_api_user,
    has_scope,
    idempotent,
    page_schema,
    paginate,
    register_blueprint,
    require_scope,
)
from lms.api.errors import PROBLEM_CONTENT_TYPE
from lms.api.loading import MAX_ID
from lms.extensions import db
from lms.models import Role, User
from lms.permissions import require

logger = logging.getLogger(__name__)

bp = api_blueprint("api_certificates", __name__, description="Certificates and their decisions")

STATUSES = [str(s) for s in CertificateStatus]


class SchemeRefSchema(ApiSchema):
    code = ma.fields.String(required=True)
    title = ma.fields.String(required=True)


class HolderSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True, metadata={"description": "As printed"})


class CertificateLinksSchema(ApiSchema):
    self = ma.fields.String(required=True)
    pdf = ma.fields.String(required=True)
    credential = ma.fields.String(required=True)
    verify = ma.fields.String(required=True)


class CertificateSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True, metadata={"description": "Verification code"})
    status = ma.fields.String(required=True, metadata={"enum": STATUSES})
    scheme = ma.fields.Nested(SchemeRefSchema, required=True)
    holder = ma.fields.Nested(HolderSchema, required=True)
    issued_at = ma.fields.DateTime(required=True)
    valid_from = ma.fields.DateTime(required=True)
    valid_until = ma.fields.DateTime(required=True, allow_none=True)
    revoked_at = ma.fields.DateTime(required=True, allow_none=True)
    revocation_reason = ma.fields.String(required=True, allow_none=True)
    links = ma.fields.Nested(CertificateLinksSchema, required=True)


class CertificateListArgs(PageArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    scheme = ma.fields.String(
        validate=ma.validate.Length(min=1, max=64), metadata={"description": "A scheme code"}
    )


class IssueSchema(ApiSchema):
    scheme = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "The scheme's code"},
    )
    user_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_ID))


class ReasonSchema(ApiSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=ops.MAX_REASON))


class RevokeSchema(ReasonSchema):
    in_error = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "Issued in error: no new certificate of the scheme for the holder"
            " until a certifier clears them."
        },
    )


class OptionalReasonSchema(ApiSchema):
    reason = ma.fields.String(load_default="", validate=ma.validate.Length(max=ops.MAX_REASON))


def serialise(cert: Certificate) -> dict:
    """Return a certificate as its holder or a certifier sees it (never the holder's e-mail)."""
    return {
        "id": cert.id,
        "code": cert.code,
        "status": str(cert.status),
        "scheme": {"code": cert.scheme.code, "title": cert.scheme.tr("title")},
        "holder": {"id": cert.user_id, "name": cert.snapshot.get("holder_name", cert.user.name)},
        "issued_at": cert.issued_at,
        "valid_from": cert.valid_from,
        "valid_until": cert.valid_until,
        "revoked_at": cert.revoked_at,
        "revocation_reason": cert.revocation_reason or None,
        "links": {
            "self": url_for("api_certificates.certificate", code=cert.code),
            "pdf": url_for("certificates.pdf", code=cert.code),
            "credential": url_for("certificates.credential", code=cert.code),
            "verify": url_for("verify.api_code", code=cert.code),
        },
    }


def _listing(args: dict, *, endpoint: str, user: User | None = None) -> dict:
    query = (
        sa.select(Certificate)
        .join(Certificate.scheme)
        .options(sa.orm.contains_eager(Certificate.scheme), sa.orm.selectinload(Certificate.user))
    )
    if user is not None:
        query = query.where(Certificate.user_id == user.id)
    if args.get("status"):
        query = query.where(Certificate.status == args["status"])
    if args.get("scheme"):
        query = query.where(Scheme.code == args["scheme"])
    query = query.order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    result = paginate(query, args, endpoint=endpoint)
    result["items"] = [serialise(cert) for cert in result["items"]]
    return result


def _is_certifier() -> bool:
    return has_scope("certify") and current_api_user.has_role(Role.CERTIFIER, Role.ADMIN)


@bp.route("/me/certificates")
@require_scope("read")
@bp.arguments(CertificateListArgs, location="query")
@bp.response(200, page_schema(CertificateSchema))
def my_certificates(args):
    """List the token user's certificates, newest first; filter by status or scheme code."""
    return _listing(args, endpoint="api_certificates.my_certificates", user=current_api_user)


@bp.route("/certificates")
@require_scope("certify")
@bp.arguments(CertificateListArgs, location="query")
@bp.response(200, page_schema(CertificateSchema))
def register(args):
    """List every certificate, newest first (certifiers); filter by status or scheme code."""
    require(current_api_user.has_role(Role.CERTIFIER, Role.ADMIN))
    return _listing(args, endpoint="api_certificates.register")


def _certificate_or_404(code: str) -> Certificate:
    """Load a certificate its holder or a certifier may see; anyone else gets 404."""
    cert = queries.certificate_by_code(code)
    if cert is None or not (cert.user_id == current_api_user.id or _is_certifier()):
        abort(404, "You have no certificate with this code.")
    return cert


@bp.route("/certificates/<code>")
@require_scope("read", "certify")
@bp.response(200, CertificateSchema)
@bp.alt_response(404, response="NOT_FOUND")
def certificate(code: str):
    """Return a certificate: its holder's own, or any for a certifier."""
    return serialise(_certificate_or_404(code))


def _fail(error: ops.CertificationError):
    if isinstance(error, ops.NotAllowed):
        abort(403, error.message)
    if isinstance(error, ops.NotEligible):
        abort(
            422,
            error.message,
            errors=[
                {"field": "user_id", "message": str(r.explanation)} for r in error.result.unmet
            ],
        )
    abort(409, error.message)


@bp.route("/certificates", methods=["POST"])
@require_scope("certify")
@idempotent
@bp.arguments(IssueSchema)
@bp.response(201, CertificateSchema)
@bp.alt_response(200, schema=CertificateSchema, description="The live certificate already held")
@bp.alt_response(409, response="CONFLICT")
def issue(data):
    """Issue a scheme's certificate to a trainee, or return the live one they hold (certifiers)."""
    require(current_api_user.has_role(Role.CERTIFIER, Role.ADMIN))
    scheme = queries.scheme_by_code(data["scheme"])
    trainee = db.session.get(User, data["user_id"])
    errors = []
    if scheme is None:
        errors.append({"field": "scheme", "message": "No scheme has this code."})
    if trainee is None:
        errors.append({"field": "user_id", "message": "No user has this id."})
    if errors:
        abort(422, "The request names something that does not exist.", errors=errors)
    try:
        # Commits its own short writes; the PDF is made in between with no lock held.
        cert, created = ops.issue_or_get(scheme, trainee, actor=current_api_user)
    except ops.CertificationError as error:
        _fail(error)
    if not created:  # held already, or issued meanwhile by a concurrent request
        return serialise(cert), 200
    logger.info("certificate %s issued through the API", cert.code)
    location = url_for(".certificate", code=cert.code)
    return serialise(cert), 201, {"Location": location}


def _decide(code: str, run) -> dict:
    require(current_api_user.has_role(Role.CERTIFIER, Role.ADMIN))
    cert = queries.certificate_by_code(code)
    if cert is None:
        abort(404, "No certificate has this code.")
    try:
        run(cert)
    except ops.CertificationError as error:
        _fail(error)
    return serialise(cert)


@bp.route("/certificates/<code>/suspend", methods=["POST"])
@require_scope("certify")
@bp.arguments(ReasonSchema)
@bp.response(200, CertificateSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def suspend(data, code: str):
    """Suspend an active certificate, with a reason (reversible)."""
    return _decide(code, lambda c: ops.suspend(c, reason=data["reason"], actor=current_api_user))


@bp.route("/certificates/<code>/reinstate", methods=["POST"])
@require_scope("certify")
@bp.arguments(OptionalReasonSchema)
@bp.response(200, CertificateSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def reinstate(data, code: str):
    """Lift the suspension of a certificate."""
    return _decide(code, lambda c: ops.reinstate(c, reason=data["reason"], actor=current_api_user))


@bp.route("/certificates/<code>/revoke", methods=["POST"])
@require_scope("certify")
@bp.arguments(RevokeSchema)
@bp.response(200, CertificateSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def revoke(data, code: str):
    """Revoke a certificate for good, with a reason; the record stays."""
    return _decide(
        code,
        lambda c: ops.revoke(
            c, reason=data["reason"], actor=current_api_user, in_error=data["in_error"]
        ),
    )


# --- public verification (plain routes in certificates.verify.views) ----------------------------


class CheckSchema(ma.Schema):
    name = ma.fields.String(required=True)
    passed = ma.fields.Boolean(required=True)
    detail = ma.fields.String(required=True)


class VerifyReportSchema(ma.Schema):
    """The JSON verification report (a stable interface)."""

    valid = ma.fields.Boolean(required=True)
    status = ma.fields.String(
        required=True,
        metadata={
            "description": (
                "The verdict. Revocation is read from the credential's one-bit revocation"
                " status list (and the register); suspension is a state of the register"
                " only, reported here but not published in the status list."
            ),
            "enum": [
                service.ACTIVE,
                service.REVOKED,
                service.SUSPENDED,
                service.EXPIRED,
                service.NOT_YET_VALID,
                service.INVALID,
                service.UNKNOWN,
            ],
        },
    )
    checks = ma.fields.List(ma.fields.Nested(CheckSchema), required=True)
    credential = ma.fields.Dict(
        required=True, metadata={"description": "The signed OpenBadgeCredential"}
    )
    reason = ma.fields.String(metadata={"description": "Why it was revoked or suspended"})


def _problem(description: str) -> dict:
    return {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": "Problem"}},
    }


def _document_verification(app: Flask) -> None:
    """Add the public verify endpoints to the OpenAPI document, from the report schema."""
    from lms.api import get_api

    spec = get_api(app).spec
    spec.components.schema("VerifyReport", schema=VerifyReportSchema)
    report = {"application/json": {"schema": "VerifyReport"}}
    rate_limited = _problem("Too many requests; see Retry-After")
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    add_plain_path(
        app,
        "/api/v1/verify/{code}",
        {
            "get": {
                "tags": ["Verification"],
                "summary": "Verify a certificate by its code (public)",
                "operationId": "verify_code",
                "security": [],
                "parameters": [
                    {
                        "name": "code",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "maxLength": 64},
                        "description": "The verification code printed on the certificate",
                    }
                ],
                "responses": {
                    "200": {"description": "The report", "content": report},
                    "404": _problem("No certificate has this code"),
                    "429": rate_limited,
                },
            }
        },
        rule=rules["verify.api_code"],
    )
    add_plain_path(
        app,
        "/api/v1/verify",
        {
            "post": {
                "tags": ["Verification"],
                "summary": "Verify a credential (JSON body) or an uploaded PDF or JSON (public)",
                "operationId": "verify_upload",
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"type": "object"}},
                        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {"file": {"type": "string", "format": "binary"}},
                                "required": ["file"],
                            }
                        },
                    },
                },
                "responses": {
                    "200": {"description": "The report", "content": report},
                    "400": _problem("No file in the upload"),
                    "413": _problem("The upload is too large"),
                    "415": _problem("Unsupported media type"),
                    "422": _problem("The input is not a credential"),
                    "429": rate_limited,
                },
            }
        },
        rule=rules["verify.api_upload"],
    )
    vc_result = {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["verified", "checks", "warnings", "errors"],
                "properties": {
                    "verified": {"type": "boolean"},
                    "checks": {"type": "array", "items": {"type": "string"}},
                    "warnings": {"type": "array", "items": {"type": "object"}},
                    "errors": {"type": "array", "items": {"type": "object"}},
                },
            }
        }
    }
    add_plain_path(
        app,
        "/credentials/verify",
        {
            "post": {
                "tags": ["Verification"],
                "summary": "Verify a credential as the W3C VC API does (public, CORS)",
                "operationId": "vc_api_verify_credential",
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["verifiableCredential"],
                                "properties": {
                                    "verifiableCredential": {"type": "object"},
                                    "options": {"type": "object"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {"description": "Verified: every check passed", "content": vc_result},
                    "400": {
                        "description": "Not verified, or invalid input; errors say why",
                        "content": vc_result,
                    },
                    "413": _problem("The request is too large"),
                    "429": rate_limited,
                },
            }
        },
        rule=rules["verify.vc_api_verify"],
    )


def init_app(app: Flask) -> None:
    """Register the certificates API and document the public verification endpoints."""
    register_blueprint(app, bp)
    _document_verification(app)

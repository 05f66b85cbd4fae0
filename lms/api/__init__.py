"""The JSON API under /api/v1: registry, tokens, scopes, problems, idempotency, OpenAPI.

Built on flask-smorest (marshmallow schemas -> OpenAPI 3.1 at ``/api/v1/openapi.json``,
reference page at ``/api/v1/docs``). A domain adds endpoints like this::

    # courses/api/enrolments.py
    from lms.api import ApiSchema, abort, api_blueprint, current_api_user, idempotent
    from lms.api import require_scope
    import marshmallow as ma

    bp = api_blueprint("api_enrolments", __name__, url_prefix="/enrolments",
                       description="Enrolments of the token's user")

    class EnrolmentIn(ApiSchema):            # unknown fields -> 422
        cohort_id = ma.fields.Integer(required=True)

    class EnrolmentOut(ApiSchema):
        id = ma.fields.Integer()
        status = ma.fields.String()

    @bp.route("", methods=["POST"])
    @require_scope("learn")                  # 401 without token, 403 without scope
    @idempotent                              # honours Idempotency-Key
    @bp.arguments(EnrolmentIn)               # JSON body, validated
    @bp.response(201, EnrolmentOut)
    def create(data):
        cohort = db.get_or_404(Cohort, data["cohort_id"])
        try:
            enrolment = operations.enrol(cohort, current_api_user, actor=current_api_user)
        except operations.EnrolmentError as exc:
            abort(409, str(exc))             # -> RFC 9457 problem
        return enrolment                     # committed after the view (lms.web)

and the factory registers it with one line: ``register_blueprint(app, bp)`` (from
``lms.api``), after ``lms.api.init_app(app)``.

Rules for endpoints:

- ``url_prefix`` is relative: ``api_blueprint`` puts it under ``/api/v1``.
- Every endpoint but public ones has ``@require_scope(...)`` (any of the scopes
  listed); public reads use ``@optional_scope(...)`` (anonymous allowed, a token sent
  must carry one of the scopes). Scopes: read (GET of what the user may see), learn
  (trainee writes), teach (instructor writes), certify (certifier writes), admin.
  A token's scopes are cut down to what its user's roles allow at each request. After the scope,
  apply the same role/relation checks as the pages (``lms.permissions.require``,
  ``courses.permissions...``); ``current_user`` is the token's user too, so
  operations and ``audit.record`` see the right actor. Session cookies never
  authenticate under these blueprints.
- Errors: ``abort(status, detail, errors=[{"field", "message"}])`` or any werkzeug
  HTTPException; both become ``application/problem+json``. Schema validation gives
  422 with ``errors``. Document extra statuses with ``@bp.alt_response(409,
  response="CONFLICT")`` (every ``HTTPStatus`` name is a registered response).
- Lists: ``@bp.arguments(PageArgs, location="query")`` and ``page_schema(ItemSchema)``
  with ``paginate(select, args, endpoint=..., **url_args)`` (see ``lms.api.pagination``);
  order by a unique key so pages are stable.
- Resources carry ``id`` and ``links`` (``{"self": url_for(..., _external=False)}``).
- Plain Flask routes (not flask-smorest) can be documented with
  ``add_plain_path(app, path, operations)`` from a function the factory calls.
"""

from __future__ import annotations

import hashlib
import http
from pathlib import Path

import flask_smorest
from flask import Blueprint as FlaskBlueprint
from flask import Flask, current_app, request, send_from_directory
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from lms.api.errors import PROBLEM_CONTENT_TYPE, ProblemSchema, abort, handle_api_error
from lms.extensions import csrf, limiter, remote_address

API_PREFIX = "/api/v1"
EXTENSION_KEY = "lms-api"

__all__ = [
    "API_PREFIX",
    "ApiSchema",
    "PageArgs",
    "abort",
    "add_plain_path",
    "api_blueprint",
    "current_api_token",
    "current_api_user",
    "has_scope",
    "idempotent",
    "init_app",
    "optional_scope",
    "page_schema",
    "paginate",
    "register_blueprint",
    "require_scope",
]


class Api(flask_smorest.Api):
    """flask-smorest's Api with problem documents as the documented error body."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        # Each API blueprint gets its own handler (register_blueprint); the app-wide
        # handler in lms.errors keeps serving pages and unrouted /api/ paths.
        pass

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


# Never registered: lends flask-smorest's documentation decorators to helpers.
doc_helper = flask_smorest.Blueprint("lms_api_doc_helper", __name__)

from lms.api.auth import (  # noqa: E402 - they use doc_helper
    SCOPE_DESCRIPTIONS,
    authenticate,
    current_api_token,
    current_api_user,
    has_scope,
    optional_scope,
    require_scope,
)
from lms.api.idempotency import idempotent  # noqa: E402
from lms.api.pagination import PageArgs, page_schema, paginate  # noqa: E402
from lms.api.schemas import ApiSchema  # noqa: E402


def api_blueprint(name: str, import_name: str, *, url_prefix: str = "", description: str = ""):
    """Create a blueprint whose routes live under ``/api/v1`` + ``url_prefix``."""
    return flask_smorest.Blueprint(
        name, import_name, url_prefix=API_PREFIX + url_prefix, description=description
    )


def get_api(app: Flask | None = None) -> Api:
    return (app or current_app).extensions[EXTENSION_KEY]


def _token_key() -> str:
    """Rate-limit key: the token sent (hashed), else the address."""
    header = request.headers.get("Authorization", "")
    if header:
        return "api-token:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    return "api-address:" + remote_address()


def _token_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def _address_limit() -> str:
    return current_app.config["API_RATE_LIMIT_PER_ADDRESS"]


_per_token = limiter.shared_limit(_token_limit, scope="api-token", key_func=_token_key)
_per_address = limiter.shared_limit(_address_limit, scope="api-address", key_func=remote_address)


def register_blueprint(app: Flask, blp: flask_smorest.Blueprint) -> None:
    """Register an API blueprint: documented, token-authenticated, rate-limited, CSRF-exempt."""
    # Blueprints are module-level and may be registered on several apps (tests):
    # hook them up once, before their first registration.
    if not getattr(blp, "_lms_api_ready", False):
        blp.before_request(authenticate)
        blp.register_error_handler(HTTPException, handle_api_error)
        csrf.exempt(blp)
        _per_token(blp)
        _per_address(blp)
        blp._lms_api_ready = True
    get_api(app).register_blueprint(blp)


def add_plain_path(app: Flask, path: str, operations: dict, **kwargs) -> None:
    """Document a plain Flask route (e.g. the public verify endpoints) in the spec."""
    get_api(app).spec.path(path=path, operations=operations, **kwargs)


def _swagger_ui_dir() -> Path:
    import flask_swagger_ui

    return Path(flask_swagger_ui.__file__).parent / "dist"


def init_app(app: Flask) -> None:
    """Set up the API on ``app``: the spec, its pages and the core endpoints."""
    from lms.api import models  # noqa: F401 - register the tables

    config = app.config
    config.setdefault("API_RATE_LIMIT", "300 per minute")  # per token
    config.setdefault("API_RATE_LIMIT_PER_ADDRESS", "600 per minute")
    config.setdefault("API_MAX_CONTENT_LENGTH", 1024 * 1024)
    config.setdefault("API_TOKEN_MAX_DAYS", 366)
    config.setdefault("API_TITLE", "Skills4Cities LMS API")
    config.setdefault("API_VERSION", "1")
    config.setdefault("OPENAPI_VERSION", "3.1.0")
    config.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
    config.setdefault("OPENAPI_SWAGGER_UI_URL", API_PREFIX + "/docs/static/")
    config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {
                "description": (
                    "JSON API of the Skills4Cities LMS. Create a personal access token on "
                    "your account page and send it as `Authorization: Bearer <token>`. "
                    "Errors are RFC 9457 problem documents. POST requests that create "
                    "things accept an `Idempotency-Key` header."
                )
            },
            "servers": [{"url": "/"}],
        },
    )

    api = Api(app)
    app.extensions[EXTENSION_KEY] = api
    scopes = "\n".join(f"- `{name}`: {text}" for name, text in SCOPE_DESCRIPTIONS.items())
    api.spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A personal access token. Each operation lists the scopes that "
                "accept it; a token's scopes never exceed its user's roles.\n\n" + scopes
            ),
        },
    )

    static = FlaskBlueprint("api_static", __name__)

    @static.get(API_PREFIX + "/docs/static/<path:filename>")
    def swagger_ui_static(filename: str):
        """Serve the reference page's scripts from the installed package (no CDN)."""
        return send_from_directory(_swagger_ui_dir(), filename, max_age=86400)

    app.register_blueprint(static)

    from lms.api.endpoints import bp as core_bp

    register_blueprint(app, core_bp)
    from lms.api.views import bp as tokens_bp

    app.register_blueprint(tokens_bp)

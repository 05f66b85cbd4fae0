"""Public verification pages, the JSON verify API and the issuer's published documents.

Everything here is public (no login) except the employers' bulk check, and changes
nothing: the API endpoints are exempt from CSRF. Requests are rate-limited per address.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import date

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from werkzeug.datastructures import FileStorage

from certificates import issuer
from certificates.credentials import signing
from certificates.credentials.jsonld import OB_V3_URL, VC_V2_URL
from certificates.credentials.openbadges import IssuerSnapshot, build_issuer
from certificates.models import Scheme, SigningKey, StatusList
from certificates.verify import messages, service
from certificates.verify.forms import BulkForm, CodeForm, UploadForm
from lms.csvsafe import CSV_MIMETYPE, csv_bytes
from lms.errors import problem
from lms.extensions import csrf, db, limiter, remote_address
from lms.models import Role
from lms.permissions import roles_required

logger = logging.getLogger(__name__)

bp = Blueprint("verify", __name__, template_folder="../templates")

#: Defaults of the settings ``VERIFY_*`` (``LMS_VERIFY_*`` in the environment).
DEFAULTS = {
    "VERIFY_RATE_LIMIT": "60 per minute",
    "VERIFY_API_RATE_LIMIT": "60 per minute",
    "VERIFY_DOCUMENT_RATE_LIMIT": "600 per minute",
    "VERIFY_MAX_UPLOAD": 5 * 1024 * 1024,
    "VERIFY_BULK_MAX_CODES": 200,
}
JSON_LD = "application/ld+json"
PUBLIC_CACHE_SECONDS = 300


def setting(name: str):
    """Return a verification setting, from the app config or its default."""
    return current_app.config.get(name, DEFAULTS[name])


def _address_key() -> str:
    return "address:" + remote_address()


page_limit = limiter.shared_limit(
    lambda: setting("VERIFY_RATE_LIMIT"), scope="verify-pages", key_func=_address_key
)
api_limit = limiter.shared_limit(
    lambda: setting("VERIFY_API_RATE_LIMIT"), scope="verify-api", key_func=_address_key
)
document_limit = limiter.shared_limit(
    lambda: setting("VERIFY_DOCUMENT_RATE_LIMIT"), scope="verify-documents", key_func=_address_key
)


@bp.context_processor
def template_helpers():
    return {"when": when}


def when(value: str | None) -> str:
    """Return a credential's timestamp as a local date, or the text itself if malformed."""
    moment = service.parse_time(value)
    return format_date(moment, "long") if moment is not None else (value or "")


def _is_api() -> bool:
    return request.path.startswith("/api/")


@bp.errorhandler(RateLimitExceeded)
def too_many_requests(error: RateLimitExceeded):
    """Refuse kindly; Flask-Limiter adds the Retry-After header."""
    db.session.rollback()
    logger.info("refused %s from %s: rate limit", request.endpoint, remote_address())
    if _is_api():
        return problem(429, "Too Many Requests", "Too many verification requests; wait a minute.")
    return render_template("verify/too_many.html"), 429


class UploadTooLarge(ValueError):
    """The upload exceeds the verification size cap."""


def _max_upload() -> int:
    return int(setting("VERIFY_MAX_UPLOAD"))


def upload_limit_text() -> str:
    """Return the size cap for people: ``5 MB`` or ``512 KB``."""
    limit = _max_upload()
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    return f"{max(1, limit // 1024)} KB"


def _too_large_message() -> str:
    return _("The file is larger than %(size)s.", size=upload_limit_text())


def _read_capped(stream) -> bytes:
    """Read at most the size cap from ``stream``; raise UploadTooLarge beyond it."""
    limit = _max_upload()
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        raise UploadTooLarge
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLarge
    return data


def _no_store(response: Response) -> Response:
    # A report changes when the certificate is suspended or revoked: never cache it.
    response.headers["Cache-Control"] = "no-store"
    return response


# --- pages --------------------------------------------------------------------------------


def _form_page(
    upload_form: UploadForm | None = None,
    error: str | None = None,
    status: int = 200,
    code_form: CodeForm | None = None,
):
    code_form = code_form or CodeForm(request.args)
    return (
        render_template(
            "verify/form.html",
            code_form=code_form,
            upload_form=upload_form or UploadForm(),
            error=error,
            max_size=upload_limit_text(),
        ),
        status,
    )


def _report_page(report: service.Report, *, status: int = 200, uploaded: str | None = None):
    response = current_app.make_response(
        (
            render_template(
                "verify/report.html",
                report=report,
                uploaded=uploaded,
                messages=messages,
                credential=report.credential,
            ),
            status,
        )
    )
    return _no_store(response)


@bp.get("/verify")
@page_limit
def form():
    """Show the form: enter a code, or upload the PDF or the credential JSON."""
    if "code" in request.args:
        code_form = CodeForm(request.args)
        if code_form.validate():
            typed = code_form.code.data.strip()
            code = service.canonical_code(typed)
            if code is None:
                # Answer as for an unknown code, after the same lookup.
                return _report_page(service.verify_code(typed), status=404)
            return redirect(url_for("verify.show", code=code))
        return _form_page(status=400, code_form=code_form)
    return _form_page()


@bp.get("/verify/<code>")
@page_limit
def show(code: str):
    """Report on the certificate a code names (the QR code's link)."""
    report = service.verify_code(code)
    if report.status == service.NOT_FOUND:
        return _report_page(report, status=404)
    return _report_page(report)


@bp.post("/verify")
@page_limit
def upload():
    """Verify an uploaded certificate PDF or credential JSON."""
    upload_form = UploadForm()
    if not upload_form.validate_on_submit():
        return _form_page(upload_form, _("The form has expired; please try again."), 400)
    file = upload_form.file.data
    if not isinstance(file, FileStorage) or not file.filename:
        return _form_page(upload_form, _("Choose a PDF or JSON file to verify."), 400)
    try:
        data = _read_capped(file.stream)
    except UploadTooLarge:
        return _form_page(upload_form, _too_large_message(), 413)
    finally:
        file.close()
    report = service.verify_upload(data)
    if report.error:
        return _form_page(upload_form, _upload_error(report), 400)
    return _report_page(report, uploaded=file.filename)


def _upload_error(report: service.Report) -> str:
    """Return the page's message for a file that holds no credential."""
    if report.kind == service.PDF:
        return _("The PDF cannot be verified: %(reason)s", reason=report.error)
    if report.kind == service.JSON:
        return _("The JSON file cannot be verified: %(reason)s", reason=report.error)
    return _("The file cannot be verified: %(reason)s", reason=report.error)


# --- bulk check for employers -------------------------------------------------------------


class BulkInputError(ValueError):
    """The list of codes cannot be read."""


def _codes_from_text(text: str) -> list[str]:
    """Return the first cell of every non-empty row; a leading header row is skipped."""
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    codes = []
    for row in csv.reader(io.StringIO(text), delimiter=delimiter):
        cell = row[0].strip() if row else ""
        if not cell:
            continue
        if (
            not codes
            and service.canonical_code(cell) is None
            and cell.lower()
            in (
                "code",
                "codes",
                "verification code",
                "код",
            )
        ):
            continue
        codes.append(cell)
    return codes


def _bulk_codes(bulk_form: BulkForm) -> list[str]:
    file = bulk_form.file.data
    texts = []
    if isinstance(file, FileStorage) and file.filename:
        try:
            raw = _read_capped(file.stream)
        except UploadTooLarge as exc:
            raise BulkInputError(_too_large_message()) from exc
        try:
            texts.append(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise BulkInputError(_("The file is not a UTF-8 CSV file.")) from exc
    if bulk_form.codes.data:
        texts.append(bulk_form.codes.data)
    codes = [code for text in texts for code in _codes_from_text(text)]
    if not codes:
        raise BulkInputError(_("Give at least one code, in a CSV file or pasted."))
    limit = int(setting("VERIFY_BULK_MAX_CODES"))
    if len(codes) > limit:
        raise BulkInputError(
            _(
                "At most %(limit)s codes at once; this list has %(count)s.",
                limit=limit,
                count=len(codes),
            )
        )
    return codes


def _bulk_csv(rows: list[tuple[str, service.Report]]) -> Response:
    header = ["code", "verdict", "valid", "holder", "scheme", "valid_from", "valid_until", "reason"]
    body = csv_bytes(
        (
            [
                typed,
                report.status,
                "yes" if report.valid else "no",
                report.credential.get("holder", ""),
                report.credential.get("achievement", {}).get("name", ""),
                report.credential.get("validFrom", ""),
                report.credential.get("validUntil", ""),
                report.reason,
            ]
            for typed, report in rows
        ),
        header,
    )
    response = Response(body, mimetype=CSV_MIMETYPE)
    filename = f"verification-{date.today().isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _no_store(response)


@bp.route("/verify/bulk", methods=["GET", "POST"])
@roles_required(Role.EMPLOYER)
@page_limit
def bulk():
    """Verify a list of codes at once, as a table or a CSV file."""
    bulk_form = BulkForm()
    rows: list[tuple[str, service.Report]] = []
    error = None
    status = 200
    if bulk_form.validate_on_submit():
        try:
            codes = _bulk_codes(bulk_form)
        except BulkInputError as exc:
            error, status = str(exc), 400
        else:
            rows = list(zip(codes, service.verify_codes(codes), strict=True))
            logger.info("bulk verification of %s codes from %s", len(rows), remote_address())
            if bulk_form.download.data:
                return _bulk_csv(rows)
    elif bulk_form.is_submitted():
        status = 400
    response = current_app.make_response(
        (
            render_template(
                "verify/bulk.html",
                form=bulk_form,
                rows=rows,
                error=error,
                messages=messages,
                max_codes=setting("VERIFY_BULK_MAX_CODES"),
            ),
            status,
        )
    )
    return _no_store(response)


# --- JSON API -----------------------------------------------------------------------------


def _not_found():
    return problem(404, "Not Found", "No certificate has this verification code.", valid=False)


@bp.get("/api/v1/verify/<code>")
@api_limit
def api_code(code: str):
    """Return the JSON report of the certificate a code names."""
    report = service.verify_code(code)
    if report.status == service.NOT_FOUND:
        return _not_found()
    return _no_store(jsonify(report.as_dict()))


JSON_TYPES = ("application/json", "application/ld+json", "application/vc+ld+json")


@bp.post("/api/v1/verify")
@csrf.exempt
@api_limit
def api_upload():
    """Return the JSON report of a credential (JSON body) or an uploaded PDF or JSON file."""
    try:
        if request.mimetype == "multipart/form-data":
            file = request.files.get("file")
            if file is None:
                return problem(400, "Bad Request", "Send the PDF or JSON as the form field 'file'.")
            data, kind = _read_capped(file.stream), None
        elif request.mimetype in JSON_TYPES:
            data, kind = _read_capped(request.stream), service.JSON
        elif request.mimetype == "application/pdf":
            data, kind = _read_capped(request.stream), service.PDF
        else:
            return problem(
                415,
                "Unsupported Media Type",
                "Send a credential as application/json, a PDF as application/pdf,"
                " or either as a multipart file upload.",
            )
    except UploadTooLarge:
        limit = _max_upload()
        return problem(413, "Content Too Large", f"Uploads are limited to {limit} bytes.")
    report = service.verify_upload(data, kind=kind)
    if report.error:
        body = report.as_dict()
        return problem(
            422,
            "Unprocessable Content",
            report.error,
            valid=False,
            checks=body["checks"],
        )
    return _no_store(jsonify(report.as_dict()))


# --- the issuer's published documents -----------------------------------------------------


def _json_ld(document: dict, *, max_age: int = PUBLIC_CACHE_SECONDS) -> Response:
    response = jsonify(document)
    response.mimetype = JSON_LD
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def issuer_profile() -> dict:
    """Return the issuer Profile with every verification key, current and retired."""
    config = current_app.config
    profile = build_issuer(
        IssuerSnapshot(id=issuer.issuer_url(), name=config["CENTRE_NAME"], url=issuer.base_url())
    )
    rows = db.session.scalars(sa.select(SigningKey).order_by(SigningKey.id)).all()
    methods = []
    for row in rows:
        method = signing.multikey_document(
            profile["id"], signing.public_key_from_multikey(row.public_multikey)
        )
        method.pop("@context")  # the profile's context list carries it
        methods.append(method)
    return {
        "@context": [VC_V2_URL, OB_V3_URL, signing.MULTIKEY_CONTEXT],
        **profile,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


@bp.get("/issuer")
@document_limit
def issuer_document():
    """Publish the issuer Profile and its keys, so anyone can check a signature."""
    return _json_ld(issuer_profile())


@bp.get("/achievements/<scheme_code>")
@document_limit
def achievement(scheme_code: str):
    """Publish the Achievement a scheme stands for, as credentials name it."""
    from certificates.achievements import achievement_json

    scheme = db.first_or_404(sa.select(Scheme).where(Scheme.code == scheme_code))
    return _json_ld({"@context": [VC_V2_URL, OB_V3_URL], **achievement_json(scheme)})


@bp.get("/status-lists/<int:list_id>")
@document_limit
def status_list(list_id: int):
    """Publish a signed Bitstring Status List credential, cacheable for five minutes."""
    row = db.get_or_404(StatusList, list_id)
    if row.credential is None:
        abort(404)  # not signed yet: nothing to publish
    response = _json_ld(row.credential)
    response.last_modified = row.updated_at
    response.add_etag()
    return response.make_conditional(request)

"""Public verification pages, the JSON verify API and the issuer's published documents.

Everything here is public (no login) except the employers' bulk check, and changes
nothing: every view is read-only (no write lock, even for uploads), and the API
endpoints are exempt from CSRF. Requests are rate-limited per address.
"""

from __future__ import annotations

import csv
import logging
from datetime import UTC, date, datetime

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
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from certificates import badges, issuer
from certificates.credentials.checks import FORMAT, ISSUER_KEY, PROOF, SCHEMA, STATUS, VALIDITY
from certificates.credentials.jsonld import OB_V3_URL, VC_V2_URL
from certificates.models import Scheme, StatusList
from certificates.verify import bounds, counts, messages, service
from certificates.verify.forms import BulkForm, CodeForm, UploadForm
from lms import pdfsign
from lms.cors import public_read
from lms.csvsafe import CSV_MIMETYPE, csv_bytes
from lms.db import read_only
from lms.errors import problem
from lms.extensions import csrf, db, limiter, remote_address
from lms.i18n import format_day
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
#: The W3C VC API verifier endpoint.
VC_API_VERIFY = "/credentials/verify"
PEM = "application/x-pem-file"
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
    return format_day(moment) if moment is not None else (value or "")


def _is_api() -> bool:
    return request.path.startswith("/api/") or request.path == VC_API_VERIFY


@bp.after_request
def _cors_for_vc_api(response: Response) -> Response:
    """Let any web page call the W3C VC API verifier, errors and refusals included."""
    if request.path == VC_API_VERIFY:
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


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
            recent=recent_checks() if current_user.is_authenticated else [],
            messages=messages,
        ),
        status,
    )


RECENT_CHECKS = 10


def _remember_check(report: service.Report, uploaded: str | None, code: str | None) -> None:
    """Keep an employer's last checks in their session, newest first, for their home page."""
    if not (current_user.is_authenticated and current_user.has_role(Role.EMPLOYER)):
        return
    code = report.code or code or ""
    if not code and not uploaded:
        return
    entry = {
        "code": code[:64],
        "file": uploaded or "",
        "status": report.status,
        "holder": str(report.credential.get("credentialSubject", {}).get("name", ""))[:200]
        if isinstance(report.credential.get("credentialSubject"), dict)
        else "",
        "at": datetime.now(UTC).isoformat(),
    }
    recent = [
        e for e in session.get("recent_checks", []) if not code or e.get("code") != entry["code"]
    ]
    session["recent_checks"] = [entry, *recent][:RECENT_CHECKS]


def recent_checks() -> list[dict]:
    """The signed-in employer's recent checks, with their moments read back as datetimes."""
    rows = []
    for entry in session.get("recent_checks", []):
        try:
            at = datetime.fromisoformat(entry["at"])
        except (KeyError, TypeError, ValueError):
            continue
        rows.append({**entry, "at": at})
    return rows


def _report_page(
    report: service.Report,
    *,
    status: int = 200,
    uploaded: str | None = None,
    code: str | None = None,
):
    counts.record(report)
    _remember_check(report, uploaded, code)
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
        return _report_page(report, status=404, code=code)
    return _report_page(report, code=code)


@bp.post("/verify")
@read_only
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
    """Return the page's message for a file that holds no credential, in the reader's language."""
    check = report.get(FORMAT)
    reason = messages.check_detail(check) if check is not None else ""
    if report.kind == service.PDF:
        return _("The PDF cannot be verified: %(reason)s", reason=reason)
    if report.kind == service.JSON:
        return _("The JSON file cannot be verified: %(reason)s", reason=reason)
    return _("The file cannot be verified: %(reason)s", reason=reason)


# --- bulk check for employers -------------------------------------------------------------


class BulkInputError(ValueError):
    """The list of codes cannot be read."""


def _codes_from_text(text: str) -> list[str]:
    """Return the first cell of every non-empty row; a leading header row is skipped."""
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    codes: list[str] = []
    # The lines, not the text: csv refuses a bare "\r" (old Mac line ends) inside a string.
    try:
        rows = list(csv.reader(lines, delimiter=delimiter))
    except csv.Error as exc:  # e.g. a line longer than the csv module's field limit
        raise BulkInputError(
            _("The list of codes cannot be read as CSV: put one code on each line.")
        ) from exc
    for row in rows:
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
@read_only
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
            counts.record(*(report for _, report in rows))
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
                titles=messages.certification_titles(report.credential for _, report in rows),
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
    counts.record(report)
    return _no_store(jsonify(report.as_dict()))


JSON_TYPES = ("application/json", "application/ld+json", "application/vc+ld+json")


@bp.post("/api/v1/verify")
@read_only
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
    counts.record(report)
    return _no_store(jsonify(report.as_dict()))


# --- W3C VC API verifier -------------------------------------------------------------------

#: The error ``type`` of each failed check, as the VC Data Model 2.0 and Data Integrity
#: name them.
VC_ERROR_TYPES = {
    FORMAT: "https://www.w3.org/TR/vc-data-model#PARSING_ERROR",
    SCHEMA: "https://www.w3.org/TR/vc-data-model#MALFORMED_VALUE_ERROR",
    ISSUER_KEY: "https://w3id.org/security#PROOF_VERIFICATION_ERROR",
    PROOF: "https://w3id.org/security#PROOF_VERIFICATION_ERROR",
    STATUS: "https://www.w3.org/ns/credentials/status#STATUS_VERIFICATION_ERROR",
    VALIDITY: "https://www.w3.org/TR/vc-data-model#RANGE_ERROR",
}


def vc_api_result(report: service.Report, warnings: list[dict] | None = None) -> dict:
    """Return the VC API VerificationResult: ``verified``, ``checks``, ``warnings``, ``errors``.

    ``checks`` names the checks made; each failed one is an error with a problem type.
    """
    return {
        "verified": report.valid,
        "checks": [check.name for check in report.checks],
        "warnings": warnings or [],
        "errors": [
            {
                "type": VC_ERROR_TYPES.get(check.name, VC_ERROR_TYPES[FORMAT]),
                "title": f"{check.name} check failed",
                "detail": check.detail,
            }
            for check in report.checks
            if not check.passed
        ],
    }


def _vc_api_invalid_input(detail: str):
    body = {
        "verified": False,
        "checks": [],
        "warnings": [],
        "errors": [{"type": VC_ERROR_TYPES[FORMAT], "title": "Invalid input", "detail": detail}],
    }
    return _no_store(current_app.response_class(_dumps(body), 400, mimetype="application/json"))


def _dumps(body: dict) -> str:
    return current_app.json.dumps(body)


@bp.route(VC_API_VERIFY, methods=["OPTIONS"])
def vc_api_preflight():
    """Answer a browser's CORS preflight: anyone may POST JSON here."""
    response = current_app.response_class(status=204)
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.post(VC_API_VERIFY, provide_automatic_options=False)
@read_only
@csrf.exempt
@api_limit
def vc_api_verify():
    """Verify ``{"verifiableCredential", "options"}`` as the W3C VC API does.

    200 with ``verified: true`` when every check passes; 400 with the failed checks as
    ``errors`` when it does not verify or the input is not a credential of this centre.
    """
    if request.mimetype not in JSON_TYPES:
        return _vc_api_invalid_input("Send the request as application/json.")
    try:
        data = _read_capped(request.stream)
    except UploadTooLarge:
        limit = _max_upload()
        return problem(413, "Content Too Large", f"Requests are limited to {limit} bytes.")
    try:
        body = bounds.load_json(data)
    except bounds.Refused as exc:
        return _vc_api_invalid_input(str(exc))
    if not isinstance(body, dict) or not isinstance(body.get("verifiableCredential"), dict):
        return _vc_api_invalid_input("The request has no verifiableCredential object.")
    options = body.get("options", {})
    if not isinstance(options, dict):
        return _vc_api_invalid_input("options must be an object.")
    warnings = [
        {
            "type": VC_ERROR_TYPES[FORMAT],
            "title": "Option not supported",
            "detail": f"option {name[:100]} is ignored: every check is always made",
        }
        for name in sorted(options)[:10]
    ]
    report = service.verify_parsed(body["verifiableCredential"], service.online_trust())
    counts.record(report)
    status = 200 if report.valid else 400
    response = current_app.response_class(
        _dumps(vc_api_result(report, warnings)), status, mimetype="application/json"
    )
    return _no_store(response)


# --- the issuer's published documents -----------------------------------------------------


def _json_ld(document: dict, *, max_age: int = PUBLIC_CACHE_SECONDS) -> Response:
    response = jsonify(document)
    response.mimetype = JSON_LD
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


@bp.get("/issuer")
@public_read
@document_limit
def issuer_document():
    """Publish the issuer Profile and its keys, so anyone can check a signature."""
    response = _json_ld({**issuer.issuer_profile(), "image": badges.issuer_image()})
    response.headers["Link"] = (
        f'<{issuer.pdf_certificate_url()}>; rel="describedby";'
        ' type="application/x-pem-file"; title="PDF signing certificate"'
    )
    return response


@bp.get("/.well-known/did.json")
@bp.get("/did.json")
@public_read
@document_limit
def did_document():
    """Publish the issuer's DID document, where a did:web resolver looks for it.

    That is ``/.well-known/did.json`` for a BASE_URL that is a bare host, and
    ``/did.json`` under a BASE_URL with a path; the other address is not found.
    """
    if request.path != issuer.did_document_path(issuer.base_url()):
        abort(404)
    response = _json_ld(issuer.did_document())
    response.mimetype = "application/did+json"
    return response


@bp.get("/issuer/pdf-certificate.pem")
@public_read
@document_limit
def pdf_certificate():
    """Publish the certificate that signs the centre's PDFs, for offline verifiers."""
    response = Response(pdfsign.current_identity().certificate_pem(), mimetype=PEM)
    response.headers["Cache-Control"] = f"public, max-age={PUBLIC_CACHE_SECONDS}"
    response.headers["Content-Disposition"] = 'inline; filename="pdf-certificate.pem"'
    return response


@bp.get("/achievements/<scheme_code>")
@public_read
@document_limit
def achievement(scheme_code: str):
    """Publish the Achievement a scheme stands for, as credentials name it."""
    from certificates.achievements import achievement_json

    scheme = db.first_or_404(sa.select(Scheme).where(Scheme.code == scheme_code))
    return _json_ld({"@context": [VC_V2_URL, OB_V3_URL], **achievement_json(scheme)})


@bp.get("/status-lists/<int:list_id>")
@public_read
@document_limit
def status_list(list_id: int):
    """Publish a signed Bitstring Status List credential, cacheable for five minutes.

    A list whose validity is running out is re-signed first, so what is served
    always has at least half of its window left.
    """
    from certificates.operations import published_status_list

    credential = published_status_list(list_id)
    if credential is None:
        abort(404)
    row = db.session.get(StatusList, list_id)
    assert row is not None, "published_status_list found it"
    response = _json_ld(credential)
    response.last_modified = row.updated_at
    response.add_etag()
    return response.make_conditional(request)

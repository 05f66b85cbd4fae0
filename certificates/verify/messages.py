"""What each check and verdict means, said to a person in their language."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context
from flask_babel import format_decimal, get_locale, get_translations
from flask_babel import lazy_gettext as _l

from certificates import issuer
from certificates.achievements import translated_result_names
from certificates.credentials.checks import (
    FORMAT,
    ISSUER_KEY,
    PROOF,
    SCHEMA,
    STATUS,
    VALIDITY,
    Check,
    Message,
)
from certificates.models import Scheme
from certificates.verify import service
from certificates.verify.service import Report
from lms.extensions import db
from lms.i18n import current_language, format_moment


def _(string: str, **variables: Any) -> str:
    """Translate like flask_babel's gettext, looking the catalogue up once per request.

    A report says some forty sentences; flask_babel finds the locale and its catalogue
    again for each one.
    """
    if not has_request_context():
        translations = get_translations()
    else:
        locale = str(get_locale())
        cached = g.get("verify_translations")
        if cached is None or cached[0] != locale:
            cached = g.verify_translations = (locale, get_translations())
        translations = cached[1]
    text = translations.ugettext(string)
    return text % variables if variables else text


CHECK_LABELS = {
    FORMAT: _l("Format"),
    SCHEMA: _l("Open Badges 3.0 schema"),
    ISSUER_KEY: _l("Issuer and key"),
    PROOF: _l("Signature"),
    STATUS: _l("Status"),
    VALIDITY: _l("Validity period"),
    service.ISSUED_FILE: _l("Issued file"),
    service.PDF_SIGNATURE: _l("PDF signature"),
}

VERDICT_LABELS = {
    service.ACTIVE: _l("Valid"),
    service.REVOKED: _l("Revoked"),
    service.SUSPENDED: _l("Suspended"),
    service.EXPIRED: _l("Expired"),
    service.NOT_YET_VALID: _l("Not yet valid"),
    service.UNKNOWN: _l("Status unknown"),
    service.INVALID: _l("Not valid"),
    service.NOT_FOUND: _l("Not found"),
    service.CHANGED_FILE: _l("Genuine credential, changed file"),
    service.FILE_UNCHECKED: _l("PDF signer not checked"),
}

#: Bootstrap colour of each verdict.
VERDICT_STYLES = {
    service.ACTIVE: "success",
    service.REVOKED: "danger",
    service.SUSPENDED: "warning",
    service.EXPIRED: "warning",
    service.NOT_YET_VALID: "warning",
    service.UNKNOWN: "secondary",
    service.INVALID: "danger",
    service.NOT_FOUND: "secondary",
    service.CHANGED_FILE: "warning",
    service.FILE_UNCHECKED: "warning",
}


def check_label(name: str) -> str:
    """Return the translated name of a check."""
    return str(CHECK_LABELS.get(name, name))


def verdict_label(status: str) -> str:
    """Return the translated overall verdict."""
    return str(VERDICT_LABELS.get(status, status))


def verdict_summary(report: Report) -> str:
    """Return one sentence saying what the verdict means."""
    if report.status == service.ACTIVE:
        return _("Every check passed: this certificate was issued by the centre and is in force.")
    if report.status == service.REVOKED:
        if report.reason:
            return _(
                "The centre has revoked this certificate. Reason: %(reason)s",
                reason=report.reason,
            )
        return _("The centre has revoked this certificate.")
    if report.status == service.SUSPENDED:
        return _("The centre has suspended this certificate for now.")
    if report.status == service.EXPIRED:
        return _("This certificate was genuine but its validity period has ended.")
    if report.status == service.NOT_YET_VALID:
        return _("This certificate is not valid yet.")
    if report.status == service.UNKNOWN:
        return _("The certificate's status could not be checked.")
    if report.status == service.NOT_FOUND:
        return _("No certificate has this code. Check that you typed it as printed.")
    if report.status == service.CHANGED_FILE:
        return changed_file_summary(report)
    if report.status == service.FILE_UNCHECKED:
        return _(
            "The credential is genuine and the PDF's signature covers the whole file, but"
            " its signer was not checked against the centre's PDF certificate."
        )
    return _("This is not a valid certificate of the centre: see the failed checks below.")


def say(message: Message) -> str:
    """Return ``message`` in the reader's language, its dates and numbers as the locale writes them.

    Every sentence verification makes (check details, refusals, unreadable input) is
    shown through here; only the JSON API and the command line keep the English.
    """
    params = {name: _local(value) for name, value in message.params.items()}
    return _(message.msgid, **params)


def _local(value: Any) -> Any:
    if isinstance(value, Message):
        return say(value)
    if isinstance(value, datetime):
        # A date and a time to the minute, as the locale writes them; ISO is for machines.
        return format_moment(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return format_decimal(value)
    return value


def check_detail(check: Check) -> str:
    """Return what a check found, in the reader's language ("" when it says nothing more)."""
    return say(check.message) if check.message is not None else ""


def changed_file_summary(report: Report) -> str:
    """Say that the credential is genuine but the file is not the one issued, and what
    the signed credential certifies: the page of such a file may show anything."""
    credential = report.credential
    return _(
        "The credential is genuine, but this file was changed after issue, so its page"
        " cannot be trusted. The name and certification the credential certifies are:"
        " %(holder)s, %(certification)s. Compare them with the printed page, or check"
        " by code.",
        holder=credential.get("holder", ""),
        certification=credential.get("achievement", {}).get("name", ""),
    )


def explain(name: str, passed: bool, report: Report) -> str:
    """Return why a check passed or failed, in words a person understands."""
    credential = report.credential
    if name == FORMAT:
        if passed:
            return _(
                "The credential is well formed and everything in it is covered by the signature."
            )
        return _(
            "The file is not a well-formed credential,"
            " or it says things the signature does not cover."
        )
    if name == SCHEMA:
        if passed:
            return _("It follows the Open Badges 3.0 standard.")
        return _("It does not follow the Open Badges 3.0 standard.")
    if name == ISSUER_KEY:
        if passed:
            return _("It was signed with a key the centre publishes.")
        return _("It was not signed with any key the centre publishes.")
    if name == PROOF:
        if passed:
            return _("The signature matches the content: nothing was changed after issue.")
        return _("The signature does not match the content: it was changed after issue, or forged.")
    if name == STATUS:
        if passed:
            return _("The certificate has been neither suspended nor revoked.")
        if credential.get("status") == service.REVOKED or report.status == service.REVOKED:
            if report.reason:
                return _("The certificate was revoked. Reason: %(reason)s", reason=report.reason)
            return _("The certificate was revoked.")
        if credential.get("status") == service.SUSPENDED or report.status == service.SUSPENDED:
            return _("The certificate is suspended.")
        return _("The status could not be checked.")
    if name == VALIDITY:
        if passed:
            return _("It is within its validity period.")
        if report.status == service.NOT_YET_VALID:
            return _("Its validity period has not started yet.")
        return _("Its validity period has ended, or its dates are malformed.")
    if name == service.ISSUED_FILE:
        if passed:
            return _("This is the very PDF file the centre issued.")
        return _("This file differs from the PDF the centre issued: it was changed after issue.")
    if name == service.PDF_SIGNATURE:
        if passed:
            return _("The centre's signature covers the whole file, the page included.")
        return _(
            "The centre's signature is missing, broken or does not cover the whole file:"
            " the file was changed or saved again after issue."
        )
    return ""


def _achievement_id(summary: dict[str, Any]) -> str:
    return str((summary.get("achievement") or {}).get("id") or "")


def _schemes(summaries: list[dict[str, Any]]) -> dict[str, Scheme]:
    """Return the centre's schemes the credentials name, by Achievement id (one query)."""
    prefix = issuer.achievement_url("")
    codes = {
        _achievement_id(summary)[len(prefix) :]
        for summary in summaries
        if _achievement_id(summary).startswith(prefix)
    }
    if not codes:
        return {}
    # A page asks twice (title, result names): read the schemes once per request.
    key = ("verify_schemes", frozenset(codes))
    known = g.get("verify_schemes", {}) if has_request_context() else {}
    if key not in known:
        rows = db.session.scalars(sa.select(Scheme).where(Scheme.code.in_(codes)))
        known[key] = {issuer.achievement_url(scheme.code): scheme for scheme in rows}
        if has_request_context():
            g.verify_schemes = known
    return known[key]


def certification_titles(summaries: Iterable[dict[str, Any]]) -> list[str]:
    """Return each credential's certification title in the reader's language.

    A credential states its achievement in English; when the achievement is one of
    this centre's schemes and the reader's language is another one the scheme has a
    title in (Bulgarian), that title is shown. Otherwise, the name the credential
    states. The schemes are read in one query, however many credentials.
    """
    summaries = list(summaries)
    schemes = _schemes(summaries)
    titles = []
    for summary in summaries:
        name = str((summary.get("achievement") or {}).get("name") or "")
        scheme = schemes.get(_achievement_id(summary))
        translated = scheme.tr("title") if scheme is not None else name
        titles.append(translated if scheme is None or translated != scheme.title_en else name)
    return titles


def certification_title(summary: dict[str, Any]) -> str:
    """Return one credential's certification title in the reader's language."""
    return certification_titles([summary])[0]


def result_names(summary: dict[str, Any]) -> dict[str, str]:
    """Return the credential's result names in the reader's language, by their English name.

    Only results of one of the centre's schemes that have a translation are given;
    the page shows any other as the credential states it (in English).
    """
    language = current_language()
    if language == "en":
        return {}
    scheme = _schemes([summary]).get(_achievement_id(summary))
    if scheme is None:
        return {}
    return translated_result_names(scheme, language)

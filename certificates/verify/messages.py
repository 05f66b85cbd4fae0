"""What each check and verdict means, said to a person in their language."""

from __future__ import annotations

import logging

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from certificates.credentials.checks import FORMAT, ISSUER_KEY, PROOF, SCHEMA, STATUS, VALIDITY
from certificates.verify import service
from certificates.verify.service import Report

logger = logging.getLogger(__name__)

CHECK_LABELS = {
    FORMAT: _l("Format"),
    SCHEMA: _l("Open Badges 3.0 schema"),
    ISSUER_KEY: _l("Issuer and key"),
    PROOF: _l("Signature"),
    STATUS: _l("Status"),
    VALIDITY: _l("Validity period"),
    service.ISSUED_FILE: _l("Issued file"),
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
    return _("This is not a valid certificate of the centre: see the failed checks below.")


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
    return ""

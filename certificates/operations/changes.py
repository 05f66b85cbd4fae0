"""Status changes of issued certificates: suspension, revocation, expiry, review."""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from certificates.models import LIVE_STATUSES, Certificate, CertificateStatus
from certificates.operations.common import CertificationError, _reason, _require_certifier
from certificates.operations.status_lists import publish_status
from lms import audit
from lms.db import utcnow
from lms.extensions import db
from lms.models import User

logger = logging.getLogger(__name__)


def suspend(
    cert: Certificate, *, reason: str, actor: User | None, now: datetime | None = None
) -> Certificate:
    """Suspend an active certificate (reversible)."""
    now = now or utcnow()
    _require_certifier(actor)
    reason = _reason(reason, required=True)
    if cert.status != CertificateStatus.ACTIVE:
        raise CertificationError(_("Only an active certificate can be suspended."))
    cert.status = CertificateStatus.SUSPENDED
    cert.suspended_at = now
    publish_status(cert, CertificateStatus.SUSPENDED, now)
    audit.record("certificate.suspend", cert, actor=actor, code=cert.code, reason=reason)
    return cert


def reinstate(
    cert: Certificate, *, actor: User | None, reason: str = "", now: datetime | None = None
) -> Certificate:
    """Lift a suspension."""
    now = now or utcnow()
    _require_certifier(actor)
    reason = _reason(reason, required=False)
    if cert.status != CertificateStatus.SUSPENDED:
        raise CertificationError(_("Only a suspended certificate can be reinstated."))
    cert.status = CertificateStatus.ACTIVE
    cert.suspended_at = None
    publish_status(cert, CertificateStatus.ACTIVE, now)
    audit.record("certificate.reinstate", cert, actor=actor, code=cert.code, reason=reason or None)
    return cert


def revoke(
    cert: Certificate,
    *,
    reason: str,
    actor: User | None,
    now: datetime | None = None,
    in_error: bool = False,
) -> Certificate:
    """Revoke a certificate for good; the row, its PDF and the reason stay.

    ``in_error``: it should never have been issued, which bars a new one until a
    certifier clears the trainee (:mod:`certificates.reissue`).
    """
    now = now or utcnow()
    _require_certifier(actor)
    reason = _reason(reason, required=True)
    if cert.status == CertificateStatus.REVOKED:
        raise CertificationError(_("This certificate is revoked already."))
    cert.status = CertificateStatus.REVOKED
    cert.revoked_at = now
    cert.revocation_reason = reason
    cert.revoked_in_error = bool(in_error)
    publish_status(cert, CertificateStatus.REVOKED, now)
    audit.record(
        "certificate.revoke",
        cert,
        actor=actor,
        code=cert.code,
        reason=reason,
        in_error=cert.revoked_in_error,
    )
    return cert


def expire_certificates(*, now: datetime | None = None, actor: User | None = None) -> int:
    """Mark live certificates whose validity has ended as expired; return how many."""
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(Certificate).where(
            Certificate.status.in_(LIVE_STATUSES),
            Certificate.valid_until.is_not(None),
            Certificate.valid_until <= now,
        )
    ).all()
    for cert in due:
        cert.status = CertificateStatus.EXPIRED
        audit.record("certificate.expire", cert, actor=actor, code=cert.code)
    db.session.flush()
    if due:
        logger.info("%s certificates expired", len(due))
    return len(due)


def mark_reviewed(cert: Certificate, *, actor: User | None, note: str = "") -> Certificate:
    """Record that a certifier looked at the grade changes behind a certificate."""
    _require_certifier(actor)
    note = _reason(note, required=False)
    cert.needs_review = False
    db.session.flush()
    audit.record("certificate.reviewed", cert, actor=actor, code=cert.code, note=note or None)
    return cert

"""A certificate revoked as issued in error bars a new one until a certifier clears it.

Revoking "in error" says the certificate should never have existed: the
eligibility data behind it is suspect. Issuing again at once (one click in the
queue, or a bulk run) would repeat the error, so the trainee stays out of the
eligible list and issuance refuses them until a certifier records, with a
reason, that the data is right now.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import gettext as _

from certificates import operations as ops
from certificates import queries
from certificates.models import Certificate, CertificateStatus, Scheme
from lms import audit
from lms.db import utcnow
from lms.extensions import db
from lms.models import User

logger = logging.getLogger(__name__)


def refuse_if_blocked(scheme: Scheme, trainee: User) -> None:
    """Raise a CertificationError when a revoked-in-error certificate bars ``trainee``."""
    block = queries.reissue_block(scheme, trainee)
    if block is not None:
        raise ops.CertificationError(block.explanation)


def clear(
    cert: Certificate, *, reason: str, actor: User | None, now: datetime | None = None
) -> Certificate:
    """Let the holder of ``cert`` (revoked in error) be certified again; the reason is kept."""
    ops._require_certifier(actor)
    reason = ops._reason(reason, required=True)
    if cert.status != CertificateStatus.REVOKED or not cert.revoked_in_error:
        raise ops.CertificationError(_("This certificate was not revoked as issued in error."))
    if cert.reissue_cleared_at is not None:
        raise ops.CertificationError(_("This trainee was cleared already."))
    cert.reissue_cleared_at = now or utcnow()
    cert.reissue_cleared_by = actor
    cert.reissue_clearance_reason = reason
    db.session.flush()
    audit.record(
        "certificate.reissue_cleared",
        cert,
        actor=actor,
        code=cert.code,
        user=cert.user_id,
        reason=reason,
    )
    logger.info("user %s cleared for a new %s certificate", cert.user_id, cert.scheme_id)
    return cert

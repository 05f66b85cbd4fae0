"""Renewal: a new certificate, made in the steps of issuance, supersedes one."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from certificates import eligibility, queries
from certificates.eligibility import COMPETENCY
from certificates.models import Certificate, CertificateStatus, RenewalRule
from certificates.operations import issuance
from certificates.operations.common import CertificationError, _require_certifier
from courses.competencies import rules
from lms import audit
from lms.db import utcnow, writing
from lms.extensions import db
from lms.i18n import format_day
from lms.models import User


def renewal_due_reason(cert: Certificate, now: datetime) -> str | None:
    """Return why ``cert`` cannot be renewed now, or None when its renewal rule holds."""
    scheme = cert.scheme
    if cert.status not in (CertificateStatus.ACTIVE, CertificateStatus.EXPIRED):
        return _("Only an active or expired certificate can be renewed.")
    if cert.superseded_by_id is not None:
        return _("This certificate was renewed already.")
    item = queries.scheme_rules([scheme])[scheme.id]
    if scheme.renewal_rule == RenewalRule.EXAM:
        record = queries.load_records([item], [cert.user_id], now)[cert.user_id]
        if not eligibility.exam_renewed(item.requirements, record, cert.issued_at):
            return _(
                "The certification exam has not been passed again since %(date)s.",
                date=format_day(cert.issued_at),
            )
        return None
    if scheme.renewal_rule == RenewalRule.RECENT_EVIDENCE:
        competency_ids = [r.target_id for r in item.requirements if r.kind == COMPETENCY]
        rows = queries.evidence_rows([cert.user_id], competency_ids).get(cert.user_id, [])
        months = scheme.renewal_evidence_months or 12
        if not competency_ids or not rules.evidence_newer_than(rows, months, now):
            return _("No competency evidence newer than %(months)s months.", months=months)
        return None
    return _("The scheme %(code)s has no renewal rule.", code=scheme.code)


def renew_certificate(
    cert: Certificate, *, actor: User | None, now: datetime | None = None
) -> Certificate:
    """Issue a new certificate that supersedes ``cert``; both stay in the register.

    In the steps of issuance (so it commits): the second write re-checks the renewal
    rule and the old certificate's state, then supersedes it and inserts the new one.
    """
    now = now or utcnow()
    for _attempt in range(issuance.ISSUE_ATTEMPTS):
        with writing(db.session):
            trainee, scheme, item, record = _check_renewal(cert, actor, now)
            draft = issuance._prepare(
                scheme, trainee, item, record, actor=actor, now=now, batch=None
            )
        credential, pdf = issuance._make(draft)
        try:
            with writing(db.session):
                # Lock the old certificate, so two renewals of it queue (PostgreSQL).
                db.session.refresh(cert, with_for_update=True)
                trainee, scheme, item, record = _check_renewal(cert, actor, now)
                issuance._require_unchanged(draft, scheme, trainee, item, record)
                cert.status = CertificateStatus.SUPERSEDED
                db.session.flush()  # frees the one-live-certificate slot
                new, _created = issuance._store(draft, credential, pdf, actor)
                cert.superseded_by_id = new.id
                db.session.flush()
                audit.record("certificate.renew", cert, actor=actor, code=cert.code, new=new.code)
                return new
        except issuance._Retry:
            continue
    raise CertificationError(issuance._changed_meanwhile())


def _check_renewal(cert: Certificate, actor: User | None, now: datetime):
    """Check that ``cert`` may be renewed now; return its trainee, scheme, rules and record."""
    _require_certifier(actor)
    trainee, scheme = cert.user, cert.scheme
    issuance.check_impartiality(actor, trainee)
    problem = renewal_due_reason(cert, now)
    if problem:
        raise CertificationError(problem)
    item, record = issuance._record(scheme, trainee, now)
    return trainee, scheme, item, record

"""The status lists: entries for new certificates, published statuses, re-signing."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from certificates import issuer
from certificates.credentials import signing
from certificates.credentials import status_list as bitstring
from certificates.models import Certificate, CertificateStatus, StatusList
from certificates.operations.common import CertificationError
from lms.db import utcnow, writing
from lms.extensions import db

logger = logging.getLogger(__name__)

#: Hours a signed status list stays valid unless ``LMS_STATUS_LIST_VALIDITY_HOURS`` says.
DEFAULT_STATUS_LIST_VALIDITY_HOURS = 24


def status_list_validity() -> timedelta:
    """Return how long a signed status list stays valid (a short window: a day by default).

    Verifiers refuse a list past its ``validUntil``, so a revocation reaches every copy
    within this time; a list is re-signed once less than half of it remains.
    """
    hours = current_app.config.get("STATUS_LIST_VALIDITY_HOURS", DEFAULT_STATUS_LIST_VALIDITY_HOURS)
    try:
        window = timedelta(hours=float(hours))
    except (TypeError, ValueError) as exc:
        raise CertificationError("STATUS_LIST_VALIDITY_HOURS must be a number of hours") from exc
    if window <= timedelta(0):
        raise CertificationError("STATUS_LIST_VALIDITY_HOURS must be more than zero")
    return window


def _list_bits(row: StatusList) -> bitstring.StatusList:
    """Return the bits of a list: one per certificate, or two on an earlier message list."""
    size = bitstring.MESSAGE_STATUS_SIZE if row.purpose == bitstring.MESSAGE_PURPOSE else 1
    return bitstring.StatusList.from_bytes(row.bits, size)


def _sign_status_list(row: StatusList, bits: bitstring.StatusList, now: datetime) -> None:
    """Store the bits and sign the list credential, valid from now for the window.

    A list of the earlier message kind is signed under the issuer id its certificates
    name (``<BASE_URL>/issuer``), the others under the DID.
    """
    key = issuer.current_signing_key()
    if row.purpose == bitstring.MESSAGE_PURPOSE:
        issuer_id = issuer.issuer_url()
        method = issuer.legacy_verification_method_url(key.public_multikey)
    else:
        issuer_id, method = issuer.issuer_did(), key.verification_method
    valid_until = now + status_list_validity()
    unsigned = bitstring.build_status_list_credential(
        issuer.status_list_url(row.id),
        issuer_id,
        bits,
        now,
        purpose=row.purpose,
        valid_until=valid_until,
    )
    row.bits = bits.to_bytes()
    row.valid_until = valid_until
    row.credential = signing.sign(unsigned, key.private_key, method, now)


def _new_status_list(now: datetime) -> StatusList:
    bits = bitstring.StatusList(bitstring.MIN_ENTRIES)
    row = StatusList(
        purpose=bitstring.REVOCATION_PURPOSE,
        bits=bits.to_bytes(),
        allocated=0,
        index_key=secrets.token_hex(32),
    )
    db.session.add(row)
    db.session.flush()
    _sign_status_list(row, bits, now)
    db.session.flush()
    logger.info("started status list %s", row.id)
    return row


def current_status_list(now: datetime | None = None) -> StatusList:
    """Return the revocation list new certificates go on, starting one when none has room."""
    now = now or utcnow()
    row = db.session.scalar(
        sa.select(StatusList)
        .where(StatusList.purpose == bitstring.REVOCATION_PURPOSE)
        .order_by(StatusList.id.desc())
        .limit(1)
    )
    if row is None or row.allocated >= bitstring.MIN_ENTRIES:
        row = _new_status_list(now)
    return row


def allocate_status_index(now: datetime) -> tuple[StatusList, int]:
    """Hand out the next entry of the current revocation list, starting a list when full.

    O(1) whatever the number of certificates: one atomic increment of the list's
    counter (which also holds the row until commit, so concurrent issuers queue),
    and a keyed permutation turns the position into a random-looking index.
    """
    for _attempt in range(3):
        row = current_status_list(now)
        taken = db.session.execute(
            sa.update(StatusList)
            .where(StatusList.id == row.id, StatusList.allocated < bitstring.MIN_ENTRIES)
            .values(allocated=StatusList.allocated + 1)
            .returning(StatusList.allocated)
            .execution_options(synchronize_session=False)
        ).scalar()
        # The session's copy of the counter is stale now; read it afresh when next needed.
        db.session.expire(row, ["allocated"])
        if taken is not None:
            assert row.index_key is not None, "revocation lists are started with a key"
            return row, bitstring.permuted_index(bytes.fromhex(row.index_key), taken - 1)
    raise CertificationError(_("Could not allocate a status list entry; try again."))


def publish_status(cert: Certificate, status: str, now: datetime) -> None:
    """Publish the certificate's new status in its list and re-sign it (row locked meanwhile).

    A revocation list has one bit, set when revoked: suspension is the register's
    alone and changes nothing there. An earlier message list records both.
    """
    row = db.session.get(
        StatusList, cert.status_list_id, with_for_update=True, populate_existing=True
    )
    assert row is not None, "only certificates on a status list change status"
    bits = _list_bits(row)
    if row.purpose == bitstring.MESSAGE_PURPOSE:
        values: dict[str, int] = {
            CertificateStatus.ACTIVE: bitstring.ACTIVE,
            CertificateStatus.SUSPENDED: bitstring.SUSPENDED,
            CertificateStatus.REVOKED: bitstring.REVOKED,
        }
        value = values[status]
    else:
        value = 1 if status == CertificateStatus.REVOKED else 0
    if bits.get(cert.status_index) == value:
        return
    bits.set(cert.status_index, value)
    _sign_status_list(row, bits, now)
    db.session.flush()


def status_list_due(row: StatusList, now: datetime) -> bool:
    """Return whether a list is unsigned or has less than half of its window left."""
    return (
        row.credential is None
        or row.valid_until is None
        or row.valid_until - now < status_list_validity() / 2
    )


def refresh_status_list(row: StatusList, now: datetime | None = None) -> bool:
    """Re-sign a list whose validity is running out, with the same bits; return whether.

    Called when a list is served or read by the verifier, and by
    :func:`refresh_status_lists`, so a published list never lapses.
    """
    now = now or utcnow()
    if not status_list_due(row, now):
        return False
    locked = db.session.get(StatusList, row.id, with_for_update=True, populate_existing=True)
    assert locked is not None, "status lists are never deleted"
    row = locked
    if not status_list_due(row, now):
        return False  # another process re-signed it meanwhile
    _sign_status_list(row, _list_bits(row), now)
    db.session.flush()
    logger.info("re-signed status list %s, valid until %s", row.id, row.valid_until)
    return True


def published_status_list(list_id: int) -> dict[str, Any] | None:
    """Return list ``list_id``'s signed credential as published, re-signed first when due.

    For the read paths (the served list, the online verifier), so unlike the other
    operations this commits the re-signing. If another writer holds the database, the
    current credential, which still has up to half of its window, is returned as is.
    """
    row = db.session.get(StatusList, list_id)
    if row is None:
        return None
    if not status_list_due(row, utcnow()):
        return row.credential
    try:
        # A declared write: the read paths take the write lock only when a list is due.
        with writing(db.session):
            current = db.session.get(StatusList, list_id)
            assert current is not None, "status lists are never deleted"
            refresh_status_list(current)
    except (sa.exc.OperationalError, sa.orm.exc.StaleDataError):
        logger.warning("status list %s not re-signed now: the database is busy", list_id)
    current = db.session.get(StatusList, list_id)
    assert current is not None, "status lists are never deleted"
    return current.credential


def refresh_status_lists(now: datetime | None = None) -> int:
    """Re-sign every list due for it; return how many (for a scheduled job)."""
    now = now or utcnow()
    soon = now + status_list_validity() / 2
    due = db.session.scalars(
        sa.select(StatusList)
        .where(sa.or_(StatusList.valid_until.is_(None), StatusList.valid_until < soon))
        .order_by(StatusList.id)
    ).all()
    return sum(refresh_status_list(row, now) for row in due)

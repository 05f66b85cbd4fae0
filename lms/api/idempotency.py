"""``Idempotency-Key`` for POST requests that create things.

The first request with a key stores its response; a retry with the same key and
body gets that response again (``Idempotent-Replayed: true``) instead of creating
a second enrolment, attempt or certificate. The record is written in the same
transaction as the view's own work, so a race between two identical requests is
settled by the unique constraint on (user, key).
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta
from functools import wraps

import sqlalchemy as sa
from flask import current_app, g, request
from sqlalchemy.exc import IntegrityError

from lms.api.errors import abort
from lms.api.models import IdempotencyRecord
from lms.db import utcnow
from lms.extensions import db

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
LIFETIME = timedelta(hours=24)
#: A key still "being processed" after this long belongs to a worker that was killed
#: (views that render between two short writes commit the placeholder early): free it.
ABANDONED_AFTER = timedelta(minutes=10)
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as in the IETF draft

KEY_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "A unique value (e.g. a UUID) chosen by the client. A retry with the same key "
        "and body returns the first response with `Idempotent-Replayed: true`; the same "
        "key with a different body is refused with 422. Keys are kept for 24 hours."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def _request_hash() -> str:
    return hashlib.sha256(request.get_data(cache=True)).hexdigest()


def _find(user_id: int, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )


def _replay_or_refuse(record: IdempotencyRecord, request_hash: str):
    if (record.method, record.path, record.request_hash) != (
        request.method,
        request.path,
        request_hash,
    ):
        abort(
            422,
            "This Idempotency-Key was already used for a different request.",
            errors=[{"field": HEADER, "message": "Already used for a different request."}],
        )
    if record.response_status is None:
        abort(
            409,
            "A request with this Idempotency-Key is still being processed; retry later.",
            headers={"Retry-After": "1"},
        )
    response = current_app.response_class(
        record.response_body, status=record.response_status, mimetype="application/json"
    )
    response.headers[REPLAYED_HEADER] = "true"
    if record.response_location:
        response.headers["Location"] = record.response_location
    logger.info("replayed idempotent %s %s for user %s", record.method, record.path, record.user_id)
    return response


def _purge_expired() -> None:
    db.session.execute(
        sa.delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - LIFETIME)
    )


def idempotent(view):
    """Honour ``Idempotency-Key`` on a POST view that creates something.

    Place it below ``@require_scope`` and above ``@bp.arguments``/``@bp.response``.
    Only successful (2xx) responses are remembered; an error leaves the key free.
    """
    from lms.api import doc_helper

    @wraps(view)
    def wrapped(*args, **kwargs):
        key = request.headers.get(HEADER)
        user = g.get("api_user")
        if key is None or user is None:
            return view(*args, **kwargs)
        if not _KEY_RE.match(key):
            abort(
                422,
                "The Idempotency-Key header is invalid.",
                errors=[{"field": HEADER, "message": "Use 1 to 255 visible ASCII characters."}],
            )
        request_hash = _request_hash()
        _purge_expired()
        existing = _find(user.id, key)
        if (
            existing is not None
            and existing.response_status is None
            and existing.created_at < utcnow() - ABANDONED_AFTER
        ):
            logger.warning("freeing idempotency key %s of user %s: abandoned", existing.id, user.id)
            db.session.execute(
                sa.delete(IdempotencyRecord).where(
                    IdempotencyRecord.id == existing.id, IdempotencyRecord.response_status.is_(None)
                )
            )
            db.session.expunge(existing)
            existing = None
        if existing is not None:
            return _replay_or_refuse(existing, request_hash)
        token = g.get("api_token")
        record = IdempotencyRecord(
            user_id=user.id,
            token_id=token.id if token is not None else None,
            key=key,
            method=request.method,
            path=request.path[:500],
            request_hash=request_hash,
        )
        db.session.add(record)
        try:
            db.session.flush()
        except IntegrityError:
            # A concurrent request with the same key won the insert.
            db.session.rollback()
            existing = _find(user.id, key)
            if existing is None:  # it failed and released the key meanwhile
                abort(409, "A request with this Idempotency-Key failed meanwhile; retry.")
            return _replay_or_refuse(existing, request_hash)
        record_id = record.id
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            db.session.rollback()
            _release(record_id)
            raise
        if 200 <= response.status_code < 300:
            db.session.execute(
                sa.update(IdempotencyRecord)
                .where(IdempotencyRecord.id == record_id)
                .values(
                    response_status=response.status_code,
                    response_body=response.get_data(as_text=True),
                    response_location=response.headers.get("Location"),
                )
            )
        else:
            db.session.rollback()
            _release(record_id)
        # The record and the view's work are committed together, after the view (lms.web).
        return response

    wrapped = doc_helper.doc(parameters=[KEY_PARAMETER])(wrapped)
    wrapped = doc_helper.alt_response(409, response="CONFLICT")(wrapped)
    return doc_helper.alt_response(422, response="UNPROCESSABLE_ENTITY")(wrapped)


def _release(record_id: int) -> None:
    """Free the key after a failure (the view may already have committed the placeholder)."""
    db.session.execute(sa.delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
    db.session.commit()

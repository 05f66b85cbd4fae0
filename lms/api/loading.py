"""Loading rows named by ids in API paths and bodies."""

from __future__ import annotations

from typing import TypeVar

from lms.extensions import db

T = TypeVar("T")

#: Ids are 32-bit integers in every supported database; larger ones name nothing.
MAX_ID = 2**31 - 1


def load(model: type[T], ident: int) -> T | None:
    """Return the row of ``model`` with id ``ident``, or None (also for ids no column can hold)."""
    if not 0 < ident <= MAX_ID:
        return None
    return db.session.get(model, ident)

"""Page numbers of the HTML lists: any ``?page=`` gives a page, never an error."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flask import request
from flask_sqlalchemy.pagination import Pagination

from lms.extensions import db

# As in the JSON API: far beyond any real list, small enough for any database's OFFSET.
MAX_PAGE = 100_000
MAX_PER_PAGE = 100


def page_arg() -> int:
    """Return ``?page=`` as a page number: 1 if missing or not a positive integer."""
    return min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)


def paginate(select, *, page: int, per_page: int | None = None, **kwargs) -> Pagination:
    """Return one page of ``select``; a number beyond the last page shows the last page.

    A huge number would otherwise overflow the SQL OFFSET, and an empty page past
    the end is a dead end with no way back but the first page.
    """
    page = min(max(page, 1), MAX_PAGE)
    kwargs.setdefault("max_per_page", MAX_PER_PAGE)
    pagination = db.paginate(select, page=page, per_page=per_page, error_out=False, **kwargs)
    if pagination.pages and page > pagination.pages:
        pagination = db.paginate(
            select, page=pagination.pages, per_page=per_page, error_out=False, **kwargs
        )
    return pagination


@dataclass
class ComputedPage:
    """What a pager needs for one page of a list chosen outside ``db.paginate``.

    Shaped like Flask-SQLAlchemy's pagination, so the same pager macro shows it.
    """

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    @property
    def first(self) -> int:
        """Position of the first row shown (1-based; 0 when nothing is listed)."""
        return min((self.page - 1) * self.per_page + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.page * self.per_page, self.total)

    def iter_pages(self, *, edge: int = 2, around: int = 2) -> Iterator[int | None]:
        """Page numbers to link: the first and last few and those around this one, None for gaps."""
        last = 0
        for number in range(1, self.pages + 1):
            near = abs(number - self.page) <= around
            if number <= edge or number > self.pages - edge or near:
                if last and number - last > 1:
                    yield None
                yield number
                last = number

"""Report filters, read from and written back to the URL so a report can be bookmarked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from courses.models import Cohort, ProgrammeCourse


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


@dataclass(frozen=True)
class Filters:
    """A date range (inclusive) and an optional programme, course and cohort."""

    date_from: date | None = None
    date_to: date | None = None
    programme_id: int | None = None
    course_id: int | None = None
    cohort_id: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        """Read the filters from query arguments; unreadable values are ignored."""
        start, end = _date(args.get("from")), _date(args.get("to"))
        if start and end and start > end:
            start, end = end, start
        return cls(
            date_from=start,
            date_to=end,
            programme_id=_id(args.get("programme")),
            course_id=_id(args.get("course")),
            cohort_id=_id(args.get("cohort")),
        )

    def to_args(self) -> dict[str, str]:
        """Return the query arguments that give these filters back."""
        args = {
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "programme": self.programme_id,
            "course": self.course_id,
            "cohort": self.cohort_id,
        }
        return {k: str(v) for k, v in args.items() if v is not None}

    @property
    def start(self) -> datetime | None:
        """The first instant of the range (UTC)."""
        return datetime.combine(self.date_from, time(), UTC) if self.date_from else None

    @property
    def end(self) -> datetime | None:
        """The first instant after the range (UTC)."""
        if not self.date_to:
            return None
        return datetime.combine(self.date_to + timedelta(days=1), time(), UTC)

    def in_range(self, column) -> list:
        """Return the conditions that keep ``column`` within the date range."""
        conditions = []
        if self.start is not None:
            conditions.append(column >= self.start)
        if self.end is not None:
            conditions.append(column < self.end)
        return conditions

    def course_scope(self, course_column) -> list:
        """Return the conditions that keep ``course_column`` within programme and course."""
        conditions = []
        if self.course_id is not None:
            conditions.append(course_column == self.course_id)
        if self.programme_id is not None:
            conditions.append(
                course_column.in_(
                    sa.select(ProgrammeCourse.course_id).where(
                        ProgrammeCourse.programme_id == self.programme_id
                    )
                )
            )
        return conditions

    def cohort_scope(self, cohort_column, course_column) -> list:
        """Return the conditions that keep a cohort within programme, course and cohort."""
        conditions = self.course_scope(course_column)
        if self.cohort_id is not None:
            conditions.append(cohort_column == self.cohort_id)
        return conditions

    @property
    def narrows_people(self) -> bool:
        """Whether the filters pick trainees by where they enrolled."""
        return any(v is not None for v in (self.programme_id, self.course_id, self.cohort_id))

    def learners(self):
        """Return a query of the user ids enrolled (not withdrawn) within the scope."""
        from courses.models import Enrolment

        return (
            sa.select(Enrolment.user_id)
            .join(Cohort, Cohort.id == Enrolment.cohort_id)
            .where(Enrolment.status != "withdrawn", *self.cohort_scope(Cohort.id, Cohort.course_id))
        )

"""Whether a trainee meets a scheme's requirements, explained requirement by requirement.

Pure: requirements and the trainee's record come in as plain data (see
``certificates.queries.load_records`` for the database side), so the rule is
tested without an application. A scheme with no requirements makes nobody
eligible: a certificate always certifies something.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

COURSE = "course"
COMPETENCY = "competency"
EXAM = "exam"


@dataclass(frozen=True)
class Requirement:
    """One requirement of a scheme: a course grade, a competency level or an exam result."""

    kind: str
    target_id: int
    label: str  # course code, competency code or exam title, as shown to people
    min_grade: Decimal | None = None  # course grade or exam percentage
    min_level: int | None = None  # rank on the competency's proficiency scale
    id: int | None = None  # the SchemeRequirement row, when there is one


@dataclass(frozen=True)
class CourseRecord:
    completed: bool
    grade: Decimal | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True)
class ExamRecord:
    percent: Decimal
    released_at: datetime | None = None


@dataclass(frozen=True)
class LevelRecord:
    rank: int
    name: str = ""


@dataclass(frozen=True)
class TraineeRecord:
    """What counts towards certification for one trainee, keyed by target id."""

    courses: Mapping[int, CourseRecord] = field(default_factory=dict)
    levels: Mapping[int, LevelRecord] = field(default_factory=dict)
    exams: Mapping[int, ExamRecord] = field(default_factory=dict)


@dataclass(frozen=True)
class RequirementResult:
    requirement: Requirement
    met: bool
    #: Translated when read: a queue evaluates every trainee but shows a page of them.
    reason: LazyString

    @property
    def explanation(self) -> str:
        return str(self.reason)


@dataclass(frozen=True)
class Eligibility:
    results: tuple[RequirementResult, ...]

    @property
    def eligible(self) -> bool:
        """Return whether every requirement is met (and there is at least one)."""
        return bool(self.results) and all(result.met for result in self.results)

    @property
    def unmet(self) -> list[RequirementResult]:
        return [result for result in self.results if not result.met]

    @property
    def met_count(self) -> int:
        return sum(result.met for result in self.results)


def number(value: Decimal | int | float | None) -> str:
    """Return a number as people write it: 78, 78.5 (no trailing zeros)."""
    if value is None:
        return "-"
    return f"{Decimal(str(value)).normalize():f}"


def _course(req: Requirement, record: TraineeRecord) -> RequirementResult:
    course = record.courses.get(req.target_id)
    if course is None or not course.completed:
        return RequirementResult(
            req, False, _l("Course %(code)s not completed yet", code=req.label)
        )
    if req.min_grade is None:
        return RequirementResult(req, True, _l("Course %(code)s completed", code=req.label))
    if course.grade is None:
        return RequirementResult(
            req,
            False,
            _l(
                "Course %(code)s completed without a grade; %(min)s needed",
                code=req.label,
                min=number(req.min_grade),
            ),
        )
    values = {"code": req.label, "grade": number(course.grade), "min": number(req.min_grade)}
    if course.grade >= req.min_grade:
        return RequirementResult(
            req, True, _l("Course %(code)s completed with %(grade)s ≥ %(min)s", **values)
        )
    return RequirementResult(
        req, False, _l("Course %(code)s completed with %(grade)s < %(min)s", **values)
    )


def _competency(req: Requirement, record: TraineeRecord) -> RequirementResult:
    level = record.levels.get(req.target_id)
    minimum = req.min_level or 1
    if level is None:
        return RequirementResult(
            req,
            False,
            _l(
                "Competency %(code)s: no evidence yet; level %(min)s needed",
                code=req.label,
                min=minimum,
            ),
        )
    values = {"code": req.label, "level": level.rank, "min": minimum}
    if level.rank >= minimum:
        return RequirementResult(
            req, True, _l("Competency %(code)s at level %(level)s ≥ %(min)s", **values)
        )
    return RequirementResult(
        req, False, _l("Competency %(code)s at level %(level)s < %(min)s", **values)
    )


def _exam(req: Requirement, record: TraineeRecord) -> RequirementResult:
    exam = record.exams.get(req.target_id)
    minimum = req.min_grade if req.min_grade is not None else Decimal(0)
    if exam is None:
        return RequirementResult(
            req, False, _l("Exam %(title)s: no released result yet", title=req.label)
        )
    values = {"title": req.label, "percent": number(exam.percent), "min": number(minimum)}
    if exam.percent >= minimum:
        return RequirementResult(
            req, True, _l("Exam %(title)s passed with %(percent)s%% ≥ %(min)s%%", **values)
        )
    return RequirementResult(req, False, _l("Exam %(title)s: %(percent)s%% < %(min)s%%", **values))


_RULES = {COURSE: _course, COMPETENCY: _competency, EXAM: _exam}


def evaluate(requirements: Iterable[Requirement], record: TraineeRecord) -> Eligibility:
    """Return each requirement's result with an explanation, in the order given."""
    results = []
    for req in requirements:
        rule = _RULES.get(req.kind)
        if rule is None:
            raise ValueError(f"unknown requirement kind {req.kind!r}")
        results.append(rule(req, record))
    return Eligibility(tuple(results))


def exam_renewed(
    requirements: Iterable[Requirement], record: TraineeRecord, since: datetime
) -> bool:
    """Return whether every exam requirement was passed again after ``since``."""
    exams = [req for req in requirements if req.kind == EXAM]
    if not exams:
        return False
    for req in exams:
        exam = record.exams.get(req.target_id)
        minimum = req.min_grade if req.min_grade is not None else Decimal(0)
        if exam is None or exam.released_at is None or exam.released_at <= since:
            return False
        if exam.percent < minimum:
            return False
    return True


# --- the certifier's queue -------------------------------------------------------


class Standing(enum.StrEnum):
    """Where a trainee stands towards a scheme, as the certifier's queue filters it."""

    ELIGIBLE = "eligible"
    ALMOST = "almost"  # one requirement left
    NOT = "not"
    BLOCKED = "blocked"  # meets it, but a certificate was revoked as issued in error


@dataclass(frozen=True)
class ReissueBlock:
    """A certificate of the scheme revoked as issued in error, not yet cleared."""

    certificate_code: str
    revoked_at: datetime | None
    reason: str

    @property
    def explanation(self) -> str:
        return _(
            "Certificate %(code)s was revoked as issued in error (%(reason)s); a certifier"
            " must clear the trainee, with a reason, before a new one can be issued.",
            code=self.certificate_code,
            reason=self.reason,
        )


def standing(result: Eligibility, block: ReissueBlock | None = None) -> Standing:
    """Classify a trainee: eligible, almost (one requirement left), not, or blocked."""
    if result.eligible:
        return Standing.BLOCKED if block is not None else Standing.ELIGIBLE
    if result.results and len(result.unmet) == 1:
        return Standing.ALMOST
    return Standing.NOT

"""Each report's figures recomputed in plain Python over the rows, without SQL aggregates."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from certificates import queries as certificate_queries
from certificates.models import Certificate, Scheme
from certificates.verify.counts import VerificationCount
from courses.assessments.models import Grade
from courses.competencies.models import (
    AlignmentKind,
    AssessmentCompetency,
    Competency,
    Evidence,
    Framework,
    OutcomeCompetency,
)
from courses.gradebook.models import CourseCompletion
from courses.models import Cohort, Course, Enrolment, LessonProgress
from lms.db import utcnow
from lms.extensions import db
from reports.filters import Filters
from reports.tables import MIN_GROUP

STATUSES = ("active", "waitlisted", "withdrawn")
CERT_STATUSES = ("active", "suspended", "revoked", "expired", "superseded")


def shown(value: int):
    """What a report shows for ``value`` people."""
    return "< 5" if 0 < value < MIN_GROUP else value


def derived(value, *basis: int):
    """What a report shows for a rate or mean resting on the counts ``basis``."""
    if value is None:
        return None
    if any(0 < b < MIN_GROUP for b in basis):
        return "< 5"
    return round(Decimal(str(value)), 1)


def plain(table) -> list[list]:
    """Return a report table's rows with suppressed cells as the text "< 5"."""
    return [[str(v) if str(v) == "< 5" else v for v in row] for row in table.rows]


def same(actual: list[list], expected: list[list]) -> bool:
    """Compare rows; derived numbers may differ by rounding in the last place."""
    if len(actual) != len(expected):
        return False
    for row_a, row_e in zip(actual, expected, strict=True):
        for a, e in zip(row_a, row_e, strict=True):
            if isinstance(a, Decimal) and isinstance(e, Decimal):
                if abs(a - e) > Decimal("0.11"):
                    return False
            elif a != e:
                return False
    return True


def all_rows(model):
    return db.session.scalars(sa.select(model)).all()


def in_range(moment: datetime | None, f: Filters) -> bool:
    if moment is None:
        return False
    return (f.start is None or moment >= f.start) and (f.end is None or moment < f.end)


def course_in_scope(course: Course, f: Filters) -> bool:
    if f.course_id is not None and course.id != f.course_id:
        return False
    if f.programme_id is not None:
        return any(link.programme_id == f.programme_id for link in course.programme_links)
    return True


def cohort_in_scope(cohort: Cohort, f: Filters) -> bool:
    return course_in_scope(cohort.course, f) and (f.cohort_id in (None, cohort.id))


def learners_any(f: Filters) -> set[int]:
    """Trainees with a place (not withdrawn) in a cohort within the scope, any date."""
    return {
        e.user_id
        for e in all_rows(Enrolment)
        if e.status != "withdrawn" and cohort_in_scope(e.cohort, f)
    }


def enrolments(f: Filters) -> dict[str, list[list]]:
    months: dict[str, Counter] = defaultdict(Counter)
    cohorts: dict[tuple, Counter] = defaultdict(Counter)
    for e in all_rows(Enrolment):
        if in_range(e.queued_at, f) and cohort_in_scope(e.cohort, f):
            months[e.queued_at.strftime("%Y-%m")][e.status] += 1
            key = (e.cohort.course.code, e.cohort.starts_on, e.cohort.name)
            cohorts[key][e.status] += 1

    def values(c: Counter) -> list:
        return [*(shown(c[s]) for s in STATUSES), shown(sum(c.values()))]

    return {
        "by_month": [[m, *values(months[m])] for m in sorted(months)],
        "by_cohort": [
            [code, name, d, *values(cohorts[(code, d, name)])] for code, d, name in sorted(cohorts)
        ],
    }


def progress(f: Filters) -> dict[str, list[list]]:
    learners: dict[tuple[int, int], datetime] = {}
    for e in all_rows(Enrolment):
        if e.status == "active" and in_range(e.queued_at, f) and cohort_in_scope(e.cohort, f):
            key = (e.user_id, e.cohort.course_id)
            start = e.enrolled_at or e.queued_at
            learners[key] = min(learners.get(key, start), start)
    courses = {c.id: c for c in all_rows(Course)}
    required = {
        c.id: {ls.id for m in c.modules for ls in m.lessons if ls.required}
        for c in courses.values()
    }
    done: Counter = Counter()
    for p in all_rows(LessonProgress):
        for course_id, lessons in required.items():
            if p.lesson_id in lessons and (p.user_id, course_id) in learners:
                done[(p.user_id, course_id)] += 1
    completions = {(c.user_id, c.course_id): c for c in all_rows(CourseCompletion)}
    per_course: dict[int, dict] = defaultdict(lambda: Counter())
    days: dict[int, list[float]] = defaultdict(list)
    for (user_id, course_id), start in learners.items():
        total, n = len(required[course_id]), done[(user_id, course_id)]
        row = per_course[course_id]
        row["enrolled"] += 1
        row["started"] += n >= 1
        row["half"] += total > 0 and 2 * n >= total
        row["lessons"] += total > 0 and n >= total
        completion = completions.get((user_id, course_id))
        if completion is not None and completion.completed:
            row["completed"] += 1
            days[course_id].append((completion.completed_at - start).total_seconds() / 86400)
    result = []
    for course_id in sorted(per_course, key=lambda i: courses[i].code):
        row, spent = per_course[course_id], days[course_id]
        result.append(
            [
                courses[course_id].code,
                courses[course_id].title_en,
                *(shown(row[k]) for k in ("enrolled", "started", "half", "lessons", "completed")),
                derived(sum(spent) / len(spent) if spent else None, row["completed"]),
            ]
        )
    tables = {"funnel": result}
    if f.course_id is not None:
        course = courses[f.course_id]
        lessons = [ls for m in course.modules for ls in m.lessons if ls.required]
        reached = Counter(
            p.lesson_id for p in all_rows(LessonProgress) if (p.user_id, course.id) in learners
        )
        tables["lessons"] = [
            [f"{ls.module.position}.{ls.position}", ls.title_en, shown(reached[ls.id])]
            for ls in lessons
        ]
    return tables


def results(f: Filters) -> dict[str, list[list]]:
    people = learners_any(f) if f.narrows_people else None
    groups: dict[int, list[Grade]] = defaultdict(list)
    bands: Counter = Counter()
    for g in all_rows(Grade):
        a = g.assessment
        if g.status != "released" or g.points is None or not in_range(g.graded_at, f):
            continue
        if not course_in_scope(a.course, f) or (people is not None and g.user_id not in people):
            continue
        groups[a.id].append(g)
        low = max((b for b in range(10, 100, 10) if g.points * 100 >= b * a.max_points), default=0)
        bands[low] += 1
    rows = []
    for grades in sorted(
        groups.values(),
        key=lambda gs: (
            gs[0].assessment.course.code,
            gs[0].assessment.position,
            gs[0].assessment.id,
        ),
    ):
        a = grades[0].assessment
        graded = len(grades)
        passed = sum(
            a.pass_percent is not None and g.points * 100 >= a.pass_percent * a.max_points
            for g in grades
        )
        mean = sum(g.points * 100 / a.max_points for g in grades) / graded
        has_mark = a.pass_percent is not None
        rows.append(
            [
                a.course.code,
                a.title_en,
                shown(graded),
                shown(passed) if has_mark else None,
                derived(passed * 100 / graded, graded, passed) if has_mark else None,
                derived(mean, graded),
            ]
        )
    return {
        "assessments": rows,
        "bands": [
            [f"{low}-{low + 9}" if low < 90 else "90-100", shown(bands[low])]
            for low in range(0, 100, 10)
        ],
    }


def levels_at(moment: datetime, f: Filters) -> dict[tuple[int, int], int]:
    """Each trainee's level rank per competency at ``moment``, by the evidence rules."""
    rows = [e for e in all_rows(Evidence) if e.created_at < moment]
    superseded = {e.supersedes_id for e in rows if e.supersedes_id is not None}
    people = learners_any(f) if f.narrows_people else None
    levels: dict[tuple[int, int], int] = {}
    for e in rows:
        if e.level is None or e.id in superseded:
            continue
        if people is not None and e.user_id not in people:
            continue
        key = (e.user_id, e.competency_id)
        levels[key] = max(levels.get(key, 0), e.level.rank)
    return levels


def competencies(f: Filters) -> dict[str, list[list]]:
    end = levels_at(f.end or utcnow(), f)
    start = levels_at(f.start, f) if f.start is not None else {}
    competency = {c.id: c for c in all_rows(Competency)}
    distribution: Counter = Counter()
    for (_user, comp_id), rank in end.items():
        distribution[(comp_id, rank)] += 1
    levels_rows = []
    for comp_id, rank in sorted(
        distribution,
        key=lambda k: (competency[k[0]].framework.code, competency[k[0]].code, k[1]),
    ):
        c = competency[comp_id]
        name = next(lv.name_en for lv in c.framework.levels if lv.rank == rank)
        levels_rows.append(
            [c.framework.code, c.code, rank, name, shown(distribution[(comp_id, rank)])]
        )
    gains_rows = []
    by_comp: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (user, comp_id), rank in end.items():
        by_comp[comp_id].append((rank, start.get((user, comp_id), 0)))
    for comp_id in sorted(
        by_comp, key=lambda i: (competency[i].framework.code, competency[i].code)
    ):
        c = competency[comp_id]
        pairs = by_comp[comp_id]
        proficient = c.framework.proficient_level
        assessed = len(pairs)
        gains_rows.append(
            [
                c.framework.code,
                c.code,
                c.title_en,
                shown(assessed),
                shown(sum(e > s for e, s in pairs)),
                shown(sum(proficient is not None and e >= proficient.rank for e, _s in pairs)),
                derived(sum(e - s for e, s in pairs) / assessed, assessed),
            ]
        )
    coverage = []
    taught = {
        m.competency_id
        for m in all_rows(AssessmentCompetency)
        if m.assessment.course.state == "published"
    } | {
        m.competency_id
        for m in all_rows(OutcomeCompetency)
        if m.outcome.course.state == "published"
    }
    for fw in sorted(all_rows(Framework), key=lambda fw: fw.code):
        items = fw.competencies
        if not items:
            continue
        coverage.append(
            [
                fw.code,
                fw.name_en,
                len(items),
                sum(any(a.kind == AlignmentKind.ESCO for a in c.alignments) for c in items),
                sum(any(a.kind == AlignmentKind.ECF for a in c.alignments) for c in items),
                sum(c.id in taught for c in items),
            ]
        )
    return {"levels": levels_rows, "gains": gains_rows, "coverage": coverage}


def certificate_status(cert: Certificate, now: datetime) -> str:
    if cert.status == "active" and cert.valid_until is not None and cert.valid_until <= now:
        return "expired"
    return cert.status


def certification(f: Filters) -> dict[str, list[list]]:
    now = utcnow()
    people = learners_any(f) if (f.course_id or f.cohort_id) else None
    chosen = [
        c
        for c in all_rows(Certificate)
        if in_range(c.issued_at, f)
        and (f.programme_id is None or c.scheme.programme_id == f.programme_id)
        and (people is None or c.user_id in people)
    ]
    schemes: dict[str, Counter] = defaultdict(Counter)
    months: dict[tuple[str, str], Counter] = defaultdict(Counter)
    due: Counter = Counter()
    for c in chosen:
        status = certificate_status(c, now)
        schemes[c.scheme.code][status] += 1
        months[(c.scheme.code, c.issued_at.strftime("%Y-%m"))][status] += 1
        if (
            c.status in ("active", "suspended")
            and c.valid_until is not None
            and now < c.valid_until <= now + timedelta(days=365)
        ):
            due[(c.scheme.code, c.valid_until.strftime("%Y-%m"))] += 1

    def values(counts: Counter) -> list:
        return [shown(sum(counts.values())), *(shown(counts[s]) for s in CERT_STATUSES)]

    eligible = eligible_now(f, people)
    codes = sorted(set(schemes) | set(eligible))
    return {
        "by_scheme": [
            [code, shown(eligible.get(code, 0)), *values(schemes[code])] for code in codes
        ],
        "by_month": [[code, m, *values(months[(code, m)])] for code, m in sorted(months)],
        "renewals": [
            [code, m, shown(due[(code, m)])] for code, m in sorted(due, key=lambda k: (k[1], k[0]))
        ],
        "verifications": verifications(f),
    }


def eligible_now(f: Filters, people: set[int] | None) -> dict[str, int]:
    """Trainees eligible per active scheme, by the certifier's queue, one scheme at a time."""
    found = {}
    for scheme in all_rows(Scheme):
        if not scheme.active or (
            f.programme_id is not None and scheme.programme_id != f.programme_id
        ):
            continue
        ids = [
            row.user.id
            for row in certificate_queries.eligible_queue(scheme)
            if people is None or row.user.id in people
        ]
        if ids:
            found[scheme.code] = len(ids)
    return found


def verifications(f: Filters) -> list[list]:
    """The verification counts by month (rows) and scheme (columns), from the table."""
    first = f.date_from.replace(day=1) if f.date_from else None
    schemes = {scheme.id: scheme for scheme in all_rows(Scheme)}
    rows = [
        r
        for r in all_rows(VerificationCount)
        if (first is None or r.month >= first)
        and (f.date_to is None or r.month <= f.date_to)
        and (f.programme_id is None or schemes[r.scheme_id].programme_id == f.programme_id)
    ]
    codes = sorted({schemes[r.scheme_id].code for r in rows})
    cells: Counter = Counter()
    for r in rows:
        cells[(r.month.strftime("%Y-%m"), schemes[r.scheme_id].code)] += r.count
    months = sorted({m for m, _code in cells})
    return [[m, *(shown(cells[(m, code)]) for code in codes)] for m in months]


def overview(f: Filters) -> list:
    participants = {
        e.user_id
        for e in all_rows(Enrolment)
        if e.status == "active" and in_range(e.queued_at, f) and cohort_in_scope(e.cohort, f)
    }
    people = learners_any(f) if f.narrows_people else None
    completions = [
        c
        for c in all_rows(CourseCompletion)
        if c.completed
        and in_range(c.completed_at, f)
        and course_in_scope(c.course, f)
        and (people is None or c.user_id in people)
    ]
    cert_people = learners_any(f) if (f.course_id or f.cohort_id) else None
    certificates = [
        c
        for c in all_rows(Certificate)
        if in_range(c.issued_at, f)
        and (f.programme_id is None or c.scheme.programme_id == f.programme_id)
        and (cert_people is None or c.user_id in cert_people)
    ]
    return [
        shown(len(participants)),
        shown(len({c.user_id for c in completions})),
        shown(len(completions)),
        shown(len({c.user_id for c in certificates})),
        shown(len(certificates)),
    ]

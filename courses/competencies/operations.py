"""Writes for competency records: frameworks, scales, mappings and evidence.

Evidence is append-only. A pass of a mapped assessment adds evidence through the
``grade_changed`` signal (once per grade and competency; connected by
``courses.connect_signals``); a grade that stops passing (put back to draft,
lowered below the pass mark, excused) gets a withdrawal row that supersedes the
evidence it gave.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from courses.access import NotAllowed, require_admin, require_manager
from courses.assessments.models import Assessment, Grade, GradeChange, GradeStatus
from courses.competencies import framework_csv
from courses.competencies.models import (
    CODE_MAX,
    NAME_MAX,
    SOURCE_MAX,
    AlignmentKind,
    AssessmentCompetency,
    Competency,
    CompetencyAlignment,
    Evidence,
    EvidenceSource,
    Framework,
    OutcomeCompetency,
    ProficiencyLevel,
)
from courses.competencies.rules import CompetencyError, validate_evidence_note
from courses.models import Cohort, Course, Enrolment, EnrolmentStatus, LearningOutcome
from courses.permissions import can_manage_course
from lms import audit
from lms.extensions import db
from lms.models import User

logger = logging.getLogger(__name__)

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
_CODE = re.compile(CODE_PATTERN)

#: The scale a new framework starts with (English, Bulgarian); the third is proficient.
DEFAULT_SCALE = (
    ("Awareness", "Осведоменост"),
    ("Basic", "Основно ниво"),
    ("Proficient", "Компетентност"),
    ("Advanced", "Напреднало ниво"),
    ("Expert", "Експертно ниво"),
)
DEFAULT_PROFICIENT = 2  # index into DEFAULT_SCALE

__all__ = ["CompetencyError", "ImportRejected"]


class ImportRejected(CompetencyError):
    """A framework CSV with errors; ``errors`` lists ``(line, message)``; nothing was imported."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        super().__init__(_("The file has errors; nothing was imported."))
        self.errors = errors


# --- frameworks ------------------------------------------------------------


def _check_code(code: str) -> str:
    code = (code or "").strip()
    if not code:
        raise CompetencyError(_("Enter a code."))
    if len(code) > CODE_MAX or not _CODE.match(code):
        raise CompetencyError(
            _(
                "The code may use only letters, digits, dots, hyphens and underscores"
                " (at most %(n)s characters).",
                n=CODE_MAX,
            )
        )
    return code


def _check_name(value: str, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise CompetencyError(_("Enter a name in English."))
    if len(value) > NAME_MAX:
        raise CompetencyError(_("A name may have at most %(n)s characters.", n=NAME_MAX))
    return value


def framework_code_taken(code: str, exclude: Framework | None = None) -> bool:
    query = sa.select(Framework.id).where(sa.func.lower(Framework.code) == code.strip().lower())
    if exclude is not None:
        query = query.where(Framework.id != exclude.id)
    return db.session.scalar(query.limit(1)) is not None


def create_framework(
    *,
    code: str,
    name_en: str,
    name_bg: str = "",
    description_en: str = "",
    description_bg: str = "",
    source: str = "",
    actor: User,
    scale: Sequence[tuple[str, str]] = DEFAULT_SCALE,
    proficient: int = DEFAULT_PROFICIENT,
) -> Framework:
    """Create a framework with a scale (by default five levels, the third proficient)."""
    require_admin(actor)
    code = _check_code(code)
    if framework_code_taken(code):
        raise CompetencyError(_("A framework with the code %(code)s exists already.", code=code))
    framework = Framework(
        code=code,
        name_en=_check_name(name_en),
        name_bg=_check_name(name_bg, required=False),
        description_en=(description_en or "").strip(),
        description_bg=(description_bg or "").strip(),
        source=(source or "").strip()[:SOURCE_MAX],
    )
    db.session.add(framework)
    db.session.flush()
    save_scale(
        framework,
        [LevelInput(None, en, bg) for en, bg in scale],
        proficient=proficient,
        actor=actor,
        record=False,
    )
    audit.record("competency_framework.create", framework, actor=actor, code=code)
    logger.info("framework %s created", code)
    return framework


def update_framework(
    framework: Framework,
    *,
    code: str,
    name_en: str,
    name_bg: str = "",
    description_en: str = "",
    description_bg: str = "",
    source: str = "",
    actor: User,
) -> Framework:
    require_admin(actor)
    code = _check_code(code)
    if framework_code_taken(code, exclude=framework):
        raise CompetencyError(_("A framework with the code %(code)s exists already.", code=code))
    framework.code = code
    framework.name_en = _check_name(name_en)
    framework.name_bg = _check_name(name_bg, required=False)
    framework.description_en = (description_en or "").strip()
    framework.description_bg = (description_bg or "").strip()
    framework.source = (source or "").strip()[:SOURCE_MAX]
    db.session.flush()
    audit.record("competency_framework.update", framework, actor=actor, code=code)
    logger.info("framework %s updated", framework.id)
    return framework


@dataclass(frozen=True)
class LevelInput:
    """A row of the scale editor: an existing level's id (or None for a new one) and names."""

    id: int | None
    name_en: str
    name_bg: str = ""


def _level_in_use(level: ProficiencyLevel) -> bool:
    for model in (Evidence, AssessmentCompetency, OutcomeCompetency):
        used = db.session.scalar(sa.select(model.id).where(model.level_id == level.id).limit(1))
        if used is not None:
            return True
    return False


def save_scale(
    framework: Framework,
    rows: Sequence[LevelInput],
    *,
    proficient: int,
    actor: User,
    record: bool = True,
) -> list[ProficiencyLevel]:
    """Set a framework's levels, lowest first, and which one (index in ``rows``) is proficient.

    Existing levels keep their rank (evidence refers to them); new ones go above
    them. A level that evidence or a mapping uses cannot be removed.
    """
    require_admin(actor)
    rows = [LevelInput(r.id, (r.name_en or "").strip(), (r.name_bg or "").strip()) for r in rows]
    if not rows:
        raise CompetencyError(_("A scale needs at least one level."))
    if not 0 <= proficient < len(rows):
        raise CompetencyError(_("Mark one of the levels as proficient."))
    existing = {level.id: level for level in framework.levels}
    seen_ids = [row.id for row in rows if row.id is not None]
    if len(set(seen_ids)) != len(seen_ids) or any(i not in existing for i in seen_ids):
        raise CompetencyError(_("The scale was changed by someone else. Reload and try again."))
    kept_ranks = [existing[i].rank for i in seen_ids]
    if kept_ranks != sorted(kept_ranks) or any(
        row.id is None and later.id is not None
        for n, row in enumerate(rows)
        for later in rows[n + 1 :]
    ):
        raise CompetencyError(_("New levels go above the existing ones."))
    for n, row in enumerate(rows, 1):
        if not row.name_en:
            raise CompetencyError(_("Level %(n)s needs a name in English.", n=n))
        if len(row.name_en) > NAME_MAX or len(row.name_bg) > NAME_MAX:
            raise CompetencyError(
                _("Level %(n)s: a name may have at most %(max)s characters.", n=n, max=NAME_MAX)
            )
    names = [row.name_en.casefold() for row in rows]
    if len(set(names)) != len(names):
        raise CompetencyError(_("Two levels have the same name."))
    for level_id, level in existing.items():
        if level_id not in seen_ids and _level_in_use(level):
            raise CompetencyError(
                _(
                    "The level %(name)s is used by evidence or mappings and cannot be removed.",
                    name=level.name_en,
                )
            )

    # Clear the proficient flag first: the one-proficient index is checked row by row.
    for level in framework.levels:
        level.proficient = False
    db.session.flush()
    for level_id, level in existing.items():
        if level_id not in seen_ids:
            db.session.delete(level)
    db.session.flush()
    top = max(kept_ranks, default=0)
    result = []
    for row in rows:
        if row.id is None:
            top += 1
            level = ProficiencyLevel(framework=framework, rank=top)
            db.session.add(level)
        else:
            level = existing[row.id]
        level.name_en = row.name_en
        level.name_bg = row.name_bg
        result.append(level)
    db.session.flush()
    result[proficient].proficient = True
    db.session.flush()
    db.session.expire(framework, ["levels"])
    if record:
        audit.record(
            "competency_framework.scale",
            framework,
            actor=actor,
            levels=[level.name_en for level in result],
            proficient=result[proficient].name_en,
        )
    logger.info("scale of framework %s saved: %s levels", framework.id, len(result))
    return result


# --- competencies ----------------------------------------------------------


def _alignments(esco_uris: Sequence[str], ecf_codes: Sequence[str]) -> list[tuple[str, str]]:
    values: list[tuple[str, str]] = []
    for raw in esco_uris:
        if not raw.strip():
            continue
        uri = framework_csv.normalise_esco_uri(raw)
        if uri is None:
            raise CompetencyError(
                _(
                    "“%(value)s” is not an ESCO skill URI (%(prefix)s<uuid>).",
                    value=raw.strip()[:80],
                    prefix=framework_csv.ESCO_SKILL_PREFIX,
                )
            )
        if (AlignmentKind.ESCO, uri) not in values:
            values.append((AlignmentKind.ESCO, uri))
    for raw in ecf_codes:
        if not raw.strip():
            continue
        code = framework_csv.normalise_ecf_code(raw)
        if code is None:
            raise CompetencyError(
                _("“%(value)s” is not an e-CF 4.0 competence code (A.1 to E.9).", value=raw[:20])
            )
        if (AlignmentKind.ECF, code) not in values:
            values.append((AlignmentKind.ECF, code))
    return values


def split_list(text: str) -> list[str]:
    """Split a list typed in a form (spaces, commas, semicolons, bars or new lines)."""
    return [item for item in re.split(r"[\s|,;]+", text or "") if item]


def _descendant_ids(competency: Competency) -> set[int]:
    rows = db.session.execute(
        sa.select(Competency.id, Competency.parent_id).where(
            Competency.framework_id == competency.framework_id
        )
    ).all()
    children: dict[int | None, list[int]] = {}
    for cid, parent in rows:
        children.setdefault(parent, []).append(cid)
    found: set[int] = set()
    pending = [competency.id]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _check_competency(
    framework: Framework,
    competency: Competency | None,
    code: str,
    title_en: str,
    title_bg: str,
    parent: Competency | None,
) -> str:
    code = _check_code(code)
    taken = sa.select(Competency.id).where(
        Competency.framework_id == framework.id, Competency.code == code
    )
    if competency is not None:
        taken = taken.where(Competency.id != competency.id)
    if db.session.scalar(taken.limit(1)) is not None:
        raise CompetencyError(
            _("The framework has a competency with the code %(code)s already.", code=code)
        )
    if not (title_en or "").strip():
        raise CompetencyError(_("Enter a title in English."))
    for title in (title_en, title_bg):
        if len((title or "").strip()) > framework_csv.MAX_TITLE_LENGTH:
            raise CompetencyError(
                _("A title may have at most %(n)s characters.", n=framework_csv.MAX_TITLE_LENGTH)
            )
    if parent is not None:
        if parent.framework_id != framework.id:
            raise CompetencyError(_("The parent must belong to the same framework."))
        if competency is not None and (
            parent.id == competency.id or parent.id in _descendant_ids(competency)
        ):
            raise CompetencyError(
                _("A competency cannot be placed under itself or one of its own parts.")
            )
    return code


def _set_alignments(competency: Competency, values: Sequence[tuple[str, str]]) -> None:
    current = {(a.kind, a.value): a for a in competency.alignments}
    for key, alignment in current.items():
        if key not in values:
            competency.alignments.remove(alignment)
    for kind, value in values:
        if (kind, value) not in current:
            competency.alignments.append(CompetencyAlignment(kind=kind, value=value))


def create_competency(
    framework: Framework,
    *,
    code: str,
    title_en: str,
    title_bg: str = "",
    description_en: str = "",
    description_bg: str = "",
    parent: Competency | None = None,
    esco_uris: Sequence[str] = (),
    ecf_codes: Sequence[str] = (),
    actor: User,
) -> Competency:
    require_admin(actor)
    code = _check_competency(framework, None, code, title_en, title_bg, parent)
    alignments = _alignments(esco_uris, ecf_codes)
    competency = Competency(
        framework=framework,
        code=code,
        title_en=title_en.strip(),
        title_bg=(title_bg or "").strip(),
        description_en=(description_en or "").strip(),
        description_bg=(description_bg or "").strip(),
        parent=parent,
    )
    _set_alignments(competency, alignments)
    db.session.add(competency)
    db.session.flush()
    audit.record(
        "competency.create",
        competency,
        actor=actor,
        framework=framework.code,
        code=code,
        alignments=[value for _kind, value in alignments],
    )
    logger.info("competency %s created in framework %s", code, framework.code)
    return competency


def update_competency(
    competency: Competency,
    *,
    code: str,
    title_en: str,
    title_bg: str = "",
    description_en: str = "",
    description_bg: str = "",
    parent: Competency | None = None,
    esco_uris: Sequence[str] = (),
    ecf_codes: Sequence[str] = (),
    actor: User,
) -> Competency:
    require_admin(actor)
    code = _check_competency(competency.framework, competency, code, title_en, title_bg, parent)
    alignments = _alignments(esco_uris, ecf_codes)
    competency.code = code
    competency.title_en = title_en.strip()
    competency.title_bg = (title_bg or "").strip()
    competency.description_en = (description_en or "").strip()
    competency.description_bg = (description_bg or "").strip()
    competency.parent = parent
    _set_alignments(competency, alignments)
    db.session.flush()
    audit.record(
        "competency.update",
        competency,
        actor=actor,
        code=code,
        alignments=[value for _kind, value in alignments],
    )
    logger.info("competency %s updated", competency.id)
    return competency


def check_import(framework: Framework, data: bytes | str) -> framework_csv.ParsedFramework:
    """Parse a framework CSV and add an error for every code the framework has already."""
    parsed = framework_csv.parse_framework_csv(data)
    existing = set(
        db.session.scalars(
            sa.select(Competency.code).where(Competency.framework_id == framework.id)
        )
    )
    errors = dict(parsed.errors)
    for row in parsed.rows:
        if row.code in existing:
            errors[row.line] = _(
                "The framework has a competency with the code %(code)s already.", code=row.code
            )
    good = [row for row in parsed.rows if row.line not in errors]
    return framework_csv.ParsedFramework(rows=good, errors=sorted(errors.items()))


def import_competencies(
    framework: Framework, data: bytes | str, *, actor: User
) -> list[Competency]:
    """Add every competency of a framework CSV, or none if any row has an error."""
    require_admin(actor)
    parsed = check_import(framework, data)
    if not parsed.ok:
        raise ImportRejected(parsed.errors or [(1, _("The file has no competencies."))])
    created: dict[str, Competency] = {}
    for row in framework_csv.parents_first(parsed.rows):
        competency = Competency(
            framework=framework,
            code=row.code,
            title_en=row.title_en,
            title_bg=row.title_bg,
            description_en=row.description_en,
            description_bg=row.description_bg,
            parent=created.get(row.parent_code) if row.parent_code else None,
        )
        _set_alignments(
            competency,
            [(AlignmentKind.ESCO, uri) for uri in row.esco_uris]
            + [(AlignmentKind.ECF, code) for code in row.ecf_codes],
        )
        db.session.add(competency)
        created[row.code] = competency
    db.session.flush()
    audit.record("competency_framework.import", framework, actor=actor, competencies=len(created))
    logger.info("imported %s competencies into framework %s", len(created), framework.code)
    return list(created.values())


# --- mappings --------------------------------------------------------------


def _check_level(competency: Competency, level: ProficiencyLevel | None) -> ProficiencyLevel:
    if level is None or level.framework_id != competency.framework_id:
        raise CompetencyError(
            _(
                "This level is not in the scale of the framework %(framework)s.",
                framework=competency.framework.code,
            )
        )
    return level


def map_assessment(
    assessment: Assessment,
    competency: Competency,
    level: ProficiencyLevel | None,
    *,
    actor: User,
) -> AssessmentCompetency:
    """Say that passing ``assessment`` shows ``competency`` at ``level`` (or change the level).

    Trainees who have passed it already get their evidence now.
    """
    require_manager(actor, assessment.course)
    level = _check_level(competency, level)
    mapping = db.session.scalar(
        sa.select(AssessmentCompetency).where(
            AssessmentCompetency.assessment_id == assessment.id,
            AssessmentCompetency.competency_id == competency.id,
        )
    )
    if mapping is None:
        mapping = AssessmentCompetency(assessment=assessment, competency=competency)
        db.session.add(mapping)
    mapping.level = level
    db.session.flush()
    audit.record(
        "competency.map_assessment",
        mapping,
        actor=actor,
        assessment=assessment.id,
        competency=competency.code,
        level=level.rank,
    )
    grades = db.session.scalars(
        sa.select(Grade).where(Grade.assessment_id == assessment.id).order_by(Grade.id)
    )
    for grade in grades:
        sync_grade_evidence(grade, actor=actor)
    logger.info("assessment %s mapped to competency %s", assessment.id, competency.id)
    return mapping


def unmap_assessment(mapping: AssessmentCompetency, *, actor: User) -> None:
    """Remove a mapping; evidence already given stays (it was shown at the time)."""
    require_manager(actor, mapping.assessment.course)
    audit.record(
        "competency.unmap_assessment",
        mapping,
        actor=actor,
        assessment=mapping.assessment_id,
        competency=mapping.competency_id,
    )
    db.session.delete(mapping)
    db.session.flush()


def map_outcome(
    outcome: LearningOutcome,
    competency: Competency,
    level: ProficiencyLevel | None,
    *,
    actor: User,
) -> OutcomeCompetency:
    """Say that ``outcome`` addresses ``competency`` up to ``level`` (or change the level)."""
    require_manager(actor, outcome.course)
    level = _check_level(competency, level)
    mapping = db.session.scalar(
        sa.select(OutcomeCompetency).where(
            OutcomeCompetency.outcome_id == outcome.id,
            OutcomeCompetency.competency_id == competency.id,
        )
    )
    if mapping is None:
        mapping = OutcomeCompetency(outcome=outcome, competency=competency)
        db.session.add(mapping)
    mapping.level = level
    db.session.flush()
    audit.record(
        "competency.map_outcome",
        mapping,
        actor=actor,
        outcome=outcome.id,
        competency=competency.code,
        level=level.rank,
    )
    logger.info("outcome %s mapped to competency %s", outcome.id, competency.id)
    return mapping


def unmap_outcome(mapping: OutcomeCompetency, *, actor: User) -> None:
    require_manager(actor, mapping.outcome.course)
    audit.record(
        "competency.unmap_outcome",
        mapping,
        actor=actor,
        outcome=mapping.outcome_id,
        competency=mapping.competency_id,
    )
    db.session.delete(mapping)
    db.session.flush()


# --- evidence --------------------------------------------------------------


def _not_superseded():
    later = sa.orm.aliased(Evidence)
    return ~sa.exists().where(later.supersedes_id == Evidence.id)


def is_passing(grade: Grade) -> bool:
    """Return whether a grade is a released pass (points at or above the pass mark)."""
    assessment = grade.assessment
    if grade.status != GradeStatus.RELEASED or grade.excused or grade.points is None:
        return False
    if assessment.pass_percent is None:
        return False  # an assessment without a pass mark demonstrates nothing
    return grade.points * 100 >= assessment.pass_percent * assessment.max_points


def _supersede(
    row: Evidence,
    *,
    level: ProficiencyLevel | None,
    note: str,
    actor: User | None,
    source: str | None = None,
    grade: Grade | None = None,
) -> Evidence:
    """Add the row that replaces ``row``; the unique ``supersedes_id`` stops a double."""
    new = Evidence(
        user_id=row.user_id,
        competency_id=row.competency_id,
        level=level,
        source=source or row.source,
        grade_id=grade.id if grade is not None else row.grade_id,
        course_id=row.course_id,
        note=note,
        recorded_by=actor,
        supersedes_id=row.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(new)
            db.session.flush()
    except sa.exc.IntegrityError as error:
        raise CompetencyError(
            _("This evidence was changed by someone else in the meantime. Reload and try again.")
        ) from error
    return new


def sync_grade_evidence(grade: Grade, *, actor: User | None) -> list[Evidence]:
    """Add evidence for a passing mapped grade, or withdraw what a grade no longer supports."""
    live = list(
        db.session.scalars(
            sa.select(Evidence)
            .where(
                Evidence.grade_id == grade.id,
                Evidence.level_id.is_not(None),
                _not_superseded(),
            )
            .order_by(Evidence.id)
        )
    )
    added: list[Evidence] = []
    if is_passing(grade):
        have = {row.competency_id for row in live}
        mappings = db.session.scalars(
            sa.select(AssessmentCompetency)
            .where(AssessmentCompetency.assessment_id == grade.assessment_id)
            .order_by(AssessmentCompetency.id)
        )
        for mapping in mappings:
            if mapping.competency_id in have:
                continue  # once per grade and competency: re-saves add nothing
            row = Evidence(
                user_id=grade.user_id,
                competency_id=mapping.competency_id,
                level_id=mapping.level_id,
                source=EvidenceSource.ASSESSMENT,
                grade_id=grade.id,
                course_id=grade.assessment.course_id,
                recorded_by=actor,
                note="",  # the page says "Passed <title>" in the reader's language
            )
            db.session.add(row)
            added.append(row)
    else:
        added.extend(_supersede(row, level=None, note="", actor=actor) for row in live)
    if added:
        db.session.flush()
        for row in added:
            action = "withdraw" if row.level_id is None else "add"
            audit.record(
                f"competency_evidence.{action}",
                row,
                actor=actor,
                user=row.user_id,
                competency=row.competency_id,
                grade=grade.id,
            )
        logger.info("grade %s: %s evidence rows added", grade.id, len(added))
    return added


def on_grade_changed(grade: Grade, change: GradeChange | None = None, **_extra) -> None:
    """Keep evidence in step with every grade write (see ``sync_grade_evidence``)."""
    sync_grade_evidence(grade, actor=change.changed_by if change is not None else None)


def is_enrolled_in(user: User, course: Course) -> bool:
    return (
        db.session.scalar(
            sa.select(Enrolment.id)
            .join(Cohort, Cohort.id == Enrolment.cohort_id)
            .where(
                Cohort.course_id == course.id,
                Enrolment.user_id == user.id,
                Enrolment.status == EnrolmentStatus.ACTIVE,
            )
            .limit(1)
        )
        is not None
    )


def record_evidence(
    user: User,
    competency: Competency,
    level: ProficiencyLevel | None,
    *,
    actor: User,
    note: str,
    course: Course,
) -> Evidence:
    """Record an instructor's evidence for a trainee enrolled in the instructor's course."""
    require_manager(actor, course)
    if not is_enrolled_in(user, course):
        raise CompetencyError(
            _("%(name)s is not enrolled in %(course)s.", name=user.name, course=course.code)
        )
    level = _check_level(competency, level)
    note = validate_evidence_note(note)
    row = Evidence(
        user=user,
        competency=competency,
        level=level,
        source=EvidenceSource.INSTRUCTOR,
        course=course,
        note=note,
        recorded_by=actor,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "competency_evidence.add",
        row,
        actor=actor,
        user=user.id,
        competency=competency.code,
        level=level.rank,
        course=course.code,
    )
    logger.info("evidence %s recorded for user %s by %s", row.id, user.id, actor.id)
    return row


def can_withdraw(actor: User, row: Evidence) -> bool:
    """Instructors of the row's course (and admins) may withdraw instructor or imported evidence."""
    if not actor.is_authenticated or row.source == EvidenceSource.ASSESSMENT:
        return False
    if actor.is_admin:
        return True
    return row.course is not None and can_manage_course(actor, row.course)


def withdraw_evidence(row: Evidence, *, actor: User, note: str) -> Evidence:
    """Withdraw instructor evidence with a note: a new row without a level supersedes it."""
    if row.source == EvidenceSource.ASSESSMENT:  # its grade decides, nobody by hand
        raise CompetencyError(_("You cannot withdraw this evidence."))
    if not can_withdraw(actor, row):
        raise NotAllowed(_("You cannot withdraw this evidence."))
    if row.level_id is None:
        raise CompetencyError(_("This row is a withdrawal already."))
    note = validate_evidence_note(note)
    new = _supersede(row, level=None, note=note, actor=actor)
    audit.record(
        "competency_evidence.withdraw",
        new,
        actor=actor,
        user=row.user_id,
        competency=row.competency_id,
        supersedes=row.id,
    )
    logger.info("evidence %s withdrawn by %s", row.id, actor.id)
    return new

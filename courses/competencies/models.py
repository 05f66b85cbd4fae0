"""Competency frameworks, proficiency scales, mappings and append-only evidence."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.assessments.models import Assessment, Grade
from courses.competencies.rules import EvidenceSource
from courses.models import Course, LearningOutcome
from lms.db import UTCDateTime, utcnow
from lms.extensions import Model
from lms.i18n import Bilingual
from lms.models import User

CODE_MAX = 32
NAME_MAX = 200
TITLE_MAX = 200
DESCRIPTION_MAX = 5000
SOURCE_MAX = 500
NOTE_MAX = 2000
ALIGNMENT_MAX = 120


class AlignmentKind(enum.StrEnum):
    ESCO = "esco"  # an ESCO skill URI
    ECF = "ecf"  # an e-CF 4.0 competence code


class Framework(Bilingual, Model):
    """A competency framework with its own proficiency scale."""

    __tablename__ = "competency_frameworks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(CODE_MAX), unique=True)
    name_en: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    name_bg: Mapped[str] = mapped_column(sa.String(NAME_MAX), default="")
    description_en: Mapped[str] = mapped_column(sa.Text, default="")
    description_bg: Mapped[str] = mapped_column(sa.Text, default="")
    # Where the framework comes from (a standard, a project deliverable, a URL).
    source: Mapped[str] = mapped_column(sa.String(SOURCE_MAX), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    levels: Mapped[list[ProficiencyLevel]] = relationship(
        back_populates="framework", order_by="ProficiencyLevel.rank"
    )
    competencies: Mapped[list[Competency]] = relationship(
        back_populates="framework", order_by="Competency.code"
    )

    def __repr__(self) -> str:
        return f"<Framework {self.code}>"

    @property
    def proficient_level(self) -> ProficiencyLevel | None:
        return next((level for level in self.levels if level.proficient), None)


class ProficiencyLevel(Bilingual, Model):
    """One level of a framework's scale; a higher rank is a higher level."""

    __tablename__ = "proficiency_levels"
    __table_args__ = (
        sa.UniqueConstraint("framework_id", "rank"),
        sa.CheckConstraint("rank > 0", name="rank_positive"),
        # At most one proficient level per framework; operations require exactly one.
        sa.Index(
            "uq_proficiency_levels_one_proficient",
            "framework_id",
            unique=True,
            sqlite_where=sa.text("proficient"),
            postgresql_where=sa.text("proficient"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        sa.ForeignKey("competency_frameworks.id", ondelete="CASCADE"), index=True
    )
    rank: Mapped[int]
    name_en: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    name_bg: Mapped[str] = mapped_column(sa.String(NAME_MAX), default="")
    proficient: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    framework: Mapped[Framework] = relationship(back_populates="levels")

    def __repr__(self) -> str:
        return f"<ProficiencyLevel {self.framework_id}:{self.rank} {self.name_en!r}>"

    def label(self) -> str:
        return f"{self.rank} — {self.tr('name')}"


class Competency(Bilingual, Model):
    """A competency of a framework; ``parent`` groups competencies into a tree."""

    __tablename__ = "competencies"
    __table_args__ = (
        sa.UniqueConstraint("framework_id", "code"),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        sa.ForeignKey("competency_frameworks.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("competencies.id", ondelete="SET NULL"), index=True
    )
    code: Mapped[str] = mapped_column(sa.String(CODE_MAX))
    title_en: Mapped[str] = mapped_column(sa.String(TITLE_MAX))
    title_bg: Mapped[str] = mapped_column(sa.String(TITLE_MAX), default="")
    description_en: Mapped[str] = mapped_column(sa.Text, default="")
    description_bg: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    framework: Mapped[Framework] = relationship(back_populates="competencies")
    parent: Mapped[Competency | None] = relationship(remote_side=[id])
    alignments: Mapped[list[CompetencyAlignment]] = relationship(
        back_populates="competency",
        cascade="all, delete-orphan",
        order_by="(CompetencyAlignment.kind, CompetencyAlignment.value)",
    )

    def __repr__(self) -> str:
        return f"<Competency {self.framework_id}:{self.code}>"

    @property
    def esco_uris(self) -> list[str]:
        return [a.value for a in self.alignments if a.kind == AlignmentKind.ESCO]

    @property
    def ecf_codes(self) -> list[str]:
        return [a.value for a in self.alignments if a.kind == AlignmentKind.ECF]


class CompetencyAlignment(Model):
    """An alignment of a competency to an ESCO skill URI or an e-CF competence code."""

    __tablename__ = "competency_alignments"
    __table_args__ = (
        sa.UniqueConstraint("competency_id", "kind", "value"),
        sa.CheckConstraint("kind IN ('esco', 'ecf')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competency_id: Mapped[int] = mapped_column(
        sa.ForeignKey("competencies.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(8))
    value: Mapped[str] = mapped_column(sa.String(ALIGNMENT_MAX))

    competency: Mapped[Competency] = relationship(back_populates="alignments")

    def __repr__(self) -> str:
        return f"<CompetencyAlignment {self.kind} {self.value}>"


class AssessmentCompetency(Model):
    """A pass of ``assessment`` demonstrates ``competency`` at ``level``."""

    __tablename__ = "assessment_competencies"
    __table_args__ = (sa.UniqueConstraint("assessment_id", "competency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    competency_id: Mapped[int] = mapped_column(
        sa.ForeignKey("competencies.id", ondelete="CASCADE"), index=True
    )
    level_id: Mapped[int] = mapped_column(
        sa.ForeignKey("proficiency_levels.id", ondelete="RESTRICT"), index=True
    )

    assessment: Mapped[Assessment] = relationship()
    competency: Mapped[Competency] = relationship()
    level: Mapped[ProficiencyLevel] = relationship()

    def __repr__(self) -> str:
        return f"<AssessmentCompetency {self.assessment_id}->{self.competency_id}>"


class OutcomeCompetency(Model):
    """A learning outcome addresses ``competency`` up to ``level``."""

    __tablename__ = "outcome_competencies"
    __table_args__ = (sa.UniqueConstraint("outcome_id", "competency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outcome_id: Mapped[int] = mapped_column(
        sa.ForeignKey("learning_outcomes.id", ondelete="CASCADE"), index=True
    )
    competency_id: Mapped[int] = mapped_column(
        sa.ForeignKey("competencies.id", ondelete="CASCADE"), index=True
    )
    level_id: Mapped[int] = mapped_column(
        sa.ForeignKey("proficiency_levels.id", ondelete="RESTRICT"), index=True
    )

    outcome: Mapped[LearningOutcome] = relationship()
    competency: Mapped[Competency] = relationship()
    level: Mapped[ProficiencyLevel] = relationship()

    def __repr__(self) -> str:
        return f"<OutcomeCompetency {self.outcome_id}->{self.competency_id}>"


class Evidence(Model):
    """One piece of evidence that a trainee showed a competency at a level. Never edited.

    A correction, a withdrawal (``level`` empty) or the revocation of the grade it
    came from is a new row whose ``supersedes_id`` points to the row it replaces;
    each row can be superseded once (unique), so the history is a chain.
    """

    __tablename__ = "competency_evidence"
    __table_args__ = (
        sa.CheckConstraint(
            "source IN ({})".format(", ".join(f"'{source}'" for source in EvidenceSource)),
            name="source_known",
        ),
        sa.CheckConstraint(
            "source <> 'assessment' OR grade_id IS NOT NULL", name="assessment_has_grade"
        ),
        sa.UniqueConstraint("supersedes_id"),
        # The reports take each trainee's level per competency from the index alone.
        sa.Index(
            "ix_competency_evidence_user_competency_created_level",
            "user_id",
            "competency_id",
            "created_at",
            "level_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    competency_id: Mapped[int] = mapped_column(sa.ForeignKey("competencies.id"), index=True)
    # None: a withdrawal of the row it supersedes.
    level_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proficiency_levels.id"), index=True)
    source: Mapped[str] = mapped_column(sa.String(16))
    grade_id: Mapped[int | None] = mapped_column(sa.ForeignKey("grades.id"), index=True)
    # The course the evidence was gained or recorded in, when there is one.
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id"), index=True)
    note: Mapped[str] = mapped_column(sa.String(NOTE_MAX), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    supersedes_id: Mapped[int | None] = mapped_column(sa.ForeignKey("competency_evidence.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    competency: Mapped[Competency] = relationship()
    level: Mapped[ProficiencyLevel | None] = relationship()
    grade: Mapped[Grade | None] = relationship()
    course: Mapped[Course | None] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    supersedes: Mapped[Evidence | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Evidence {self.id} user={self.user_id} competency={self.competency_id}>"

    @property
    def is_withdrawal(self) -> bool:
        return self.level_id is None


@sa.event.listens_for(Evidence, "before_update")
@sa.event.listens_for(Evidence, "before_delete")
def _evidence_is_append_only(mapper, connection, target):
    raise RuntimeError("competency evidence is append-only: add a superseding row instead")

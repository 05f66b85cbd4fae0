"""Programmes, courses, modules, lessons, outcomes, cohorts, enrolments and progress."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import Model, db
from lms.i18n import Bilingual
from lms.models import User


class CourseState(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class EnrolmentStatus(enum.StrEnum):
    ACTIVE = "active"
    WAITLISTED = "waitlisted"
    WITHDRAWN = "withdrawn"


course_instructors = sa.Table(
    "course_instructors",
    db.metadata,
    sa.Column("course_id", sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class Programme(Bilingual, Model):
    """A curriculum: an ordered list of courses leading to a certification scheme."""

    __tablename__ = "programmes"
    __table_args__ = (
        sa.CheckConstraint("state IN ('draft', 'published', 'archived')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    title_en: Mapped[str] = mapped_column(sa.String(200))
    title_bg: Mapped[str] = mapped_column(sa.String(200), default="")
    summary_en: Mapped[str] = mapped_column(sa.Text, default="")
    summary_bg: Mapped[str] = mapped_column(sa.Text, default="")
    state: Mapped[str] = mapped_column(sa.String(16), default=CourseState.DRAFT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course_links: Mapped[list[ProgrammeCourse]] = relationship(
        back_populates="programme",
        cascade="all, delete-orphan",
        order_by="ProgrammeCourse.position",
    )

    def __repr__(self) -> str:
        return f"<Programme {self.code}>"

    @property
    def courses(self) -> list[Course]:
        return [link.course for link in self.course_links]


class ProgrammeCourse(Model):
    __tablename__ = "programme_courses"
    __table_args__ = (sa.UniqueConstraint("programme_id", "position"),)

    programme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programmes.id", ondelete="CASCADE"), primary_key=True
    )
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int]

    programme: Mapped[Programme] = relationship(back_populates="course_links")
    course: Mapped[Course] = relationship(back_populates="programme_links")

    def __repr__(self) -> str:
        return f"<ProgrammeCourse {self.programme_id}:{self.course_id}@{self.position}>"


class Course(Bilingual, Model):
    __tablename__ = "courses"
    __table_args__ = (
        sa.CheckConstraint("state IN ('draft', 'published', 'archived')", name="state_known"),
        sa.CheckConstraint("workload_hours >= 0", name="workload_not_negative"),
        sa.CheckConstraint("pass_mark >= 0 AND pass_mark <= 100", name="pass_mark_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    title_en: Mapped[str] = mapped_column(sa.String(200))
    title_bg: Mapped[str] = mapped_column(sa.String(200), default="")
    summary_en: Mapped[str] = mapped_column(sa.Text, default="")
    summary_bg: Mapped[str] = mapped_column(sa.Text, default="")
    workload_hours: Mapped[int] = mapped_column(default=0)
    # The course grade (0-100) a trainee needs for completion; set on the gradebook setup page.
    pass_mark: Mapped[Decimal] = mapped_column(
        sa.Numeric(5, 2), default=Decimal(50), server_default="50"
    )
    state: Mapped[str] = mapped_column(sa.String(16), default=CourseState.DRAFT, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Code, titles and summaries case-folded in Python, kept up to date on every
    # flush: SQLite's lower() and PostgreSQL's under the C locale fold ASCII only,
    # so a search for "Град" would miss "ГРАД" without it.
    search_text: Mapped[str] = mapped_column(sa.Text, default="", server_default="")

    instructors: Mapped[list[User]] = relationship(
        secondary=course_instructors, order_by="User.name"
    )
    programme_links: Mapped[list[ProgrammeCourse]] = relationship(back_populates="course")
    modules: Mapped[list[Module]] = relationship(
        back_populates="course", cascade="all, delete-orphan", order_by="Module.position"
    )
    outcomes: Mapped[list[LearningOutcome]] = relationship(
        back_populates="course", cascade="all, delete-orphan", order_by="LearningOutcome.position"
    )
    cohorts: Mapped[list[Cohort]] = relationship(
        back_populates="course", cascade="all, delete-orphan", order_by="Cohort.starts_on"
    )

    def __repr__(self) -> str:
        return f"<Course {self.code}>"

    @property
    def is_published(self) -> bool:
        return self.state == CourseState.PUBLISHED

    def is_taught_by(self, user) -> bool:
        return user.is_authenticated and any(i.id == user.id for i in self.instructors)


def course_search_text(course: Course) -> str:
    """Return the case-folded text a catalogue search looks in."""
    parts = (course.code, course.title_en, course.title_bg, course.summary_en, course.summary_bg)
    return "\n".join(p or "" for p in parts).casefold()


@sa.event.listens_for(Course, "before_insert")
@sa.event.listens_for(Course, "before_update")
def _refresh_search_text(mapper, connection, target: Course) -> None:
    target.search_text = course_search_text(target)


class Module(Bilingual, Model):
    __tablename__ = "modules"
    __table_args__ = (sa.UniqueConstraint("course_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    title_en: Mapped[str] = mapped_column(sa.String(200))
    title_bg: Mapped[str] = mapped_column(sa.String(200), default="")

    course: Mapped[Course] = relationship(back_populates="modules")
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="module", cascade="all, delete-orphan", order_by="Lesson.position"
    )

    def __repr__(self) -> str:
        return f"<Module {self.id} {self.title_en!r}>"


class Lesson(Bilingual, Model):
    __tablename__ = "lessons"
    __table_args__ = (
        sa.UniqueConstraint("module_id", "position"),
        sa.CheckConstraint("workload_minutes >= 0", name="workload_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(
        sa.ForeignKey("modules.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    title_en: Mapped[str] = mapped_column(sa.String(200))
    title_bg: Mapped[str] = mapped_column(sa.String(200), default="")
    # Markdown; rendered through the sanitiser, never trusted as HTML.
    body_en: Mapped[str] = mapped_column(sa.Text, default="")
    body_bg: Mapped[str] = mapped_column(sa.Text, default="")
    workload_minutes: Mapped[int] = mapped_column(default=0)
    required: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # A draft is seen by the course's staff only: it neither shows to trainees nor
    # counts towards completion until it is published.
    published: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    module: Mapped[Module] = relationship(back_populates="lessons")

    def __repr__(self) -> str:
        return f"<Lesson {self.id} {self.title_en!r}>"


class LearningOutcome(Bilingual, Model):
    __tablename__ = "learning_outcomes"
    __table_args__ = (sa.UniqueConstraint("course_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    text_en: Mapped[str] = mapped_column(sa.String(500))
    text_bg: Mapped[str] = mapped_column(sa.String(500), default="")

    course: Mapped[Course] = relationship(back_populates="outcomes")

    def __repr__(self) -> str:
        return f"<LearningOutcome {self.id}>"


class Cohort(Bilingual, Model):
    """A run of a course with dates, capacity and an enrolment window.

    ``name`` is the English name (unique within the course); ``name_bg`` the optional
    Bulgarian one. Pages show ``cohort.tr("name")``.
    """

    __tablename__ = "cohorts"
    __table_args__ = (
        sa.CheckConstraint("ends_on >= starts_on", name="dates_ordered"),
        sa.CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        sa.CheckConstraint(
            "enrol_closes_on IS NULL OR enrol_opens_on IS NULL "
            "OR enrol_closes_on >= enrol_opens_on",
            name="window_ordered",
        ),
        sa.UniqueConstraint("course_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    name_bg: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    capacity: Mapped[int | None]  # None: no limit
    enrol_opens_on: Mapped[date | None]
    enrol_closes_on: Mapped[date | None]
    self_enrolment: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    course: Mapped[Course] = relationship(back_populates="cohorts")
    enrolments: WriteOnlyMapped[Enrolment] = relationship(
        back_populates="cohort", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Cohort {self.id} {self.name!r}>"

    @property
    def name_en(self) -> str:
        """The English name, as ``Bilingual.tr`` reads it."""
        return self.name

    def window_open(self, today: date) -> bool:
        if self.enrol_opens_on and today < self.enrol_opens_on:
            return False
        return not (self.enrol_closes_on and today > self.enrol_closes_on)


class Enrolment(Model):
    __tablename__ = "enrolments"
    __table_args__ = (
        sa.UniqueConstraint("cohort_id", "user_id"),
        sa.CheckConstraint("status IN ('active', 'waitlisted', 'withdrawn')", name="status_known"),
        # The reports count enrolments by cohort and status without reading the rows.
        sa.Index("ix_enrolments_cohort_id_status_queued_at", "cohort_id", "status", "queued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(
        sa.ForeignKey("cohorts.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    # Waiting-list order: the time the trainee joined the queue.
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolled_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )

    cohort: Mapped[Cohort] = relationship(back_populates="enrolments")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    enrolled_by: Mapped[User | None] = relationship(foreign_keys=[enrolled_by_id])

    def __repr__(self) -> str:
        return f"<Enrolment {self.id} {self.status}>"


class LessonProgress(Model):
    __tablename__ = "lesson_progress"
    __table_args__ = (sa.UniqueConstraint("user_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(
        sa.ForeignKey("lessons.id", ondelete="CASCADE"), index=True
    )
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<LessonProgress {self.user_id}:{self.lesson_id}>"

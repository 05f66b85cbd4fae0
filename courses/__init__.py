"""Curricula, cohorts and enrolment."""


def connect_signals() -> None:
    """Connect the receivers that keep this domain's invariants, in every kind of process.

    The app factory calls it, so a web worker, a CLI command and a job worker
    all recompute course completion and competency evidence when a grade or a
    lesson's progress changes. Connecting again is harmless (blinker keeps one).
    """
    from courses.assessments.grades import grade_changed
    from courses.competencies import operations as competencies
    from courses.enrolment.operations import lesson_progress_changed
    from courses.gradebook import operations as gradebook
    from courses.operations import lesson_publication_changed

    grade_changed.connect(gradebook.on_grade_changed)
    lesson_progress_changed.connect(gradebook.on_lesson_progress_changed)
    lesson_publication_changed.connect(gradebook.on_lesson_publication_changed)
    grade_changed.connect(competencies.on_grade_changed)

"""Certification: schemes, certificates, signed credentials and their verification."""


def connect_signals() -> None:
    """Connect the receivers that keep certification in step with grades (see courses')."""
    from certificates import operations
    from courses.assessments.grades import grade_changed

    grade_changed.connect(operations.on_grade_changed)

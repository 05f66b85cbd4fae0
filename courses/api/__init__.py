"""The courses part of the JSON API: enrolments, studying, quizzes, assignments, grades."""

from flask import Flask


def register(app: Flask) -> None:
    """Register the enrolment, learning and grades API blueprints on ``app``."""
    from courses.api import enrolments, grades, learning
    from lms.api import register_blueprint

    for module in (enrolments, learning, grades):
        register_blueprint(app, module.bp)


#: Ids are 32-bit integers in every supported database; larger ones name nothing.
MAX_ID = 2**31 - 1


def load(model, ident: int):
    """Return the row of ``model`` with id ``ident``, or None (also for ids no column can hold)."""
    from lms.extensions import db

    if not 0 < ident <= MAX_ID:
        return None
    return db.session.get(model, ident)

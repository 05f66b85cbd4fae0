"""The courses part of the JSON API: enrolments, studying, quizzes, assignments, grades."""

from flask import Flask


def register(app: Flask) -> None:
    """Register the enrolment, learning and grades API blueprints on ``app``."""
    from courses.api import enrolments, grades, learning
    from lms.api import register_blueprint

    for module in (enrolments, learning, grades):
        register_blueprint(app, module.bp)

"""The ``lms quizzes`` command group: quiz upkeep for cron."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from lms.extensions import db


@click.group("quizzes")
def quizzes_group() -> None:
    """Quiz upkeep."""


@quizzes_group.command("expire")
@with_appcontext
def expire_command() -> None:
    """Close and grade every attempt left past its deadline (run it from cron, e.g. hourly).

    Pages only show such attempts as expired; this stores them and their quiz
    grades, so the gradebook and certificates see them before the trainee acts.
    """
    from courses.assessments.quizzes.operations import expire_all_due

    count = expire_all_due()
    db.session.commit()
    click.echo(json.dumps({"expired": count}))

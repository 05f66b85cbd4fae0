"""The demo ships months of history: every chart shows real figures, and they add up."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import current_app

from certificates.models import Certificate
from courses.models import Enrolment
from lms.auth.operations import find_user_by_email
from reports import demo as history
from reports import queries
from reports.filters import Filters
from reports.tables import chart_value
from tests.conftest import sign_in
from tests.reports import recompute


def test_demo_history(db, client):
    """One demo load (it takes a while) for every check of the history."""
    for loader in current_app.extensions["lms_demo_loaders"]:
        loader()
    db.session.commit()
    _every_chart_shows_something()
    _history_spans_months(db)
    _figures_agree_with_a_recomputation()
    _loading_again_adds_nothing(db)
    _the_demo_manager_reads_the_reports(client)


def _every_chart_shows_something():
    f = Filters(date_to=date.today())
    for name, build in queries.REPORTS.items():
        report = build(f)
        for chart in report.charts:
            table = report.table(chart.table)
            values = [chart_value(v) for key in chart.series for v in table.column(key)]
            assert any(v for v in values if v is not None), f"{name}: {chart.title}"


def _history_spans_months(db):
    months = {e.queued_at.strftime("%Y-%m") for e in db.session.scalars(sa.select(Enrolment))}
    assert len(months) >= 5
    issued = {c.issued_at.strftime("%Y-%m") for c in db.session.scalars(sa.select(Certificate))}
    assert len(issued) >= 3


def _figures_agree_with_a_recomputation():
    for f in (Filters(date_to=date.today()), Filters(date_from=date.today().replace(day=1))):
        for name in ("enrolments", "progress", "results", "certification", "competencies"):
            report = queries.REPORTS[name](f)
            for key, rows in getattr(recompute, name)(f).items():
                actual = recompute.plain(report.table(key))
                assert recompute.same(actual, rows), f"{name}.{key}"


def _loading_again_adds_nothing(db):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment))
    assert history.load() == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == before


def _the_demo_manager_reads_the_reports(client):
    sign_in(client, find_user_by_email("manager@example.org"))
    assert client.get("/reports/").status_code == 200
    assert client.get("/reports/certification").status_code == 200
    assert client.get("/admin/users").status_code == 403

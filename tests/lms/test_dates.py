"""One date style per context: |date for days, |datetime for moments (no seconds), local time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import render_template_string
from flask_babel import force_locale

MOMENT = datetime(2026, 12, 7, 5, 38, 7, tzinfo=UTC)  # 07:38 in Sofia


@pytest.mark.parametrize(
    ("language", "day", "moment"),
    [
        ("en", "Dec 17, 2026", "Dec 7, 2026, 7:38\u202fAM"),
        ("bg", "17.12.2026\u202f\u0433.", "7.12.2026\u202f\u0433., 7:38"),
    ],
)
def test_days_and_moments_read_the_same_everywhere(app, language, day, moment):
    with app.test_request_context("/"), force_locale(language):
        rendered = render_template_string(
            "{{ d|date }}|{{ m|datetime }}", d=date(2026, 12, 17), m=MOMENT
        )
    got_day, got_moment = rendered.split("|")
    assert got_day.replace(" ", "\u202f") == day.replace(" ", "\u202f")
    assert got_moment.replace("\u202f", " ") == moment.replace("\u202f", " ")
    assert ":07" not in got_moment  # no seconds
    assert "2026-12-07" not in rendered  # ISO is for machines


def test_nothing_renders_as_empty_text(app):
    with app.test_request_context("/"):
        assert render_template_string("{{ none|date }}{{ none|datetime }}", none=None) == ""

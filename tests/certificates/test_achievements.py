"""The Achievement a scheme stands for: its description reads as clean sentences."""

from __future__ import annotations

import re

import pytest

from certificates.achievements import achievement_json, clause, join_clauses

ARTEFACTS = re.compile(r"\.\s*[.;,:]|;\s*[.;]|,\s*[.;]|\s[.;,]")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Written exam.", "Written exam"),
        ("Written exam", "Written exam"),
        ("  Written\n exam ;  ", "Written exam"),
        ("Писмен изпит.", "Писмен изпит"),
        ("Писмен изпит", "Писмен изпит"),
        ("Практически проект…", "Практически проект"),
        ("", ""),
    ],
)
def test_clause_drops_its_own_closing_punctuation(text, expected):
    assert clause(text) == expected


def test_joined_clauses_make_one_sentence_in_either_language():
    assert join_clauses(["a: Written exam.", "b: none", "c: Internal review."]) == (
        "a: Written exam; b: none; c: Internal review."
    )
    assert join_clauses(["изпит: Писмен изпит.", "качество: Вътрешна система"]) == (
        "изпит: Писмен изпит; качество: Вътрешна система."
    )
    assert join_clauses(["Any questions?"]) == "Any questions?"
    assert join_clauses(["", "  .", "only this."]) == "only this."


@pytest.mark.parametrize("period", [".", ""])
def test_achievement_description_has_no_joining_artefacts(db, world, period):
    scheme = world.scheme
    scheme.description_en = "Plans smart-city projects" + period
    scheme.assessment_form_en = "Written exam and a practical project" + period
    scheme.identity_check = "Photo ID checked on site" + period
    scheme.quality_assurance_en = "Internal quality assurance of the centre" + period
    scheme.prerequisites_en = "Basic project-management knowledge" + period
    db.session.flush()
    description = achievement_json(scheme)["description"]
    assert not ARTEFACTS.search(description), description
    first, facts = description.split("\n\n")
    assert first == "Plans smart-city projects" + period
    assert facts == (
        "EQF level 5; workload 120 hours; assessment: Written exam and a practical project;"
        " participation: online; identity check: Photo ID checked on site;"
        " quality assurance: Internal quality assurance of the centre;"
        " prerequisites: Basic project-management knowledge."
    )


def test_achievement_description_of_a_bare_scheme_is_its_title(db, world):
    scheme = world.scheme
    scheme.eqf_level = None
    scheme.workload_hours = 0
    scheme.participation_form = ""
    db.session.flush()
    assert achievement_json(scheme)["description"] == scheme.title_en

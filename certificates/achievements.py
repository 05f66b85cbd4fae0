"""The Open Badges Achievement a scheme stands for, built from the scheme and its requirements.

The same function serves the credential (a frozen copy inside each certificate)
and the public ``/achievements/<code>`` document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from certificates import badges, issuer, queries
from certificates.credentials import openbadges
from certificates.credentials.openbadges import (
    AchievementSnapshot,
    Alignment,
    ResultDescription,
)
from certificates.eligibility import COMPETENCY, COURSE, EXAM, number
from certificates.models import Scheme
from courses.competencies.framework_csv import ecf_competences

#: Where the e-CF (EN 16234-1) competences are described; a code is appended as a fragment.
ECF_URL = (
    "https://itprofessionalism.org/about-it-professionalism/competences/the-e-competence-framework/"
)


def esco_uris(scheme: Scheme) -> list[str]:
    return [uri for uri in scheme.esco_uris.split() if uri]


def ecf_codes(scheme: Scheme) -> list[str]:
    return [code for code in scheme.ecf_codes.split() if code]


def ecf_alignment(code: str) -> Alignment:
    competence = ecf_competences().get(code)
    name = competence.title if competence else code
    return openbadges.ecf_alignment(code, name, f"{ECF_URL}#{code}")


def scheme_alignments(scheme: Scheme, esco_names: dict[str, str] | None = None) -> tuple:
    """Return the scheme's ESCO and e-CF alignments (ESCO names from competencies if known)."""
    names = esco_names or {}
    esco = [
        openbadges.esco_alignment(uri, names.get(uri) or "ESCO " + uri.rsplit("/", 1)[-1])
        for uri in esco_uris(scheme)
    ]
    return tuple(esco + [ecf_alignment(code) for code in ecf_codes(scheme)])


def result_id(scheme: Scheme, kind: str, target: str) -> str:
    return f"{issuer.achievement_url(scheme.code)}#{kind}-{target}"


def requirement_name(kind: str, target: Any, language: str = "en") -> str:
    """Return the name of a requirement's result: ``CODE: title``, or an exam's title."""
    title = target.tr("title", language)
    return title if kind == EXAM else f"{target.code}: {title}"


def translated_result_names(scheme: Scheme, language: str) -> dict[str, str]:
    """Return the name of each of the scheme's results in ``language``, by its English name.

    Credentials name results in English; a page in another language shows these
    names instead, when the scheme still has the requirement and a translation.
    """
    from certificates import queries

    rules = queries.scheme_rules([scheme])[scheme.id]
    targets: dict[str, Mapping[int, Any]] = {
        COURSE: rules.courses,
        COMPETENCY: rules.competencies,
        EXAM: rules.assessments,
    }
    names = {}
    for req in rules.requirements:
        target = targets[req.kind].get(req.target_id)
        if target is not None:
            english = requirement_name(req.kind, target)
            translated = requirement_name(req.kind, target, language)
            if translated != english:
                names[english] = translated
    return names


#: Punctuation that ends a text an admin typed but not a clause inside a sentence.
_CLAUSE_END = ".;,:…"


def clause(text: str) -> str:
    """Return ``text`` as a clause to join into a sentence.

    Whitespace is collapsed and the text's own closing full stop (or semicolon,
    comma, colon, ellipsis) is dropped, so that joining never yields ``.;`` or ``..``.
    """
    return " ".join(text.split()).rstrip(_CLAUSE_END).rstrip()


def join_clauses(clauses: list[str]) -> str:
    """Join clauses with semicolons into one sentence ending in a full stop."""
    sentence = "; ".join(clause(item) for item in clauses if clause(item))
    return sentence if sentence.endswith(("?", "!")) else sentence + "."


def achievement_snapshot(scheme: Scheme, rules) -> AchievementSnapshot:
    """Return the Achievement of ``scheme``; ``rules`` is its ``queries.SchemeRules``."""
    descriptions = []
    for req in rules.requirements:
        if req.kind == COURSE:
            course = rules.courses[req.target_id]
            descriptions.append(
                ResultDescription(
                    id=result_id(scheme, "course", course.code),
                    name=requirement_name(COURSE, course),
                    result_type="Percent",
                    value_min="0",
                    value_max="100",
                    required_value=None if req.min_grade is None else number(req.min_grade),
                )
            )
        elif req.kind == COMPETENCY:
            competency = rules.competencies[req.target_id]
            alignments = [
                openbadges.esco_alignment(uri, competency.title_en) for uri in competency.esco_uris
            ] + [ecf_alignment(code) for code in competency.ecf_codes]
            descriptions.append(
                ResultDescription(
                    id=result_id(scheme, "competency", competency.code),
                    name=requirement_name(COMPETENCY, competency),
                    result_type="PerformanceLevel",
                    required_value=str(req.min_level),
                    alignments=tuple(alignments),
                )
            )
        elif req.kind == EXAM:
            assessment = rules.assessments[req.target_id]
            descriptions.append(
                ResultDescription(
                    id=result_id(scheme, "exam", str(assessment.id)),
                    name=requirement_name(EXAM, assessment),
                    result_type="Percent",
                    value_min="0",
                    value_max="100",
                    required_value=None if req.min_grade is None else number(req.min_grade),
                )
            )
    facts = []
    if scheme.eqf_level:
        facts.append(f"EQF level {scheme.eqf_level}")
    if hours := queries.workload_hours(scheme):
        facts.append(f"workload {hours} hours")
    for label, text in (
        ("assessment", scheme.assessment_form_en),
        ("participation", scheme.participation_form),
        ("identity check", scheme.identity_check),
        ("quality assurance", scheme.quality_assurance_en),
        ("prerequisites", scheme.prerequisites_en),
    ):
        if clause(text):
            facts.append(f"{label}: {clause(text)}")
    description = scheme.description_en.strip() or scheme.title_en
    if facts:
        description = f"{description}\n\n{join_clauses(facts)}"
    criteria = (
        scheme.criteria_en.strip()
        or "\n".join(f"- {item.name}" for item in descriptions)
        or scheme.title_en
    )
    tags = [f"EQF {scheme.eqf_level}"] if scheme.eqf_level else []
    return AchievementSnapshot(
        id=issuer.achievement_url(scheme.code),
        name=scheme.title_en,
        description=description,
        criteria=criteria,
        human_code=scheme.code,
        alignments=scheme_alignments(scheme, rules.esco_names),
        result_descriptions=tuple(descriptions),
        in_language="en",
        tags=tuple(tags),
        image=badges.achievement_image(scheme),
    )


def achievement_json(scheme: Scheme) -> dict[str, Any]:
    """Return the current OB 3.0 Achievement document of a scheme (for /achievements/<code>)."""
    from certificates import queries

    rules = queries.scheme_rules([scheme])[scheme.id]
    return openbadges.build_achievement(achievement_snapshot(scheme, rules))

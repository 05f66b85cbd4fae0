"""Open Badges 3.0 ``OpenBadgeCredential`` (VC Data Model 2.0): build, validate, issue."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jsonschema import Draft201909Validator, FormatChecker

from certificates.credentials import signing
from certificates.credentials.jsonld import (
    CONTEXTS_DIR,
    OB_V3_URL,
    VC_V2_URL,
)
from certificates.credentials.status_list import format_datetime

logger = logging.getLogger(__name__)

CONTEXT = [VC_V2_URL, OB_V3_URL]
CREDENTIAL_TYPE = ["VerifiableCredential", "OpenBadgeCredential"]
SCHEMA_FILE = CONTEXTS_DIR / "ob_v3p0_achievementcredential_schema.json"
PROFILE_SCHEMA_FILE = CONTEXTS_DIR / "ob_v3p0_profile_schema.json"
#: Alignment target type for competencies (ESCO skills, e-CF competences).
COMPETENCY_TARGET = "ceasn:Competency"


class CredentialError(ValueError):
    """A credential cannot be built or issued as asked."""


# --- snapshot -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alignment:
    """A framework node the achievement or a result is aligned to."""

    target_name: str
    target_url: str
    target_code: str | None = None
    target_framework: str | None = None
    target_type: str | None = COMPETENCY_TARGET
    target_description: str | None = None


def esco_alignment(skill_uri: str, name: str) -> Alignment:
    """Return an alignment to an ESCO skill (``http://data.europa.eu/esco/skill/<uuid>``)."""
    return Alignment(target_name=name, target_url=skill_uri, target_framework="ESCO")


def ecf_alignment(code: str, name: str, url: str) -> Alignment:
    """Return an alignment to an e-CF (EN 16234-1) competence such as ``E.2``."""
    return Alignment(target_name=name, target_url=url, target_code=code, target_framework="e-CF")


@dataclass(frozen=True)
class ResultDescription:
    """A result the achievement records (a course grade, a competency level)."""

    id: str
    name: str
    result_type: str
    allowed_values: tuple[str, ...] = ()
    required_value: str | None = None
    value_min: str | None = None
    value_max: str | None = None
    alignments: tuple[Alignment, ...] = ()


@dataclass(frozen=True)
class Result:
    """The holder's value for one result description."""

    result_description: str
    value: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class IssuerSnapshot:
    """The issuing centre's Profile."""

    id: str
    name: str
    url: str
    email: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Image:
    """An image (by URL) of an achievement or a profile, with a caption for screen readers."""

    id: str
    caption: str | None = None


@dataclass(frozen=True)
class AchievementSnapshot:
    """The achievement (a certification scheme) as the credential states it."""

    id: str
    name: str
    description: str
    criteria: str
    criteria_url: str | None = None
    achievement_type: str = "Certification"
    human_code: str | None = None
    alignments: tuple[Alignment, ...] = ()
    result_descriptions: tuple[ResultDescription, ...] = ()
    field_of_study: str | None = None
    specialization: str | None = None
    in_language: str | None = None
    credits_available: float | None = None
    tags: tuple[str, ...] = ()
    version: str | None = None
    image: Image | None = None


@dataclass(frozen=True)
class SubjectSnapshot:
    """The holder: name as printed, e-mail (only its salted hash is published), results."""

    name: str
    email: str
    salt: str
    results: tuple[Result, ...] = ()


@dataclass(frozen=True)
class CredentialSnapshot:
    """Everything a credential says, frozen at issue."""

    id: str
    name: str
    issuer: IssuerSnapshot
    achievement: AchievementSnapshot
    subject: SubjectSnapshot
    valid_from: datetime
    valid_until: datetime | None = None
    awarded: datetime | None = None
    description: str | None = None
    credential_status: Mapping[str, Any] | None = field(default=None)


# --- identity -------------------------------------------------------------------------------


def new_salt() -> str:
    """Return a random salt for hashing an identity."""
    return secrets.token_hex(16)


def normalise_identity_email(email: str) -> str:
    """Return the form of an e-mail address that is hashed (trimmed, lower case)."""
    return email.strip().lower()


def identity_hash(email: str, salt: str) -> str:
    """Return the OB 3.0 IdentityHash ``sha256$<hex>`` of ``email`` salted with ``salt``."""
    text = normalise_identity_email(email) + salt
    return "sha256$" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def matches_email(credential: Mapping[str, Any], email: str) -> bool:
    """Return whether the credential's hashed e-mail identity is ``email``."""
    subject = credential.get("credentialSubject")
    identifiers = subject.get("identifier", []) if isinstance(subject, dict) else []
    for item in identifiers if isinstance(identifiers, list) else [identifiers]:
        if (
            isinstance(item, dict)
            and item.get("identityType") == "emailAddress"
            and item.get("hashed") is True
            and isinstance(item.get("salt", ""), str)
        ):
            expected = identity_hash(email, item.get("salt", ""))
            if secrets.compare_digest(expected, str(item.get("identityHash"))):
                return True
    return False


# --- building -------------------------------------------------------------------------------


def _compact(mapping: dict[str, Any]) -> dict[str, Any]:
    """Drop keys whose value is None or empty, so the credential carries no nulls."""
    return {key: value for key, value in mapping.items() if value not in (None, [], "", {})}


def _alignment(alignment: Alignment) -> dict[str, Any]:
    return _compact(
        {
            "type": ["Alignment"],
            "targetName": alignment.target_name,
            "targetUrl": alignment.target_url,
            "targetCode": alignment.target_code,
            "targetFramework": alignment.target_framework,
            "targetType": alignment.target_type,
            "targetDescription": alignment.target_description,
        }
    )


def _result_description(description: ResultDescription) -> dict[str, Any]:
    return _compact(
        {
            "id": description.id,
            "type": ["ResultDescription"],
            "name": description.name,
            "resultType": description.result_type,
            "allowedValue": list(description.allowed_values),
            "requiredValue": description.required_value,
            "valueMin": description.value_min,
            "valueMax": description.value_max,
            "alignment": [_alignment(item) for item in description.alignments],
        }
    )


def build_image(image: Image) -> dict[str, Any]:
    """Return an OB 3.0 ``Image``: its URL, type and caption."""
    return _compact({"id": image.id, "type": "Image", "caption": image.caption})


def build_achievement(achievement: AchievementSnapshot) -> dict[str, Any]:
    """Return the OB 3.0 ``Achievement`` (also served at its own URL)."""
    criteria = _compact({"id": achievement.criteria_url, "narrative": achievement.criteria})
    return _compact(
        {
            "id": achievement.id,
            "type": ["Achievement"],
            "achievementType": achievement.achievement_type,
            "name": achievement.name,
            "description": achievement.description,
            "criteria": criteria,
            "humanCode": achievement.human_code,
            "alignment": [_alignment(item) for item in achievement.alignments],
            "resultDescription": [
                _result_description(item) for item in achievement.result_descriptions
            ],
            "fieldOfStudy": achievement.field_of_study,
            "specialization": achievement.specialization,
            "inLanguage": achievement.in_language,
            "creditsAvailable": achievement.credits_available,
            "tag": list(achievement.tags),
            "version": achievement.version,
            "image": build_image(achievement.image) if achievement.image else None,
        }
    )


def build_issuer(issuer: IssuerSnapshot) -> dict[str, Any]:
    """Return the issuer ``Profile`` as embedded in a credential."""
    return _compact(
        {
            "id": issuer.id,
            "type": ["Profile"],
            "name": issuer.name,
            "url": issuer.url,
            "email": issuer.email,
            "description": issuer.description,
        }
    )


def build_credential(snapshot: CredentialSnapshot) -> dict[str, Any]:
    """Return the unsigned ``OpenBadgeCredential`` a snapshot describes."""
    subject = snapshot.subject
    if not subject.email.strip() or not subject.salt:
        raise CredentialError("the holder's e-mail and a salt are required")
    if not subject.name.strip():
        raise CredentialError("the holder's name is required")
    if snapshot.valid_until is not None and snapshot.valid_until <= snapshot.valid_from:
        raise CredentialError("the credential must end after it starts")
    known = {item.id for item in snapshot.achievement.result_descriptions}
    for result in subject.results:
        if result.result_description not in known:
            raise CredentialError(
                f"result for {result.result_description} has no result description"
            )
    identifiers = [
        {
            "type": "IdentityObject",
            "identityType": "emailAddress",
            "hashed": True,
            "identityHash": identity_hash(subject.email, subject.salt),
            "salt": subject.salt,
        },
        {
            "type": "IdentityObject",
            "identityType": "name",
            "hashed": False,
            "identityHash": subject.name,
        },
    ]
    credential_subject = _compact(
        {
            "type": ["AchievementSubject"],
            "identifier": identifiers,
            "achievement": build_achievement(snapshot.achievement),
            "result": [
                _compact(
                    {
                        "type": ["Result"],
                        "resultDescription": result.result_description,
                        "value": result.value,
                        "status": result.status,
                    }
                )
                for result in subject.results
            ],
        }
    )
    return _compact(
        {
            "@context": list(CONTEXT),
            "id": snapshot.id,
            "type": list(CREDENTIAL_TYPE),
            "name": snapshot.name,
            "description": snapshot.description,
            "issuer": build_issuer(snapshot.issuer),
            "validFrom": format_datetime(snapshot.valid_from),
            "validUntil": format_datetime(snapshot.valid_until) if snapshot.valid_until else None,
            "awardedDate": format_datetime(snapshot.awarded) if snapshot.awarded else None,
            "credentialSubject": credential_subject,
            "credentialStatus": dict(snapshot.credential_status)
            if snapshot.credential_status
            else None,
        }
    )


# --- schema ---------------------------------------------------------------------------------

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_format_checker = FormatChecker(formats=())


@_format_checker.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    """Check an RFC 3339 date-time with its time zone."""
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return True


@_format_checker.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    """Check a full date (YYYY-MM-DD)."""
    if not isinstance(value, str):
        return True
    return len(value) == 10 and date.fromisoformat(value) is not None


@functools.cache
def _validator(path: str) -> Draft201909Validator:
    """Return the validator of a schema file, built once per process."""
    with open(path, encoding="utf-8") as file:
        schema = json.load(file)
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema, format_checker=_format_checker)


def schema_errors(document: Any, schema_file: str) -> list[str]:
    """Return the schema's complaints about ``document``, each with its JSON path."""
    errors = sorted(_validator(schema_file).iter_errors(document), key=lambda e: list(e.path))
    return [f"{error.json_path}: {error.message}" for error in errors]


def validate_schema(credential: Any, *, raise_errors: bool = True) -> list[str]:
    """Validate against the official OB 3.0 AchievementCredential schema.

    Return the errors (empty when valid); with ``raise_errors``, raise CredentialError
    instead of returning any.
    """
    errors = schema_errors(credential, str(SCHEMA_FILE))
    if errors and raise_errors:
        raise CredentialError("the credential fails the OB 3.0 schema: " + "; ".join(errors[:5]))
    return errors


def validate_profile_schema(profile: Any) -> list[str]:
    """Return the OB 3.0 Profile schema's complaints about an issuer profile."""
    return schema_errors(profile, str(PROFILE_SCHEMA_FILE))


# --- issuing --------------------------------------------------------------------------------


def issue_credential(
    snapshot: CredentialSnapshot,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
) -> dict[str, Any]:
    """Build, check and sign a credential; raise CredentialError rather than issue a bad one.

    Refused: a credential failing the schema, one saying anything its contexts do not
    define (it would go unsigned), or a key that is not the issuer's.
    """
    if not verification_method.startswith(snapshot.issuer.id + "#"):
        raise CredentialError("the verification method must be one of the issuer's keys")
    credential = build_credential(snapshot)
    try:
        # sign() refuses a document that is not lossless under its contexts.
        signed = signing.sign(credential, private_key, verification_method, created)
    except signing.SigningError as exc:
        raise CredentialError(str(exc)) from exc
    # The schema is checked once, on the signed credential: what it refuses is never
    # returned, and the proof the schema also covers is checked with the rest.
    validate_schema(signed)
    logger.info("issued credential %s", snapshot.id)
    return signed


def summary(credential: Mapping[str, Any]) -> dict[str, Any]:
    """Return what a verifier may show: name as printed, achievement, dates, results.

    Never the e-mail (not even its hash). Tolerates malformed input: missing parts
    are left out.
    """

    def obj(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    def items(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value] if value is not None else []

    subject = obj(credential.get("credentialSubject"))
    achievement = obj(subject.get("achievement"))
    issuer = credential.get("issuer")
    holder = next(
        (
            item.get("identityHash")
            for item in items(subject.get("identifier"))
            if isinstance(item, dict)
            and item.get("identityType") == "name"
            and item.get("hashed") is False
        ),
        None,
    )
    descriptions = {
        item.get("id"): item
        for item in items(achievement.get("resultDescription"))
        if isinstance(item, dict)
    }
    results = []
    for result in items(subject.get("result")):
        if not isinstance(result, dict):
            continue
        description = obj(descriptions.get(result.get("resultDescription")))
        results.append(
            _compact(
                {
                    "name": description.get("name"),
                    "value": result.get("value"),
                    "required": description.get("requiredValue"),
                    "alignments": [
                        _compact({"name": a.get("targetName"), "url": a.get("targetUrl")})
                        for a in items(description.get("alignment"))
                        if isinstance(a, dict)
                    ],
                }
            )
        )
    return _compact(
        {
            "id": credential.get("id"),
            "holder": holder,
            "achievement": _compact(
                {
                    "id": achievement.get("id"),
                    "name": achievement.get("name"),
                    "code": achievement.get("humanCode"),
                }
            ),
            "issuer": _compact(
                {"id": obj(issuer).get("id"), "name": obj(issuer).get("name")}
                if isinstance(issuer, dict)
                else {"id": issuer}
            ),
            "validFrom": credential.get("validFrom"),
            "validUntil": credential.get("validUntil"),
            "awardedDate": credential.get("awardedDate"),
            "results": results,
        }
    )

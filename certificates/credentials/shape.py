"""The exact shape of the credentials and status lists this centre issues, checked cheaply.

Verification refuses anything else before any JSON-LD processing: a document with a
property our builders never write, a repeated object, or more entries than we ever
issue is not ours, and its JSON-LD could be built to make canonicalisation costly
(RDFC-1.0 "poison graphs"). The shapes follow :func:`openbadges.build_credential` and
:func:`status_list.build_status_list_credential`; the OB 3.0 schema is still checked
afterwards, as before.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match

from certificates.credentials.checks import N_, Message, message

#: The most entries any list in a credential of ours has (alignments, results, tags...).
MAX_ITEMS = 128


def _text() -> dict[str, Any]:
    return {"type": "string"}


def _id() -> dict[str, Any]:
    """An id: never a blank node label (``_:b0``), which our credentials do not use."""
    return {"type": "string", "not": {"pattern": "^_:"}}


def _list(items: dict[str, Any], *, max_items: int = MAX_ITEMS) -> dict[str, Any]:
    """A JSON array of distinct items: a repeated object is never something we issue."""
    return {"type": "array", "items": items, "maxItems": max_items, "uniqueItems": True}


def _one_or_list(items: dict[str, Any], *, max_items: int) -> dict[str, Any]:
    return {"anyOf": [items, _list(items, max_items=max_items)]}


def _node(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    """An object with exactly these properties at most, and the required ones."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def _types(*names: str) -> dict[str, Any]:
    """``type`` as we write it: one of ``names`` or a short array of them."""
    name = {"enum": list(names)}
    return _one_or_list(name, max_items=len(names))


_CONTEXT = _list({"type": "string"}, max_items=4)

_ALIGNMENT = _node(
    {
        "type": _types("Alignment"),
        "targetName": _text(),
        "targetUrl": _text(),
        "targetCode": _text(),
        "targetFramework": _text(),
        "targetType": _text(),
        "targetDescription": _text(),
    },
    "targetName",
    "targetUrl",
)

_RESULT_DESCRIPTION = _node(
    {
        "id": _id(),
        "type": _types("ResultDescription"),
        "name": _text(),
        "resultType": _text(),
        "allowedValue": _list(_text()),
        "requiredValue": _text(),
        "valueMin": _text(),
        "valueMax": _text(),
        "alignment": _list(_ALIGNMENT),
    },
    "id",
    "name",
)

_IMAGE = _node({"id": _id(), "type": _types("Image"), "caption": _text()}, "id")

_ACHIEVEMENT = _node(
    {
        "id": _id(),
        "type": _types("Achievement"),
        "achievementType": _text(),
        "name": _text(),
        "description": _text(),
        "criteria": _node({"id": _id(), "narrative": _text()}),
        "humanCode": _text(),
        "alignment": _list(_ALIGNMENT),
        "resultDescription": _list(_RESULT_DESCRIPTION),
        "fieldOfStudy": _text(),
        "specialization": _text(),
        "inLanguage": _text(),
        "creditsAvailable": {"type": "number"},
        "tag": _list(_text()),
        "version": _text(),
        "image": _IMAGE,
    },
    "id",
    "name",
)

_IDENTITY = _node(
    {
        "type": _types("IdentityObject"),
        "identityType": _text(),
        "hashed": {"type": "boolean"},
        "identityHash": _text(),
        "salt": _text(),
    },
    "identityType",
    "identityHash",
)

_RESULT = _node(
    {
        "type": _types("Result"),
        "resultDescription": _text(),
        "value": _text(),
        "status": _text(),
    },
)

_PROFILE = _node(
    {
        "id": _id(),
        "type": _types("Profile"),
        "name": _text(),
        "url": _text(),
        "email": _text(),
        "description": _text(),
    },
    "id",
)

_STATUS_ENTRY = _node(
    {
        "id": _id(),
        "type": _types("BitstringStatusListEntry"),
        "statusPurpose": _text(),
        "statusListIndex": _text(),
        "statusListCredential": _text(),
        "statusSize": {"type": "integer"},
        "statusMessage": _list(_node({"status": _text(), "message": _text()}), max_items=16),
    },
    "statusListCredential",
)

_PROOF = _node(
    {
        "type": _text(),
        "cryptosuite": _text(),
        "created": _text(),
        "verificationMethod": _text(),
        "proofPurpose": _text(),
        "proofValue": _text(),
    },
)
#: One proof, bare or in an array of one: a second or moved proof is not ours.
_PROOFS = _one_or_list(_PROOF, max_items=1)

CREDENTIAL_SHAPE: dict[str, Any] = _node(
    {
        "@context": _CONTEXT,
        "id": _id(),
        "type": _types("VerifiableCredential", "OpenBadgeCredential", "AchievementCredential"),
        "name": _text(),
        "description": _text(),
        "issuer": {"anyOf": [_text(), _PROFILE]},
        "validFrom": _text(),
        "validUntil": _text(),
        "awardedDate": _text(),
        "credentialSubject": _node(
            {
                "id": _id(),
                "type": _types("AchievementSubject"),
                "identifier": _list(_IDENTITY, max_items=4),
                "achievement": _ACHIEVEMENT,
                "result": _list(_RESULT),
            },
            "achievement",
        ),
        "credentialStatus": _one_or_list(_STATUS_ENTRY, max_items=4),
        "proof": _PROOFS,
    },
    "@context",
    "type",
    "issuer",
    "credentialSubject",
)

STATUS_LIST_SHAPE: dict[str, Any] = _node(
    {
        "@context": _CONTEXT,
        "id": _id(),
        "type": _types("VerifiableCredential", "BitstringStatusListCredential"),
        "issuer": {"anyOf": [_text(), _PROFILE]},
        "validFrom": _text(),
        "validUntil": _text(),
        "credentialSubject": _node(
            {
                "id": _id(),
                "type": _types("BitstringStatusList"),
                "statusPurpose": _text(),
                "encodedList": _text(),
                "ttl": {"type": "integer"},
            },
            "encodedList",
        ),
        "proof": _PROOFS,
    },
    "@context",
    "id",
    "type",
    "issuer",
    "credentialSubject",
)


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    shape = {"credential": CREDENTIAL_SHAPE, "status_list": STATUS_LIST_SHAPE}[name]
    Draft202012Validator.check_schema(shape)
    return Draft202012Validator(shape)


def _closest_branch(error: ValidationError) -> ValidationError:
    """Return the error of the ``anyOf`` branch meant for the instance's JSON type."""
    wrong_type = {
        e.relative_schema_path[0] for e in error.context if e.validator == "type" and not e.path
    }
    meant = [e for e in error.context if e.relative_schema_path[0] not in wrong_type]
    return best_match(meant or error.context)


def _describe(error: ValidationError) -> Message:
    """Say in a sentence what is wrong, naming the place but never echoing the content."""
    if error.validator == "anyOf" and error.context:
        return _describe(_closest_branch(error))
    where: str | Message = error.json_path.removeprefix("$").lstrip(".") or message(
        N_("the document")
    )
    if error.validator == "additionalProperties":
        instance, schema = error.instance, error.schema
        assert isinstance(instance, dict), "additionalProperties fails on objects only"
        assert isinstance(schema, Mapping), "an object's schema is a mapping"
        extra = sorted(set(instance) - set(schema.get("properties", {})))
        return message(
            N_("%(where)s has properties no credential of this centre has: %(names)s"),
            where=where,
            names=", ".join(extra),
        )
    if error.validator == "uniqueItems":
        return message(N_("%(where)s repeats an identical entry"), where=where)
    if error.validator == "maxItems":
        return message(
            N_("%(where)s has more entries than any credential of this centre"), where=where
        )
    unshaped = N_("%(where)s is not shaped as in a credential of this centre")
    if error.validator in ("type", "enum", "required"):
        # The validator's own sentence is English only: the JSON report keeps it.
        return Message(unshaped, {"where": where}, f"{where}: {error.message[:200]}")
    return message(unshaped, where=where)


def _problem(document: Any, name: str) -> Message | None:
    error = next(iter(_validator(name).iter_errors(document)), None)
    return None if error is None else _describe(error)


def credential_problem(document: Any) -> Message | None:
    """Return why ``document`` is not shaped like a credential we issue, or None if it is."""
    return _problem(document, "credential")


def status_list_problem(document: Any) -> Message | None:
    """Return why ``document`` is not shaped like a status list we publish, or None if it is."""
    return _problem(document, "status_list")

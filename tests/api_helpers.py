"""Helpers for API tests: tokens, authorised requests and checks against the OpenAPI document.

Usage::

    from tests.api_helpers import assert_matches_openapi, bearer, make_token

    token = make_token(user, scopes=["read"])
    response = client.get("/api/v1/me", headers=bearer(token))
    assert_matches_openapi(response)
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cache

from flask import current_app
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:lms:openapi"


def make_token(user, *, scopes=("read",), days=30, name="test token") -> str:
    """Create a token for ``user`` (roles permitting) and return its secret."""
    from lms.api.operations import create_token
    from lms.db import utcnow

    _, secret = create_token(
        user, name=name, scopes=list(scopes), expires_at=utcnow() + timedelta(days=days)
    )
    return secret


def bearer(secret: str, **headers) -> dict:
    """Return request headers carrying ``secret`` as a Bearer token."""
    return {"Authorization": f"Bearer {secret}", **headers}


def openapi_document() -> dict:
    """Return the app's OpenAPI document as served."""
    from lms.api import get_api

    return get_api(current_app).spec.to_dict()


@cache
def _compiled_paths(paths: tuple[str, ...]) -> list[tuple[re.Pattern, str]]:
    out = []
    for template in paths:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        out.append((re.compile(f"^{pattern}$"), template))
    # Literal paths before templated ones: /courses/search before /courses/{code}.
    out.sort(key=lambda item: item[1].count("{"))
    return out


def _find_operation(spec: dict, method: str, path: str) -> tuple[str, dict]:
    for pattern, template in _compiled_paths(tuple(spec["paths"])):
        if pattern.match(path) and method.lower() in spec["paths"][template]:
            return template, spec["paths"][template][method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        parts = node["$ref"].removeprefix("#/").split("/")
        node = spec
        for part in parts:
            node = node[part]
    return node


def assert_matches_openapi(response, spec: dict | None = None) -> None:
    """Assert that a test-client response is documented and its body fits its schema."""
    spec = spec or openapi_document()
    request = response.request
    template, operation = _find_operation(spec, request.method, request.path)
    responses = operation["responses"]
    status = str(response.status_code)
    documented = (
        responses.get(status) or responses.get(f"{status[0]}XX") or responses.get("default")
    )
    assert documented is not None, f"{status} not documented for {request.method} {template}"
    documented = _resolve(spec, documented)
    content = documented.get("content")
    if not content:
        assert not response.data, f"{request.method} {template} {status}: body not documented"
        return
    mimetype = response.mimetype
    assert mimetype in content, (
        f"{request.method} {template} {status}: {mimetype} not among {sorted(content)}"
    )
    schema = content[mimetype].get("schema")
    if schema is None:
        return
    registry = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    wrapped = dict(schema)
    if "$ref" in wrapped:
        wrapped["$ref"] = SPEC_URI + wrapped["$ref"]
    else:
        wrapped = _rebase_refs(wrapped)
    validator = Draft202012Validator(wrapped, registry=registry, format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(response.get_json()), key=lambda e: list(e.path))
    assert not errors, f"{request.method} {template} {status}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5]
    )


def _rebase_refs(node):
    if isinstance(node, dict):
        return {
            k: (SPEC_URI + v if k == "$ref" and v.startswith("#") else _rebase_refs(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase_refs(v) for v in node]
    return node

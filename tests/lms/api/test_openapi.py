"""The OpenAPI document: valid 3.1, complete, served with a local reference page; fuzzed."""

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator

from lms.models import Role
from tests.api_helpers import assert_matches_openapi, bearer


def test_document_is_valid_openapi_31(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"] == "3.1.0"
    validate(spec, cls=OpenAPIV31SpecValidator)


def test_document_describes_security_scopes_and_problems(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    for scope in ("read", "learn", "teach", "certify", "admin"):
        assert f"`{scope}`" in scheme["description"]
    me = spec["paths"]["/api/v1/me"]["get"]
    assert {"bearerAuth": ["read"]} in me["security"]
    assert {} not in me["security"]
    assert {} in spec["paths"]["/api/v1/courses"]["get"]["security"]
    unauthorized = spec["components"]["responses"]["UNAUTHORIZED"]
    assert "application/problem+json" in unauthorized["content"]


def test_every_api_route_is_documented(app, client):
    """Each /api/v1 route of the app appears in the document, the plain verify routes too."""
    import re

    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {
        (re.sub(r"\{[^}]+\}", "{}", path), method.upper())
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    skipped = {"/api/v1/openapi.json", "/api/v1/docs"}
    missing = []
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<[^>]+>", "{}", rule.rule)
        if not path.startswith("/api/v1/") or path in skipped or "/docs/static/" in path:
            continue
        missing.extend(
            f"{method} {rule.rule}"
            for method in rule.methods - {"HEAD", "OPTIONS"}
            if (path, method) not in documented
        )
    assert missing == []


def test_reference_page_is_served_locally(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/openapi.json" in html
    assert "https://" not in html
    assert "http://" not in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        assert f"/api/v1/docs/static/{asset}" in html
        response = client.get(f"/api/v1/docs/static/{asset}")
        assert response.status_code == 200
        assert len(response.data) > 1000
        response.close()
    assert client.get("/api/v1/docs/static/../../secret").status_code == 404


def test_api_calls_set_no_cookie(client, make_user, token_for):
    response = client.get("/api/v1/me", headers=bearer(token_for(make_user(), scopes=["read"])))
    assert "Set-Cookie" not in response.headers
    assert_matches_openapi(response)


# --- property-based fuzzing of the whole API from its document ----------------------------


@pytest.fixture
def fuzz_headers(app, make_user, token_for, monkeypatch):
    """An admin token with every scope, and limits high enough for the run."""
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "100000 per minute")
    monkeypatch.setitem(app.config, "API_RATE_LIMIT_PER_ADDRESS", "100000 per minute")
    admin = make_user(roles=[Role.ADMIN, Role.TRAINEE, Role.INSTRUCTOR, Role.CERTIFIER])
    return bearer(token_for(admin, scopes=["read", "learn", "teach", "certify", "admin"]))


def test_fuzz_the_api_from_its_document(app, client, fuzz_headers):
    """Generated requests for every operation: never a 5xx, always a documented response."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi import checks

    # What the document promises. Not "positive data acceptance": a schema-valid
    # request may still name a course or user that does not exist (404/422).
    promised = [
        not_a_server_error,
        checks.status_code_conformance,
        checks.content_type_conformance,
        checks.response_schema_conformance,
        checks.response_headers_conformance,
    ]

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4

    from schemathesis import GenerationMode

    failures = []  # 5xx responses; documentation breaches raise at once
    runs = [(op, GenerationMode.POSITIVE, 15) for op in operations]
    # Invalid input too: it must come back as a documented 4xx problem, never a 5xx.
    runs += [(op, GenerationMode.NEGATIVE, 8) for op in operations]
    for operation, mode, examples in runs:

        @settings(
            max_examples=examples,
            derandomize=True,  # a fixed seed: the same cases on every run
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            response = case.call(headers=fuzz_headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
                return
            case.validate_response(response, checks=promised, headers=fuzz_headers)

        try:
            run()
        except Unsatisfiable:
            # An operation without inputs (GET /me) has no invalid request to make.
            assert mode == GenerationMode.NEGATIVE
    assert failures == [], "\n".join(failures[:10])

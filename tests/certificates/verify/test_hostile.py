"""Hostile uploads get a clear answer at once, change nothing, and never reach JSON-LD work."""

from __future__ import annotations

import copy
import io
import json

import pytest

from certificates import issuer
from certificates.credentials import jsonld, signing
from certificates.credentials.checks import FORMAT, PROOF, STATUS
from certificates.verify import bounds, service
from tests.certificates.verify import test_cli
from tests.conftest import count_queries

#: The offline command's fixtures: the saved files and the network-less runner.
files = test_cli.files
offline = test_cli.offline
multikey = test_cli.multikey

ALIGNMENT = {
    "type": ["Alignment"],
    "targetName": "Project Management",
    "targetUrl": "https://itprofessionalism.org/about-it-professionalism/competences/#E.2",
}
WRITES = ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")


def refuse_json_ld(monkeypatch) -> None:
    """Make anything reaching JSON-LD processing fail the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a hostile document reached JSON-LD processing")

    for name in ("canonize", "check_lossless"):
        monkeypatch.setattr(signing, name, refuse)


@pytest.fixture
def no_jsonld(monkeypatch):
    """Fail the test if anything reaches JSON-LD processing."""
    refuse_json_ld(monkeypatch)


def poisoned(credential: dict) -> dict:
    """The reported attack: repeated identical alignments under the holder's result."""
    document = copy.deepcopy(credential)
    document["credentialSubject"]["result"][0]["alignment"] = [dict(ALIGNMENT)] * 20
    return document


def deeply_nested(levels: int) -> bytes:
    return b'{"type": ["VerifiableCredential"], "x": ' + b"[" * levels + b"]" * levels + b"}"


def with_duplicated_proof(credential: dict) -> dict:
    document = copy.deepcopy(credential)
    document["proof"] = document["proof"] * 2
    return document


def with_moved_proof(credential: dict) -> dict:
    document = copy.deepcopy(credential)
    document["credentialSubject"]["proof"] = document.pop("proof")
    return document


def with_many_results(credential: dict) -> dict:
    document = copy.deepcopy(credential)
    result = document["credentialSubject"]["result"][0]
    document["credentialSubject"]["result"] = [{**result, "value": str(n)} for n in range(300)]
    return document


def from_another_issuer(credential: dict) -> dict:
    document = copy.deepcopy(credential)
    document["issuer"]["id"] = "https://forger.example/issuer"
    document["proof"][0]["verificationMethod"] = "https://forger.example/issuer#key-1"
    return document


HOSTILE = {
    "repeated identical alignments": (poisoned, "has: alignment"),
    "a duplicated proof": (with_duplicated_proof, "more entries than any credential"),
    "a moved proof": (with_moved_proof, "properties no credential of this centre has: proof"),
    "300 results": (with_many_results, "more entries than any credential"),
    "another issuer": (from_another_issuer, "not issued by this centre"),
}


def hostile_bytes(case: str, credential: dict) -> bytes:
    build, _ = HOSTILE[case]
    return json.dumps(build(credential), ensure_ascii=False).encode()


@pytest.mark.parametrize("case", HOSTILE)
def test_the_api_refuses_with_a_clear_422_and_writes_nothing(app, client, issued, no_jsonld, case):
    data = hostile_bytes(case, issued.credential)
    with count_queries(app) as queries:
        response = client.post("/api/v1/verify", data=data, content_type="application/json")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["valid"] is False
    assert HOSTILE[case][1] in body["detail"]
    assert [check["name"] for check in body["checks"]] == [FORMAT]
    assert not [s for s in queries.statements if s.lstrip().upper().startswith(WRITES)]


@pytest.mark.parametrize("case", HOSTILE)
def test_the_page_shows_a_clear_error(client, issued, no_jsonld, case):
    data = hostile_bytes(case, issued.credential)
    response = client.post_form(
        "/verify",
        {"file": (io.BytesIO(data), "credential.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page
    assert HOSTILE[case][1] in page


@pytest.mark.parametrize("case", [c for c in HOSTILE if c != "another issuer"])
def test_the_offline_command_refuses_too(files, offline, issued, tmp_path, no_jsonld, case):
    paths = files()
    path = tmp_path / "hostile.json"
    path.write_bytes(hostile_bytes(case, issued.credential))
    result = offline(str(path), "--issuer-key", multikey(issued), "--status-list", paths["list"])
    assert result.exit_code == 1
    assert "FAIL  format:" in result.output
    assert HOSTILE[case][1] in result.output


def test_the_same_attack_inside_a_pdf_is_refused(issued, no_jsonld):
    from certificates.pdf import embed_credential

    pdf = embed_credential(
        issued.rendered, hostile_bytes("repeated identical alignments", issued.credential)
    )
    report = service.verify_upload(pdf)
    assert report.failed == [FORMAT]
    assert "has: alignment" in report.error


@pytest.mark.parametrize("levels", [950, 1_000, 100_000])
def test_deep_nesting_is_refused_not_a_500(app, client, db, no_jsonld, levels):
    response = client.post(
        "/api/v1/verify", data=deeply_nested(levels), content_type="application/json"
    )
    assert response.status_code == 422
    assert "nests deeper than" in response.get_json()["detail"]


def test_too_many_values_are_refused(db, no_jsonld):
    document = {"type": ["VerifiableCredential"], "x": list(range(bounds.MAX_NODES + 1))}
    report = service.verify_upload(json.dumps(document).encode())
    assert f"more than {bounds.MAX_NODES} values" in report.error


def test_a_10_mb_json_is_refused_before_it_is_read_whole(app, client, db, no_jsonld):
    data = b'{"type": ["VerifiableCredential"], "x": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    response = client.post("/api/v1/verify", data=data, content_type="application/json")
    assert response.status_code == 413
    report = service.verify_document(data, service.online_trust())
    assert "larger than 256 KB" in report.error


def test_a_large_json_on_the_command_line_is_refused(offline, tmp_path, issued):
    path = tmp_path / "large.json"
    path.write_bytes(b'{"type": ["VerifiableCredential"], "x": "' + b"a" * (1024 * 1024) + b'"}')
    result = offline(str(path), "--issuer-key", multikey(issued))
    assert result.exit_code == 1
    assert "larger than 256 KB" in result.output


def test_a_credential_signed_by_another_key_is_invalid(client, issued):
    unsigned = {key: value for key, value in issued.credential.items() if key != "proof"}
    other = signing.generate_key()
    method = signing.verification_method_id(issuer.issuer_url(), other)
    forged = signing.sign(unsigned, other, method, "2025-01-01T00:00:00Z")
    response = client.post("/api/v1/verify", json=forged)
    body = response.get_json()
    assert (body["valid"], body["status"]) == (False, service.INVALID)
    assert (
        "not a known key" in next(c for c in body["checks"] if c["name"] == "issuer_key")["detail"]
    )


def test_the_genuine_credential_still_verifies(client, issued):
    response = client.post(
        "/api/v1/verify", data=issued.credential_bytes, content_type="application/json"
    )
    assert response.get_json()["valid"] is True


# --- the canonicalisation work bound ---------------------------------------------------------


def poison_graph(results: int, alignments: int) -> dict:
    """Look-alike blank nodes two levels deep: each costs factorially many permutations."""
    return {
        "@context": [jsonld.VC_V2_URL, jsonld.OB_V3_URL],
        "id": "https://forger.example/credentials/1",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": "https://forger.example/issuer",
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "result": [
                {"type": ["Result"], "value": "4", "alignment": [ALIGNMENT] * alignments}
                for _ in range(results)
            ],
        },
    }


def test_a_poison_graph_is_refused_by_the_work_bound():
    with pytest.raises(jsonld.TooComplex, match="poison graph"):
        jsonld.canonize(poison_graph(2, 20))


def test_the_work_bound_counts_before_it_permutes():
    algorithm = jsonld.BoundedURDNA2015()
    with pytest.raises(jsonld.TooComplex):
        algorithm._spend(jsonld._factorial_capped(10**6, algorithm.budget + 1))
    assert jsonld._factorial_capped(5, 10**6) == 120


def test_small_look_alike_groups_still_canonicalise_as_pyld_does():
    from pyld import jsonld as pyld

    document = poison_graph(2, 2)
    expected = pyld.normalize(
        copy.deepcopy(document),
        jsonld.default_loader.options(algorithm="URDNA2015", format="application/n-quads"),
    )
    assert jsonld.canonize(document) == expected


def test_a_signed_poison_graph_fails_the_proof_clearly():
    key = signing.generate_key()
    document = poison_graph(2, 2)
    signed = signing.sign(
        document, key, f"did:key:{signing.public_multikey(key)}", "2025-01-01T00:00:00Z"
    )
    signed["credentialSubject"]["result"] = poison_graph(2, 20)["credentialSubject"]["result"]
    result = signing.verify(signed, signing.did_key_resolver)
    assert PROOF in result.failed
    assert "poison graph" in result.get(PROOF).detail


# --- tampered status lists -------------------------------------------------------------------


def _saved_list(paths, tmp_path, change) -> str:
    with open(paths["list"]) as saved:
        document = json.load(saved)
    change(document)
    path = tmp_path / "list.json"
    path.write_text(json.dumps(document))
    return str(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["credentialSubject"].update(encodedList="uH4sIAAAAAAAAA"), "does not verify"),
        (lambda d: d["credentialSubject"].update(extra="x"), "not one the issuer publishes"),
        (lambda d: d.update(proof=d["proof"] * 2), "not one the issuer publishes"),
    ],
)
def test_a_tampered_status_list_gives_an_unknown_status(
    files, offline, issued, tmp_path, change, message
):
    paths = files()
    forged = _saved_list(paths, tmp_path, change)
    result = offline(paths["json"], "--issuer-key", multikey(issued), "--status-list", forged)
    assert result.exit_code == 1
    assert f"FAIL  {STATUS}:" in result.output
    assert message in result.output
    assert "FAIL  proof" not in result.output

"""Time the verifier's answer to hostile credentials against a genuine one (no server).

Signs one genuine credential with a fresh key, then verifies it and hostile variants
offline (the same service the pages, the API and the CLI call) and prints the median
time of each and its ratio to the genuine verification. Hostile inputs must be refused
in a small fraction of the genuine time: the bounds run before any JSON-LD work.

Run: .venv/bin/python bench/bench_hostile.py [-n N]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from datetime import UTC, datetime, timedelta

from certificates.credentials import jsonld, signing
from certificates.credentials.openbadges import (
    AchievementSnapshot,
    CredentialSnapshot,
    IssuerSnapshot,
    Result,
    ResultDescription,
    SubjectSnapshot,
    ecf_alignment,
    issue_credential,
    new_salt,
)
from certificates.verify import service

ISSUER = "https://centre.example/issuer"
ALIGNMENT = {"type": ["Alignment"], "targetName": "x", "targetUrl": "https://e.example/"}


def genuine() -> tuple[dict, signing.KeyResolver]:
    """Return a signed credential of the usual shape and a resolver trusting its key."""
    key = signing.generate_key()
    method = signing.verification_method_id(ISSUER, key)
    now = datetime.now(UTC)
    achievement = "https://centre.example/achievements/SC-PM"
    credential = issue_credential(
        CredentialSnapshot(
            id="https://centre.example/credentials/X.json",
            name="Smart City Project Manager",
            issuer=IssuerSnapshot(id=ISSUER, name="Centre", url="https://centre.example"),
            achievement=AchievementSnapshot(
                id=achievement,
                name="Smart City Project Manager",
                description="Plans and manages smart-city projects.",
                criteria="Complete the programme.",
                result_descriptions=(
                    ResultDescription(
                        id=f"{achievement}#competency-E.2",
                        name="E.2",
                        result_type="PerformanceLevel",
                        alignments=(ecf_alignment("E.2", "Project Management", achievement),),
                    ),
                ),
            ),
            subject=SubjectSnapshot(
                name="Мария Иванова",
                email="maria@example.org",
                salt=new_salt(),
                results=(Result(f"{achievement}#competency-E.2", value="4"),),
            ),
            valid_from=now - timedelta(days=1),
        ),
        key,
        method,
        now,
    )
    return credential, signing.key_set_resolver({method: key.public_key()})


def variants(credential: dict) -> dict[str, bytes]:
    """Return the genuine credential and hostile variants, as uploaded bytes."""
    poisoned = copy.deepcopy(credential)
    poisoned["credentialSubject"]["result"][0]["alignment"] = [ALIGNMENT] * 20
    duplicated = copy.deepcopy(credential)
    duplicated["proof"] = duplicated["proof"] * 2
    foreign = copy.deepcopy(credential)
    foreign["issuer"]["id"] = "https://forger.example/issuer"
    return {
        "genuine": json.dumps(credential).encode(),
        "20 repeated alignments": json.dumps(poisoned).encode(),
        "duplicated proof": json.dumps(duplicated).encode(),
        "another issuer": json.dumps(foreign).encode(),
        "1,000-level nesting": b'{"x": ' + b"[" * 1000 + b"]" * 1000 + b"}",
        "10 MB JSON": b'{"x": "' + b"a" * (10 * 1024 * 1024) + b'"}',
    }


def poison_graph() -> dict:
    """A document of look-alike blank nodes that passes no shape check (canonicalised raw)."""
    return {
        "@context": [jsonld.VC_V2_URL, jsonld.OB_V3_URL],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "result": [{"type": ["Result"], "alignment": [ALIGNMENT] * 20} for _ in range(2)],
        },
    }


def median_ms(action, runs: int) -> float:
    """Return the median wall time of ``action`` in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="runs of each input")
    args = parser.parse_args()
    credential, resolver = genuine()
    trust = service.Trust(
        resolve_key=resolver,
        status_lists=None,
        now=datetime.now(UTC),
        issuer_ids=frozenset({ISSUER}),
    )
    inputs = variants(credential)
    base = median_ms(lambda: service.verify_document(inputs["genuine"], trust), args.n)
    print(f"{'input':28} {'median ms':>10} {'x genuine':>10}  answer")
    for name, data in inputs.items():
        report = service.verify_document(data, trust)
        ms = median_ms(lambda data=data: service.verify_document(data, trust), args.n)
        answer = report.error or ("valid" if report.valid else f"invalid: {report.failed}")
        print(f"{name:28} {ms:10.2f} {ms / base:10.2f}  {answer[:70]}")

    def refuse_poison() -> None:
        try:
            jsonld.canonize(poison_graph())
        except jsonld.TooComplex:
            return
        raise SystemExit("a poison graph was canonicalised")

    ms = median_ms(refuse_poison, args.n)
    print(f"{'poison graph, canonicalised':28} {ms:10.2f} {ms / base:10.2f}  refused (work bound)")


if __name__ == "__main__":
    main()

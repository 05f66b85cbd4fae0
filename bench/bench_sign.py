"""Benchmark signing and verifying Open Badges credentials (eddsa-rdfc-2022).

Prints the per-credential cost of signing and verifying over N credentials, with the
JSON-LD contexts processed once per process, the first (cold) call against the steady
state, and what processing the contexts again for every credential would cost. Signing
is set against the two RDFC-1.0 canonicalisations it needs (the document and the proof
configuration), timed on their own in the same run: target at most 2x.

Run: .venv/bin/python bench/bench_sign.py [-n N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from certificates.credentials import signing, status_list
from certificates.credentials.jsonld import PinnedDocumentLoader
from certificates.credentials.openbadges import (
    AchievementSnapshot,
    CredentialSnapshot,
    IssuerSnapshot,
    Result,
    ResultDescription,
    SubjectSnapshot,
    build_credential,
    ecf_alignment,
    esco_alignment,
    issue_credential,
    new_salt,
)
from certificates.credentials.verification import verify_credential

BASE = "https://lms.example.org"
ISSUER = "did:web:lms.example.org"
LIST_URL = f"{BASE}/status-lists/1"
ISSUED = datetime(2025, 3, 1, tzinfo=UTC)


def snapshot(number: int) -> CredentialSnapshot:
    """Return the snapshot of the ``number``-th credential of a run."""
    achievement_id = f"{BASE}/achievements/SC-PM"
    competencies = [("E.2", "Project and Portfolio Management"), ("A.4", "Product Planning")]
    return CredentialSnapshot(
        id=f"{BASE}/credentials/{number:05d}",
        name="Smart City Project Manager",
        issuer=IssuerSnapshot(id=ISSUER, name="Skills4Cities Centre", url=BASE),
        achievement=AchievementSnapshot(
            id=achievement_id,
            name="Smart City Project Manager",
            description="Plans and manages smart-city projects.",
            criteria="Pass the courses and the certification exam.",
            human_code="SC-PM",
            alignments=(
                esco_alignment(
                    "http://data.europa.eu/esco/skill/0a0a0a0a-1b1b-4c4c-8d8d-2e2e2e2e2e2e",
                    "manage projects",
                ),
                *(
                    ecf_alignment(code, name, f"{BASE}/competencies/{code}")
                    for code, name in competencies
                ),
            ),
            result_descriptions=tuple(
                ResultDescription(
                    id=f"{achievement_id}#{code}",
                    name=name,
                    result_type="PerformanceLevel",
                    allowed_values=("1", "2", "3", "4", "5"),
                    required_value="3",
                )
                for code, name in competencies
            ),
        ),
        subject=SubjectSnapshot(
            name=f"Мария Иванова-Петрова {number}",
            email=f"trainee{number}@example.org",
            salt=new_salt(),
            results=tuple(Result(f"{achievement_id}#{code}", "4") for code, _ in competencies),
        ),
        valid_from=ISSUED,
        valid_until=ISSUED + timedelta(days=3 * 365),
        credential_status=status_list.status_entry(LIST_URL, number),
    )


def timed(function: Callable[[], object]) -> tuple[float, object]:
    """Return the CPU milliseconds a call took and its result.

    CPU time rather than wall time: on a shared machine it is the steadier figure.
    """
    start = time.process_time()
    result = function()
    return (time.process_time() - start) * 1000, result


def report(label: str, times: list[float]) -> None:
    """Print the cold call, the steady state and their ratio (CPU time)."""
    steady = times[1:]
    median = statistics.median(steady)
    print(
        f"{label:<42} cold {times[0]:6.1f} ms  steady median {median:5.1f} ms"
        f"  mean {statistics.fmean(steady):5.1f} ms  cold/steady {times[0] / median:4.1f}x"
    )


def main() -> None:
    """Sign and verify N credentials and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="credentials to sign (default 200)")
    args = parser.parse_args()

    started = time.perf_counter()
    key = signing.generate_key()
    method = signing.verification_method_id(ISSUER, key)
    resolver = signing.key_set_resolver({method: key.public_key()})
    bits = status_list.StatusList()
    list_credential = signing.sign(
        status_list.build_status_list_credential(LIST_URL, ISSUER, bits, ISSUED),
        key,
        method,
        ISSUED,
    )
    lists = {LIST_URL: list_credential}.get
    now = ISSUED + timedelta(days=1)
    unsigned = [build_credential(snapshot(number)) for number in range(args.n)]

    # The status list above was signed first, so restart with a fresh loader for a
    # true cold figure: the default loader already holds the VC context.
    cold_loader = PinnedDocumentLoader()
    sign_times, signed = [], []
    for number, document in enumerate(unsigned):
        loader = cold_loader if number == 0 else None
        elapsed, result = timed(
            lambda d=document, lo=loader: signing.sign(d, key, method, now, loader=lo)
        )
        sign_times.append(elapsed)
        signed.append(result)
    canonical_times = []
    for document in signed:
        unsecured = {name: value for name, value in document.items() if name != "proof"}
        elapsed, _ = timed(lambda u=unsecured, p=document["proof"][0]: signing.hash_input(u, p))
        canonical_times.append(elapsed)
    verify_times = []
    for document in signed:
        elapsed, result = timed(lambda d=document: signing.verify(d, resolver))
        assert result.valid, result.checks
        verify_times.append(elapsed)
    issue_times = []
    for number in range(args.n):
        elapsed, _ = timed(lambda n=number: issue_credential(snapshot(n), key, method, now))
        issue_times.append(elapsed)
    full_times = []
    for document in signed:
        elapsed, outcome = timed(
            lambda d=document: verify_credential(d, resolver, now=now, status_lists=lists)
        )
        assert outcome.valid, outcome.result.checks
        full_times.append(elapsed)
    fresh_times = []
    for document in unsigned[: max(10, args.n // 10)]:
        elapsed, _ = timed(
            lambda d=document: signing.sign(d, key, method, now, loader=PinnedDocumentLoader())
        )
        fresh_times.append(elapsed)

    print(f"{args.n} credentials, contexts processed once per process (CPU time per call)")
    report("sign (lossless check + proof)", sign_times)
    report("the two canonicalisations alone", canonical_times)
    report("verify proof (format, key, proof)", verify_times)
    report("issue (build + sign + schema)", issue_times)
    report("verify all checks (+ schema, status list)", full_times)
    steady_sign = statistics.median(sign_times[1:])
    print(
        f"{'sign / the two canonicalisations':<42} "
        f"{steady_sign / statistics.median(canonical_times[1:]):4.2f}x (target at most 2)"
    )
    fresh = statistics.median(fresh_times)
    print(
        f"{'sign, contexts processed every time':<42} median {fresh:5.1f} ms"
        f"  = {fresh / steady_sign:4.1f}x the cached steady state"
    )
    print(f"whole run: {time.perf_counter() - started:.1f} s wall clock")
    print(
        f"throughput: {1000 / steady_sign:6.1f} signatures/s, "
        f"{1000 / statistics.median(verify_times[1:]):6.1f} verifications/s on one core"
    )


if __name__ == "__main__":
    main()

"""Benchmark public verification under gunicorn against a hello-world Flask route.

Starts gunicorn twice on 127.0.0.1 (never anything else): once with a one-route Flask
app that returns "Hello, World!", once with the LMS on a fresh SQLite database holding
one issued certificate. Client processes then send a bounded number of requests to
each and the script prints requests per second, p50 and p99 latency, and the ratio of
each verification route to hello world. Last, in-process, it times the verify page with
and without counting the verification (``certificates.verify.counts``) and prints the ratio.

Run: .venv/bin/python bench/bench_verify.py [--workers W] [--clients C] [--hello N] [--verify N]
Needs gunicorn: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import timedelta
from pathlib import Path

HOST = "127.0.0.1"
HELLO_APP = textwrap.dedent(
    """
    from flask import Flask

    app = Flask(__name__)


    @app.get("/hello")
    def hello():
        return "Hello, World!"
    """
)


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def lms_environment(instance: Path, port: int) -> dict[str, str]:
    """Return the environment the LMS runs with: its own instance folder and SQLite file."""
    return {
        **os.environ,
        "LMS_INSTANCE_PATH": str(instance),
        "LMS_DATABASE_URL": f"sqlite:///{instance / 'lms.sqlite3'}",
        "LMS_SECRET_KEY": "bench-secret-" * 4,
        "LMS_BASE_URL": f"http://{HOST}:{port}",
        # The bench measures verification, not the limiter refusing it.
        "LMS_VERIFY_RATE_LIMIT": "1000000 per minute",
        "LMS_VERIFY_API_RATE_LIMIT": "1000000 per minute",
    }


def prepare(environment: dict[str, str]) -> str:
    """Create the database and issue one certificate from the credential core; return its code."""
    os.environ.update(environment)
    from certificates import issuer
    from certificates import operations as ops
    from certificates.credentials import codes
    from certificates.credentials import status_list as bits
    from certificates.credentials.openbadges import (
        AchievementSnapshot,
        CredentialSnapshot,
        Result,
        ResultDescription,
        SubjectSnapshot,
        issue_credential,
        new_salt,
    )
    from certificates.models import Certificate, Scheme
    from certificates.pdf import CertificatePDF, CertificateSnapshot, embed_credential
    from certificates.verify.register import record_issued
    from lms import create_app
    from lms.auth.operations import create_user
    from lms.db import utcnow
    from lms.extensions import db
    from lms.models import Role

    app = create_app()
    with app.app_context():
        db.create_all()
        now = utcnow()
        key = issuer.current_signing_key()
        scheme = Scheme(code="SC-PM", title_en="Smart City Project Manager", title_bg="Мениджър")
        user = create_user(
            email="maria@example.org", name="Мария Иванова", password=None, roles=[Role.TRAINEE]
        )
        db.session.add(scheme)
        db.session.flush()
        row, index = ops.allocate_status_index(now)
        code = codes.generate_code()
        achievement = issuer.achievement_url(scheme.code)
        credential = issue_credential(
            CredentialSnapshot(
                id=issuer.credential_url(code),
                name=scheme.title_en,
                issuer=issuer.issuer_snapshot(),
                achievement=AchievementSnapshot(
                    id=achievement,
                    name=scheme.title_en,
                    description="Plans and manages smart-city projects.",
                    criteria="Complete the programme.",
                    human_code=scheme.code,
                    result_descriptions=(
                        ResultDescription(
                            id=f"{achievement}#competency-E.2",
                            name="E.2: Project and Portfolio Management",
                            result_type="PerformanceLevel",
                            required_value="3",
                        ),
                    ),
                ),
                subject=SubjectSnapshot(
                    name=user.name,
                    email=user.email,
                    salt=new_salt(),
                    results=(Result(f"{achievement}#competency-E.2", value="4"),),
                ),
                valid_from=now - timedelta(days=1),
                valid_until=now + timedelta(days=1000),
                credential_status=bits.status_entry(issuer.status_list_url(row.id), index),
            ),
            key.private_key,
            key.verification_method,
            now,
        )
        pdf = CertificatePDF(
            CertificateSnapshot(
                code=code,
                base_url=issuer.base_url(),
                holder_name=user.name,
                scheme_code=scheme.code,
                scheme_title_bg=scheme.title_bg,
                scheme_title_en=scheme.title_en,
                issued_on=now.date(),
            )
        ).render()
        pdf = embed_credential(pdf, json.dumps(credential).encode())
        certificate = Certificate(
            code=code,
            scheme=scheme,
            user=user,
            status_list_id=row.id,
            status_index=index,
            valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=1000),
            signing_key_id=key.row.id,
            snapshot={},
            credential=credential,
            pdf=pdf,
            pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        )
        db.session.add(certificate)
        db.session.flush()
        # As issuance does: the register records the signature it checked.
        record_issued(certificate, key.public_multikey, now)
        db.session.commit()
    return code


def counting_cost(environment: dict[str, str], code: str, requests: int) -> tuple[float, float]:
    """Time the verify page in-process with and without verification counting.

    Return the seconds per request of each, the better of two alternating rounds.
    """
    from unittest import mock

    from certificates.verify import counts
    from lms import create_app

    os.environ.update(environment)
    client = create_app().test_client()
    path = f"/verify/{code}"

    def timed() -> float:
        start = time.perf_counter()
        for _ in range(requests):
            if client.get(path).status_code != 200:
                raise SystemExit(f"{path} did not answer 200")
        return (time.perf_counter() - start) / requests

    timed()  # warm up
    counting, plain = [], []
    for _round in range(2):
        counting.append(timed())
        with mock.patch.object(counts, "record", return_value=None):
            plain.append(timed())
    return min(counting), min(plain)


def serve(target: str, port: int, workers: int, directory: Path, env: dict) -> subprocess.Popen:
    """Start gunicorn on 127.0.0.1:port and wait until it answers."""
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        [
            gunicorn,
            "--workers",
            str(workers),
            "--bind",
            f"{HOST}:{port}",
            "--chdir",
            str(directory),
            "--log-level",
            "warning",
            target,
        ],
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn {target} exited with {process.returncode}") from None
            time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"gunicorn {target} did not start")


def _client(job: tuple[int, str, int]) -> tuple[list[float], int]:
    """Send ``count`` GET requests (one connection each, as gunicorn's sync workers close)."""
    port, path, count = job
    latencies, errors = [], 0
    for _ in range(count):
        start = time.perf_counter()
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors += 1
        except OSError:
            errors += 1
        finally:
            connection.close()
        latencies.append(time.perf_counter() - start)
    return latencies, errors


def load(port: int, path: str, total: int, clients: int) -> dict[str, float]:
    """Send ``total`` requests from ``clients`` processes; return rate and latency figures."""
    _client((port, path, min(20, total)))  # warm up: imports, contexts, connections
    share = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    with multiprocessing.Pool(clients) as pool:
        start = time.perf_counter()
        results = pool.map(_client, [(port, path, count) for count in share if count])
        elapsed = time.perf_counter() - start
    latencies = sorted(latency for batch, _ in results for latency in batch)
    errors = sum(count for _, count in results)
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def _milliseconds(text: str) -> float:
    """Return wrk's latency text (``812.00us``, ``4.10ms``, ``1.02s``) in milliseconds."""
    for suffix, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def load_wrk(port: int, path: str, seconds: float, connections: int) -> dict[str, float]:
    """Run wrk (one thread per 8 connections) against a path; return rate and latencies."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (Debian package wrk)")
    url = f"http://{HOST}:{port}{path}"
    # Warm up every worker: one still booting (imports, the app) answers nothing yet.
    for _attempt in range(24):
        warm = subprocess.run(  # noqa: S603 - fixed arguments, our own server
            [wrk, "-t1", "-c4", "-d5s", "--timeout", "60s", url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        answered = [line for line in warm.splitlines() if "requests in" in line]
        if answered and int(answered[0].split()[0]) >= 20:
            break
    output = subprocess.run(  # noqa: S603 - fixed arguments, our own server
        [
            wrk,
            f"-t{max(1, connections // 8)}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "--latency",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, float] = {"errors": 0}
    for line in output.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            figures["rps"] = float(words[1])
        elif len(words) == 2 and words[0] == "50%":
            figures["p50_ms"] = _milliseconds(words[1])
        elif len(words) == 2 and words[0] == "99%":
            figures["p99_ms"] = _milliseconds(words[1])
        elif "requests in" in line:
            figures["requests"] = int(words[0])
        elif line.strip().startswith(("Non-2xx", "Socket errors")):
            figures["errors"] += sum(int(w.strip(",")) for w in words if w.strip(",").isdigit())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--hello", type=int, default=2000, help="requests to hello world")
    parser.add_argument("--verify", type=int, default=300, help="requests per verify route")
    parser.add_argument(
        "--wrk", type=float, metavar="SECONDS", help="load with wrk for SECONDS per route instead"
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    args = parser.parse_args()
    if min(args.hello, args.verify) < 1 or max(args.hello, args.verify) > 20000:
        parser.error("request counts must be between 1 and 20000")
    if args.wrk is not None and not 1 <= args.wrk <= 120:
        parser.error("--wrk takes 1 to 120 seconds")
    rows, title, counting = measure(args)
    print_rows(rows, title)
    with_counting, without = counting
    print(
        f"verify page in-process: {with_counting * 1000:.2f} ms with counting, "
        f"{without * 1000:.2f} ms without: ratio {with_counting / without:.3f}"
    )


def measure(args) -> tuple[list[tuple[str, dict[str, float]]], str, tuple[float, float]]:
    """Serve hello world and the LMS in turn and load each route; return rows, a title and
    the verify page's in-process seconds per request with and without counting."""

    with tempfile.TemporaryDirectory(prefix="bench-verify-") as folder:
        folder = Path(folder)
        (folder / "hello_app.py").write_text(HELLO_APP)
        hello_port, lms_port = free_port(), free_port()
        environment = lms_environment(folder / "instance", lms_port)
        code = prepare(environment)
        repo = Path(__file__).resolve().parent.parent

        def run(port: int, path: str, count: int) -> dict[str, float]:
            if args.wrk is not None:
                return load_wrk(port, path, args.wrk, args.connections)
            return load(port, path, count, args.clients)

        rows = []
        hello = serve("hello_app:app", hello_port, args.workers, folder, dict(os.environ))
        try:
            rows.append(("hello world", run(hello_port, "/hello", args.hello)))
        finally:
            hello.terminate()
            hello.wait()
        lms = serve("lms:create_app()", lms_port, args.workers, repo, environment)
        try:
            for label, path in (
                ("verify page /verify/<code>", f"/verify/{code}"),
                ("verify API /api/v1/verify/<code>", f"/api/v1/verify/{code}"),
                ("issuer profile /issuer", "/issuer"),
            ):
                rows.append((label, run(lms_port, path, args.verify)))
        finally:
            lms.terminate()
            lms.wait()
        counting = counting_cost(environment, code, args.verify)
    client = (
        f"wrk, {args.connections} connections, {args.wrk:g} s a route"
        if args.wrk is not None
        else f"{args.clients} client processes"
    )
    title = f"gunicorn {args.workers} sync workers, {client}, {os.cpu_count()} CPUs, on {HOST}"
    return rows, title, counting


def print_rows(rows: list[tuple[str, dict[str, float]]], title: str) -> None:
    """Print each route's figures and its share of hello world's rate and p99."""
    base = rows[0][1]
    print(title)
    print(
        f"{'route':36} {'requests':>8} {'errors':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'% hello':>8} {'p99/hello':>9}"
    )
    for label, row in rows:
        print(
            f"{label:36} {int(row['requests']):8d} {int(row['errors']):6d} {row['rps']:9.1f}"
            f" {row['p50_ms']:8.1f} {row['p99_ms']:8.1f} {row['rps'] / base['rps']:8.0%}"
            f" {row['p99_ms'] / base['p99_ms']:8.1f}x"
        )


if __name__ == "__main__":
    main()

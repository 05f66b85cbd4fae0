"""Benchmark public verification under gunicorn against a hello-world Flask route.

Starts gunicorn twice on 127.0.0.1 (never anything else): once with a one-route Flask
app that returns "Hello, World!", once with the LMS on a fresh SQLite database holding
one issued certificate. Client processes then send a bounded number of requests to
each and the script prints requests per second, p50 and p99 latency, and the ratio of
each verification route to hello world.

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
        "LMS_SECRET_KEY": "bench-secret",
        "LMS_BASE_URL": f"http://{HOST}:{port}",
        # The bench measures verification, not the limiter refusing it.
        "LMS_VERIFY_RATE_LIMIT": "1000000 per minute",
        "LMS_VERIFY_API_RATE_LIMIT": "1000000 per minute",
    }


def prepare(environment: dict[str, str]) -> str:
    """Create the database and issue one certificate from the credential core; return its code."""
    os.environ.update(environment)
    from certificates import issuer
    from certificates.credentials import codes, signing
    from certificates.credentials import status_list as bits
    from certificates.credentials.openbadges import (
        AchievementSnapshot,
        CredentialSnapshot,
        IssuerSnapshot,
        Result,
        ResultDescription,
        SubjectSnapshot,
        issue_credential,
        new_salt,
    )
    from certificates.models import Certificate, Scheme, StatusList
    from certificates.pdf import CertificatePDF, CertificateSnapshot, embed_credential
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
        row = StatusList(bits=b"")
        db.session.add_all([scheme, row])
        db.session.flush()
        status_list = bits.StatusList(bits.MIN_ENTRIES, bits.STATUS_SIZE)
        row.bits = status_list.to_bytes()
        row.credential = signing.sign(
            bits.build_status_list_credential(
                issuer.status_list_url(row.id), issuer.issuer_url(), status_list, now
            ),
            key.private_key,
            key.verification_method,
            now,
        )
        code, index = codes.generate_code(), bits.allocate_index(())
        achievement = issuer.achievement_url(scheme.code)
        credential = issue_credential(
            CredentialSnapshot(
                id=issuer.credential_url(code),
                name=scheme.title_en,
                issuer=IssuerSnapshot(id=issuer.issuer_url(), name="Centre", url=issuer.base_url()),
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
        db.session.add(
            Certificate(
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
        )
        db.session.commit()
    return code


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--hello", type=int, default=2000, help="requests to hello world")
    parser.add_argument("--verify", type=int, default=300, help="requests per verify route")
    args = parser.parse_args()
    if min(args.hello, args.verify) < 1 or max(args.hello, args.verify) > 20000:
        parser.error("request counts must be between 1 and 20000")

    with tempfile.TemporaryDirectory(prefix="bench-verify-") as folder:
        folder = Path(folder)
        (folder / "hello_app.py").write_text(HELLO_APP)
        hello_port, lms_port = free_port(), free_port()
        environment = lms_environment(folder / "instance", lms_port)
        code = prepare(environment)
        repo = Path(__file__).resolve().parent.parent

        rows = []
        hello = serve("hello_app:app", hello_port, args.workers, folder, dict(os.environ))
        try:
            rows.append(("hello world", load(hello_port, "/hello", args.hello, args.clients)))
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
                rows.append((label, load(lms_port, path, args.verify, args.clients)))
        finally:
            lms.terminate()
            lms.wait()

    base = rows[0][1]["rps"]
    print(
        f"gunicorn {args.workers} sync workers, {args.clients} client processes,"
        f" {os.cpu_count()} CPUs, all on {HOST}"
    )
    print(f"{'route':36} {'requests':>8} {'errors':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for label, row in rows:
        print(
            f"{label:36} {row['requests']:8d} {row['errors']:6d} {row['rps']:9.1f}"
            f" {row['p50_ms']:8.1f} {row['p99_ms']:8.1f}"
        )
    for label, row in rows[1:]:
        print(f"{label}: {base / row['rps']:.1f}x fewer requests/s than hello world")


if __name__ == "__main__":
    main()

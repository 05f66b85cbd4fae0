"""Measure every row of the performance table in one run, each against its anchor.

One table: what is measured, at which size, its figure, the anchor measured in the
same run, their ratio and the target. Growth shows where a row is measured at two
sizes (an empty status list and one with 60,000 entries; a register of 10 and of
2,000 certificates; the gradebook at two class sizes). CPU time of this process is
used where the work runs in-process (steadier than the wall clock on a shared
machine); the web rows are wrk figures against gunicorn, hello world first.

    .venv/bin/python bench/run_all.py [--quick] [--wrk SECONDS] [--skip-gradebook]

Needs the bench extra (gunicorn) and, for the web rows, wrk (Debian package wrk).
On PostgreSQL as well: LMS_BENCH_DATABASE_URL=postgresql+psycopg://... (the
issuance rows are repeated there; that database's tables are dropped).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

ROWS: list[tuple[str, str, str, str, str, str]] = []


def row(work: str, size: str, figure: str, anchor: str, ratio: str, target: str) -> None:
    """Add a row to the table and print it at once (a long run shows progress)."""
    ROWS.append((work, size, figure, anchor, ratio, target))
    print(f"  {work} [{size}]: {figure} vs {anchor} = {ratio} (target {target})", flush=True)


def cpu_medians(cases: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Return the median CPU milliseconds of each case, the cases run in turn each round."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for function in cases.values():
        function()  # warm up
    for _ in range(rounds):
        for name, function in cases.items():
            start = time.process_time()
            function()
            samples[name].append((time.process_time() - start) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def quiet(function: Callable, *args, **kwargs):
    """Call ``function`` with its printing swallowed; return its result."""
    with contextlib.redirect_stdout(io.StringIO()):
        return function(*args, **kwargs)


# --- PDF and signing ----------------------------------------------------------------------


def pdf_rows(rounds: int) -> None:
    import bench_pdf

    from lms.pdf import draw_qr

    def bare_page_with_qr() -> bytes:
        buffer = io.BytesIO()
        canvas = bench_pdf.Canvas(
            buffer, pagesize=bench_pdf.PAGE, invariant=True, initialFontName=bench_pdf.FONT
        )
        y = bench_pdf.PAGE[1] - 60
        for font, size, text in bench_pdf.lines():
            canvas.setFont(font, size)
            canvas.drawCentredString(bench_pdf.PAGE[0] / 2, y, text)
            y -= size * 1.2
        draw_qr(canvas, bench_pdf.SNAPSHOT.verify_url, 600, 60, 104)
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    medians = cpu_medians({"cert": bench_pdf.certificate, "bare": bare_page_with_qr}, rounds)
    row(
        "certificate PDF (render + embed)",
        "one page",
        f"{medians['cert']:.1f} ms",
        f"bare ReportLab page, same text and QR path {medians['bare']:.1f} ms",
        f"{medians['cert'] / medians['bare']:.2f}x",
        "keep ~1.1x",
    )


def signing_rows(rounds: int) -> None:
    from bench_sign import ISSUED, ISSUER, snapshot

    from certificates.credentials import signing
    from certificates.credentials.openbadges import build_credential

    key = signing.generate_key()
    method = signing.verification_method_id(ISSUER, key)
    documents = [build_credential(snapshot(n)) for n in range(rounds + 1)]
    proof = {
        "type": signing.PROOF_TYPE,
        "cryptosuite": signing.CRYPTOSUITE,
        "created": "2025-03-01T00:00:00Z",
        "verificationMethod": method,
        "proofPurpose": signing.ASSERTION_METHOD,
    }
    turn = iter(range(10**9))
    medians = cpu_medians(
        {
            "sign": lambda: signing.sign(
                documents[next(turn) % len(documents)], key, method, ISSUED
            ),
            "canon": lambda: signing.hash_input(documents[0], proof),
        },
        rounds,
    )
    row(
        "signing.sign",
        "one credential",
        f"{medians['sign']:.1f} ms",
        f"two RDFC-1.0 canonicalisations {medians['canon']:.1f} ms",
        f"{medians['sign'] / medians['canon']:.2f}x",
        "<= 2x",
    )


# --- issuance -----------------------------------------------------------------------------


def issuance_rows(url: str | None, count: int, growth: int) -> None:
    import bench_issue

    engine = (url or "sqlite").split(":", 1)[0]
    args = argparse.Namespace(count=count, chunk_size=25)
    _wall, cpu = quiet(bench_issue.run, url, args, sign=True)
    row(
        f"bulk issuance ({engine})",
        f"{count} certificates",
        f"{count / cpu:.1f} certificates/s/core",
        "",
        "",
        ">= 40 SQLite, >= 35 PostgreSQL",
    )
    figures = quiet(bench_issue.list_growth, url, growth)
    row(
        f"issuance onto a status list ({engine})",
        "0 vs 60,000 entries",
        f"{figures['filled']:.1f} ms at 60,000",
        f"{figures['empty']:.1f} ms on an empty list",
        f"{figures['ratio']:.2f}x",
        "<= 1.05x",
    )


# --- verification -------------------------------------------------------------------------


def lookup_rows(sizes: tuple[int, ...], rounds: int) -> None:
    """First look-up of a code against a repeated one, in a register of each size."""
    import hashlib
    import json

    import sqlalchemy as sa
    from bench_verify import lms_environment, prepare

    for size in sizes:
        folder = Path(tempfile.mkdtemp(prefix="bench-lookup-"))
        code = quiet(prepare, lms_environment(folder / "instance", 5000))
        from certificates.credentials.codes import generate_code
        from certificates.models import Certificate
        from certificates.verify import register, service
        from lms import create_app
        from lms.extensions import db

        app = create_app()
        with app.app_context():
            original = db.session.scalar(sa.select(Certificate).where(Certificate.code == code))
            record = db.session.get(register.CredentialCheck, original.id)
            codes = [generate_code() for _ in range(size)]
            db.session.execute(
                sa.insert(Certificate),
                [
                    {
                        "code": other,
                        "scheme_id": original.scheme_id,
                        "user_id": original.user_id,
                        "status": "expired",
                        "status_list_id": original.status_list_id,
                        "status_index": 100_000 + n,
                        "valid_from": original.valid_from,
                        "valid_until": original.valid_until,
                        "signing_key_id": original.signing_key_id,
                        "snapshot": {},
                        "credential": original.credential,
                        "pdf_key": (filler := hashlib.sha256(json.dumps(n).encode()).hexdigest()),
                        "pdf_sha256": filler,
                    }
                    for n, other in enumerate(codes)
                ],
            )
            ids = db.session.execute(
                sa.select(Certificate.id).where(Certificate.code.in_(codes))
            ).scalars()
            db.session.execute(
                sa.insert(register.CredentialCheck),
                [
                    {
                        "certificate_id": i,
                        "credential_sha256": record.credential_sha256,
                        "public_multikey": record.public_multikey,
                        "checked_at": record.checked_at,
                    }
                    for i in ids
                ],
            )
            db.session.commit()
        with app.test_request_context():
            service.verify_code(code)  # warm up the process
            fresh = iter(codes)
            medians = cpu_medians(
                {
                    "first": lambda f=fresh: service.verify_code(next(f)),
                    "again": lambda c=code: service.verify_code(c),
                },
                min(rounds, size - 2),
            )
        row(
            "verification of a code not seen before",
            f"register of {size:,}",
            f"{medians['first']:.2f} ms",
            f"repeated look-up {medians['again']:.2f} ms",
            f"{medians['first'] / medians['again']:.2f}x",
            "<= 1.5x",
        )
        shutil.rmtree(folder, ignore_errors=True)


def web_rows(seconds: float) -> None:
    import bench_verify

    args = argparse.Namespace(
        workers=2, clients=4, hello=2000, verify=300, wrk=seconds, connections=16
    )
    rows, _title, _counting = quiet(bench_verify.measure, args)
    figures = dict(rows)
    hello = figures["hello world"]
    targets = {
        "verify API /api/v1/verify/<code>": ">= 40 % req/s, p99 <= 3x",
        "verify page /verify/<code>": ">= 25 % req/s, p99 <= 3x",
    }
    for label, target in targets.items():
        figure = figures[label]
        row(
            label.split(" /")[0] + " (gunicorn -w 2, wrk 16 connections)",
            "one certificate",
            f"{figure['rps']:.0f} req/s, p99 {figure['p99_ms']:.1f} ms",
            f"hello {hello['rps']:.0f} req/s, p99 {hello['p99_ms']:.1f} ms",
            f"{figure['rps'] / hello['rps']:.0%}, p99 {figure['p99_ms'] / hello['p99_ms']:.1f}x",
            target,
        )


# --- pages --------------------------------------------------------------------------------


def page_rows(rounds: int) -> None:
    """Main pages in the test client against a hello-world route, on the demo data."""
    import sqlalchemy as sa
    from bench_pages import hello_client, signed_in_client

    folder = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    os.environ.update(
        {
            "LMS_INSTANCE_PATH": str(folder),
            "LMS_DATABASE_URL": f"sqlite:///{folder / 'lms.sqlite3'}",
            "LMS_SECRET_KEY": "bench-secret-" * 4,
            "LMS_RATE_LIMIT_ENABLED": "0",
        }
    )
    from courses.assessments.quizzes.models import Attempt
    from courses.models import Course, Lesson, Module
    from lms import create_app
    from lms.auth.operations import find_user_by_email
    from lms.extensions import db

    app = create_app({"RATELIMIT_ENABLED": False})
    with app.app_context():
        db.create_all()
        for loader in app.extensions["lms_demo_loaders"]:
            quiet(loader)
        db.session.commit()
        lesson = db.session.scalar(
            sa.select(Lesson)
            .join(Module)
            .join(Course)
            .where(Course.code == "SC-101")
            .order_by(Module.position, Lesson.position)
            .limit(1)
        )
        attempt = db.session.scalar(sa.select(Attempt).order_by(Attempt.id).limit(1))
        attempt_owner = attempt.user.email if attempt else None
        attempt_url = f"/quiz-attempts/{attempt.id}" if attempt else None
        if attempt is not None and attempt.submitted_at is not None:
            attempt_url += "/review"
        lesson_url = f"/courses/SC-101/lessons/{lesson.id}"

    def client_for(email: str | None):
        if email is None:
            return signed_in_client(app, None)
        with app.app_context():
            user_id = find_user_by_email(email).id
        return signed_in_client(app, user_id)

    hello = hello_client()
    pages = [
        ("course page", None, "/courses/SC-101"),
        ("catalogue", None, "/courses"),
        ("dashboard", "maria.ivanova@example.org", "/dashboard"),
        ("lesson", "anna.koleva@example.org", lesson_url),
        ("quiz attempt", attempt_owner, attempt_url),
        ("certifier scheme page", "petya.angelova@example.org", "/certification/schemes/S4C-PM"),
    ]
    for label, email, url in pages:
        if url is None:
            continue
        client = client_for(email)
        status = client.get(url).status_code
        medians = cpu_medians(
            {"page": lambda c=client, u=url: c.get(u), "hello": lambda: hello.get("/hello")}, rounds
        )
        row(
            f"{label} (test client{'' if status == 200 else f', HTTP {status}'})",
            "demo data",
            f"{medians['page']:.2f} ms",
            f"hello {medians['hello']:.2f} ms",
            f"{medians['page'] / medians['hello']:.0f}x",
            "<= 20x",
        )


def gradebook_rows(sizes: list[int]) -> None:
    """Run the gradebook bench at two class sizes and keep its figures as rows."""
    output = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [
            sys.executable,
            str(HERE / "bench_gradebook.py"),
            "--trainees",
            *map(str, sizes),
            "--runs",
            "2",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    lines = [line for line in output.splitlines() if line.strip()]
    row(
        "gradebook (bench_gradebook.py)",
        " / ".join(map(str, sizes)),
        "see below",
        "",
        "",
        "50-row page <= 100 ms, <= 15 queries",
    )
    print("\n".join(lines[-12:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and certificates")
    parser.add_argument("--wrk", type=float, default=10, help="seconds of wrk a route")
    parser.add_argument("--skip-gradebook", action="store_true")
    args = parser.parse_args()
    rounds = 15 if args.quick else 40
    started = time.perf_counter()
    print("measuring (each row with its anchor, in turn):", flush=True)
    pdf_rows(rounds)
    signing_rows(rounds)
    urls = [None]
    if os.environ.get("LMS_BENCH_DATABASE_URL"):
        urls.append(os.environ["LMS_BENCH_DATABASE_URL"])
    for url in urls:
        issuance_rows(url, 60 if args.quick else 200, 20 if args.quick else 60)
    lookup_rows((10, 2_000), rounds)
    if shutil.which("wrk"):
        web_rows(args.wrk)
    else:
        print("  wrk is not installed: the gunicorn rows are left out")
    page_rows(rounds)
    if not args.skip_gradebook:
        gradebook_rows([200, 1000] if args.quick else [1000, 5000])

    headers = ("work", "size", "figure", "anchor (same run)", "ratio", "target")
    widths = [max(len(h), *(len(r[i]) for r in ROWS)) for i, h in enumerate(headers)]
    print(f"\nall rows, {os.cpu_count()} CPUs, {time.perf_counter() - started:.0f} s:")
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for values in ROWS:
        print(" | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)))


if __name__ == "__main__":
    main()

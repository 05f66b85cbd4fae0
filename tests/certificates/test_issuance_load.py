"""Under gunicorn with 4 workers on one SQLite file, issuance among other traffic never locks.

Two certifiers issue certificates from opposite ends of one list of trainees (so they
meet and race for the same trainees) while others read verification pages, upload
credentials to verify and switch their language. Issuance renders and signs with no
write lock held, so nobody gets "database is locked" or a 5xx, and every trainee
ends with exactly one certificate. The server always runs on its own SQLite file,
whichever database the rest of the suite uses.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "load-test-password-1"
TRAINEES = 16
OTHERS = 4  # threads reading, uploading and writing while the certifiers issue
TIMEOUT = 120
STARTUP = 180

PREPARE = """
import json, sys
from decimal import Decimal
from certificates import operations as ops
from courses.assessments.models import Assessment, Grade, GradeStatus
from courses.gradebook.models import CourseCompletion
from courses.models import Course, CourseState
from lms import create_app
from lms.auth.operations import create_user
from lms.extensions import db
from lms.models import Role

password, count = sys.argv[1], int(sys.argv[2])
app = create_app()
with app.app_context():
    db.create_all()
    course = Course(code="LOAD-101", title_en="Load", state=CourseState.PUBLISHED)
    exam = Assessment(course=course, kind="quiz", title_en="Exam", max_points=Decimal(100))
    db.session.add_all([course, exam])
    for n in range(2):
        create_user(email=f"certifier{n}@example.org", name=f"Certifier {n}",
                    password=password, roles=[Role.CERTIFIER])
    create_user(email="writer@example.org", name="Writer", password=password)
    trainees = [create_user(email=f"trainee{n}@example.org", name=f"Trainee {n}",
                            password=None, roles=[Role.TRAINEE]) for n in range(count + 1)]
    db.session.flush()
    scheme = ops.create_scheme(code="LOAD", title_en="Load scheme", actor=None)
    ops.add_requirement(scheme, kind="course", course=course, min_grade=50, actor=None)
    ops.add_requirement(scheme, kind="exam", assessment=exam, min_grade=50, actor=None)
    for trainee in trainees:
        db.session.add(CourseCompletion(user_id=trainee.id, course_id=course.id,
                                        completed=True, grade=80))
        db.session.add(Grade(assessment=exam, user_id=trainee.id, points=90,
                             status=GradeStatus.RELEASED))
    db.session.commit()
    first = ops.issue_certificate(scheme, trainees[0], actor=None)
    db.session.commit()
    print(json.dumps({"code": first.code, "credential": first.credential,
                      "trainees": [t.id for t in trainees[1:]]}))
"""

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_verify", ROOT / "bench" / "bench_verify.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _csrf(session: requests.Session, url: str) -> str:
    return CSRF.search(session.get(url, timeout=TIMEOUT).text).group(1)


def _log_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    token = _csrf(session, f"{base}/login")
    response = session.post(
        f"{base}/login",
        data={"csrf_token": token, "email": email, "password": PASSWORD},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert response.status_code == 302, response.text[:500]
    return session


def test_issuing_among_mixed_load_gives_no_lock_errors_and_one_certificate_each(tmp_path):
    bench = _bench()
    port = bench.free_port()
    env = bench.lms_environment(tmp_path, port)
    prepared = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", PREPARE, PASSWORD, str(TRAINEES)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    setup = json.loads(prepared.stdout.strip().splitlines()[-1])
    genuine = json.dumps(setup["credential"]).encode()
    base = f"http://{bench.HOST}:{port}"
    error_log = tmp_path / "gunicorn.log"
    with error_log.open("wb") as errors:
        process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers=4",
                f"--bind={bench.HOST}:{port}",
                "--timeout=120",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        try:
            outcomes = _run_load(base, setup, genuine, process, error_log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:  # a loaded machine: do not leave it running
                process.kill()
                process.wait(timeout=60)
    log = error_log.read_text(errors="replace")

    expected = {"issue": 302, "read": 200, "upload": 200, "write": 302}
    wrong = [
        (kind, status, body[:300]) for kind, status, body in outcomes if status != expected[kind]
    ]
    assert wrong == []
    assert not [kind for kind, _, body in outcomes if "database is locked" in body]
    assert "database is locked" not in log
    assert {kind for kind, _, _ in outcomes} == set(expected)
    assert sum(kind == "issue" for kind, _, _ in outcomes) == 2 * TRAINEES

    with sqlite3.connect(tmp_path / "lms.sqlite3") as db:
        held = dict(db.execute("SELECT user_id, count(*) FROM certificates GROUP BY user_id"))
    assert all(held.get(user_id) == 1 for user_id in setup["trainees"])  # one each
    assert len(held) == TRAINEES + 1
    assert max(held.values()) == 1


def _run_load(base: str, setup: dict, genuine: bytes, process, error_log: Path):
    deadline = time.monotonic() + STARTUP  # four workers import the app: slow on a busy machine
    while True:  # wait for gunicorn
        try:
            if requests.get(f"{base}/login", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert process.poll() is None, error_log.read_text()
        assert time.monotonic() < deadline, "gunicorn did not start"
        time.sleep(0.2)

    outcomes: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    issuing_done = threading.Event()

    def note(kind: str, send) -> None:
        try:
            response = send()
        except requests.RequestException as exc:  # a timeout is a failure too
            outcome = (kind, 0, repr(exc))
        else:
            outcome = (kind, response.status_code, response.text[:2000])
        with lock:
            outcomes.append(outcome)

    def certifier(number: int) -> None:
        session = _log_in(base, f"certifier{number}@example.org")
        queue = f"{base}/certification/schemes/LOAD"
        order = setup["trainees"] if number == 0 else list(reversed(setup["trainees"]))
        for user_id in order:
            token = _csrf(session, queue)
            note(
                "issue",
                lambda token=token, user_id=user_id: session.post(
                    f"{queue}/issue/{user_id}",
                    data={"csrf_token": token},
                    allow_redirects=False,
                    timeout=TIMEOUT,
                ),
            )

    def other(number: int) -> None:
        session = _log_in(base, "writer@example.org") if number % 2 == 0 else requests.Session()
        turn = 0
        while not issuing_done.is_set():
            turn += 1
            kind = ("read", "upload", "write" if number % 2 == 0 else "read")[turn % 3]
            if kind == "read":
                note(kind, lambda: session.get(f"{base}/verify/{setup['code']}", timeout=TIMEOUT))
            elif kind == "upload":
                note(
                    kind,
                    lambda: session.post(
                        f"{base}/api/v1/verify",
                        data=genuine,
                        headers={"Content-Type": "application/json"},
                        timeout=TIMEOUT,
                    ),
                )
            else:
                token = _csrf(session, f"{base}/courses")
                note(
                    kind,
                    lambda token=token, turn=turn: session.post(
                        f"{base}/language",
                        data={"csrf_token": token, "language": ("bg", "en")[turn % 2], "next": "/"},
                        allow_redirects=False,
                        timeout=TIMEOUT,
                    ),
                )

    certifiers = [threading.Thread(target=certifier, args=(n,)) for n in range(2)]
    others = [threading.Thread(target=other, args=(n,)) for n in range(OTHERS)]
    for thread in certifiers + others:
        thread.start()
    for thread in certifiers:
        thread.join()
    issuing_done.set()
    for thread in others:
        thread.join()
    return outcomes

"""The people of the load test, as locust users (run by ``bench/load.py``, not by hand).

Trainees log in, browse and search the catalogue, open courses, study lessons
(and mark them done), open their grades, and take quizzes (start, open,
submit); instructors log in and open gradebooks, the grading queue and a
cohort's roster; employers verify certificate codes on the page and through
the API without an account; a probe asks ``/healthz``, the trivial route every
other one is compared with.

The data (accounts, courses, lessons, quizzes, codes) comes from the JSON file
named by ``LMS_LOAD_DATA``; every request's latency is written to the JSON
file named by ``LMS_LOAD_SAMPLES`` when locust stops, so percentiles are exact.
"""

from __future__ import annotations

import json
import os
import random
import re

from locust import HttpUser, between, events, task

DATA = json.loads(open(os.environ["LMS_LOAD_DATA"], encoding="utf-8").read())  # noqa: SIM115
SAMPLES: dict[str, list[float]] = {}
FAILURES: dict[str, int] = {}
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = DATA["password"]


@events.request.add_listener
def _record(name, response_time, exception, **_kwargs):
    SAMPLES.setdefault(name, []).append(response_time)
    if exception is not None:
        FAILURES[name] = FAILURES.get(name, 0) + 1


@events.quitting.add_listener
def _save(**_kwargs):
    with open(os.environ["LMS_LOAD_SAMPLES"], "w", encoding="utf-8") as out:
        json.dump({"samples": SAMPLES, "failures": FAILURES}, out)


class Person(HttpUser):
    abstract = True
    wait_time = between(1, 3)
    csrf = ""

    def log_in(self, email: str) -> None:
        page = self.client.get("/login", name="login page")
        self.csrf = _token(page.text)
        with self.client.post(
            "/login",
            data={"email": email, "password": PASSWORD, "csrf_token": self.csrf},
            name="log in",
            catch_response=True,
        ) as response:
            if "/login" in response.url:
                response.failure(f"log-in refused for {email}")
        self.csrf = _token(self.client.get("/dashboard", name="dashboard").text) or self.csrf


def _token(html: str) -> str:
    match = CSRF.search(html)
    return match.group(1) if match else ""


class Trainee(Person):
    weight = 6

    def on_start(self) -> None:
        self.me = random.choice(DATA["trainees"])
        self.log_in(self.me["email"])

    @task(3)
    def catalogue(self):
        self.client.get("/courses", name="catalogue")

    @task(1)
    def search(self):
        self.client.get(f"/courses?q={random.choice(DATA['search'])}", name="catalogue search")

    @task(2)
    def course(self):
        self.client.get(f"/courses/{random.choice(DATA['courses'])}", name="course page")

    @task(4)
    def study(self):
        course = self.me["course"]
        lesson = random.choice(self.me["lessons"])
        self.client.get(f"/courses/{course}/lessons/{lesson}", name="lesson")
        if random.random() < 0.3:
            self.client.post(
                f"/courses/{course}/lessons/{lesson}/done",
                data={"csrf_token": self.csrf},
                name="lesson done",
            )

    @task(1)
    def grades(self):
        self.client.get(f"/courses/{self.me['course']}/grades", name="my grades")

    @task(1)
    def dashboard(self):
        self.client.get("/dashboard", name="dashboard")

    @task(1)
    def take_quiz(self):
        course, quiz = self.me["course"], random.choice(self.me["quizzes"])
        page = self.client.get(f"/courses/{course}/quizzes/{quiz}", name="quiz page")
        token = _token(page.text) or self.csrf
        started = self.client.post(
            f"/courses/{course}/quizzes/{quiz}/start",
            data={"csrf_token": token},
            name="quiz start (+ attempt page)",
        )
        match = re.search(r"/quiz-attempts/(\d+)$", started.url)
        if match is None:  # no attempts left: the quiz page said so
            return
        self.client.post(
            f"/quiz-attempts/{match.group(1)}",
            data={"csrf_token": _token(started.text) or token, "action": "submit"},
            name="quiz submit (+ review page)",
        )


class Instructor(Person):
    weight = 1

    def on_start(self) -> None:
        self.me = random.choice(DATA["instructors"])
        self.log_in(self.me["email"])

    @task(3)
    def gradebook(self):
        self.client.get(f"/courses/{self.me['course']}/gradebook", name="gradebook")

    @task(1)
    def grading_queue(self):
        self.client.get(f"/courses/{self.me['course']}/grading", name="grading queue")

    @task(1)
    def roster(self):
        self.client.get(
            f"/courses/{self.me['course']}/cohorts/{self.me['cohort']}", name="cohort roster"
        )


class Employer(HttpUser):
    weight = 2
    wait_time = between(1, 3)

    @task(2)
    def verify_page(self):
        self.client.get(f"/verify/{random.choice(DATA['codes'])}", name="verify page")

    @task(2)
    def verify_api(self):
        self.client.get(f"/api/v1/verify/{random.choice(DATA['codes'])}", name="verify API")


class Probe(HttpUser):
    """The hello-world route, under the same load as every page (always one, whatever --users)."""

    fixed_count = 1
    wait_time = between(0.5, 1.5)

    @task
    def hello(self):
        self.client.get("/healthz", name="hello (/healthz)")

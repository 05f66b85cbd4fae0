"""Quiz pages: authoring, taking with and without JavaScript, review, staff overview."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from courses.assessments.grades import get_grade
from courses.assessments.models import Assessment
from courses.assessments.quizzes import operations as ops
from courses.assessments.quizzes.models import (
    Attempt,
    AttemptAnswer,
    AttemptStatus,
    Question,
    Quiz,
)
from lms.db import utcnow
from tests.conftest import count_queries

from .conftest import correct_responses, question_data


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _answers(db, attempt_id):
    return {
        a.question_id: a.response
        for a in db.session.scalars(
            sa.select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt_id)
        )
    }


def _start(client, world, quiz=None):
    quiz = quiz or world.quiz
    response = client.post_form(f"/courses/{world.course.code}/quizzes/{quiz.id}/start")
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


# --- authoring -------------------------------------------------------------


OPTION_ROWS = {f"options-{i}-{k}": "" for i in range(6) for k in ("text_en", "text_bg")}


def _question_form(**fields):
    data = {"text_en": "Which body adopts the municipal smart-city strategy?", "points": "2"}
    data.update(OPTION_ROWS)
    data.update(fields)
    return data


def test_staff_add_a_single_choice_question(client, login_as, db, world):
    login_as(world.instructor)
    data = _question_form(
        **{
            "options-0-text_en": "The municipal council",
            "options-0-text_bg": "Общинският съвет",
            "options-0-correct": "y",
            "options-1-text_en": "The mobile operator",
        }
    )
    response = client.post_form("/courses/QZ-1/questions/new/single", data)
    assert response.status_code == 302
    question = db.session.scalars(sa.select(Question).order_by(Question.id.desc())).first()
    assert question.kind == "single"
    assert question.points == Decimal("2.00")
    assert [(o.text_en, o.correct) for o in question.options] == [
        ("The municipal council", True),
        ("The mobile operator", False),
    ]
    html = client.get("/courses/QZ-1/questions").get_data(as_text=True)
    assert "Which body adopts" in html


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        (
            "single",
            {
                "options-0-text_en": "A",
                "options-0-correct": "y",
                "options-1-text_en": "B",
                "options-1-correct": "y",
            },
            "exactly one correct option",
        ),
        ("single", {"options-0-text_en": "A", "options-0-correct": "y"}, "at least two options"),
        ("multiple", {"options-0-text_en": "A", "options-1-text_en": "B"}, "at least one option"),
        (
            "multiple",
            {"options-0-text_en": "A", "options-2-correct": "y", "options-1-text_en": "B"},
            "needs its English text",
        ),
        ("true_false", {}, "Choose true or false"),
        ("numeric", {}, "Enter the correct value"),
        ("numeric", {"value": "abc"}, "Not a valid decimal"),
        ("numeric", {"value": "3", "tolerance": "-1"}, "at least 0"),
        ("short", {"accepted": "\n  \n"}, "at least one answer"),
        ("short", {"accepted": "x", "points": "0"}, "between 0.01 and 1000"),
        ("short", {"accepted": "x", "text_en": ""}, "This field is required"),
    ],
)
def test_bad_questions_show_a_message_and_change_nothing(
    client, login_as, db, world, kind, fields, message
):
    login_as(world.instructor)
    before = _count(db, Question)
    response = client.post_form(f"/courses/QZ-1/questions/new/{kind}", _question_form(**fields))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(db, Question) == before


def test_unknown_question_kind_is_not_found(client, login_as, world):
    login_as(world.instructor)
    assert client.get("/courses/QZ-1/questions/new/essay").status_code == 404


def test_edit_keeps_option_rows_and_delete_only_unused(client, login_as, db, world, make_question):
    login_as(world.instructor)
    question = world.questions["single"]
    option_ids = [o.id for o in question.options]
    form_html = client.get(f"/courses/QZ-1/questions/{question.id}/edit").get_data(as_text=True)
    assert "Connectivity" in form_html
    assert "used in a quiz" in form_html
    data = _question_form(
        text_en="Which layer carries the readings?",
        **{
            "options-0-text_en": "Connectivity",
            "options-1-text_en": "Governance",
            "options-1-correct": "y",
        },
    )
    assert client.post_form(f"/courses/QZ-1/questions/{question.id}/edit", data).status_code == 302
    db.session.refresh(question)
    assert [o.id for o in question.options] == option_ids[:2]
    assert [o.correct for o in question.options] == [False, True]

    response = client.post_form(
        f"/courses/QZ-1/questions/{question.id}/delete", follow_redirects=True
    )
    assert "cannot be deleted" in response.get_data(as_text=True)
    assert db.session.get(Question, question.id) is not None
    spare = make_question(world.course, "short")
    client.post_form(f"/courses/QZ-1/questions/{spare.id}/delete")
    assert db.session.get(Question, spare.id) is None


def test_a_question_of_another_course_is_not_found(
    client, login_as, world, make_course, make_question
):
    login_as(world.instructor)
    other = make_question(make_course(instructors=[world.instructor]), "single")
    assert client.get(f"/courses/QZ-1/questions/{other.id}/edit").status_code == 404


def _quiz_form(**fields):
    data = {
        "title_en": "Governance check",
        "title_bg": "Проверка: управление",
        "category_id": "0",
        "max_points": "50",
        "pass_percent": "60",
        "attempt_limit": "2",
        "time_limit_minutes": "15",
        "grading_method": "last",
        "feedback": "after_submission",
        "opens_at": "",
        "closes_at": "",
    }
    data.update(fields)
    return data


def test_staff_create_a_quiz_choose_and_order_questions_and_publish(client, login_as, db, world):
    login_as(world.instructor)
    response = client.post_form(
        "/courses/QZ-1/quizzes/new", _quiz_form(opens_at="2030-01-01T09:00")
    )
    assert response.status_code == 302
    quiz = db.session.scalars(sa.select(Quiz).order_by(Quiz.id.desc())).first()
    assessment = quiz.assessment
    assert assessment.kind == "quiz"
    assert not assessment.published
    assert assessment.pass_percent == Decimal("60.00")
    assert assessment.max_points == Decimal("50.00")
    assert quiz.attempt_limit == 2
    assert quiz.time_limit_minutes == 15
    assert quiz.grading_method == "last"
    assert quiz.opens_at.isoformat() == "2030-01-01T07:00:00+00:00"  # 09:00 in Sofia

    publish = f"/courses/QZ-1/quizzes/{quiz.id}/publish"
    html = client.post_form(publish, {"published": "1"}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "Add at least one question" in html
    assert not db.session.get(Assessment, assessment.id).published

    single, tf = world.questions["single"], world.questions["true_false"]
    page = client.get(f"/courses/QZ-1/quizzes/{quiz.id}/questions").get_data(as_text=True)
    ids = re.findall(r'name="entries-(\d+)-question_id" type="hidden" value="(\d+)"', page)
    data = {f"entries-{i}-question_id": qid for i, qid in ids}
    data.update({f"entries-{i}-position": "" for i, _ in ids})
    index = {int(qid): i for i, qid in ids}
    data[f"entries-{index[tf.id]}-position"] = "1"
    data[f"entries-{index[single.id]}-position"] = "2"
    assert client.post_form(f"/courses/QZ-1/quizzes/{quiz.id}/questions", data).status_code == 302
    db.session.expire_all()
    assert [i.question_id for i in quiz.items] == [tf.id, single.id]

    client.post_form(publish, {"published": "1"})
    db.session.expire_all()
    assert quiz.assessment.published


def test_quiz_questions_refuse_duplicate_positions_and_foreign_questions(
    client, login_as, db, world
):
    login_as(world.instructor)
    url = f"/courses/QZ-1/quizzes/{world.quiz.id}/questions"
    before = [i.question_id for i in world.quiz.items]
    ids = [q.id for q in world.questions.values()]
    data = {f"entries-{i}-question_id": str(qid) for i, qid in enumerate(ids)}
    data.update({f"entries-{i}-position": "1" for i in range(len(ids))})
    html = client.post_form(url, data).get_data(as_text=True)
    assert "its own position" in html
    data = {"entries-0-question_id": "999999", "entries-0-position": "1"}
    html = client.post_form(url, data).get_data(as_text=True)
    assert "this course&#39;s bank" in html or "this course's bank" in html
    db.session.expire_all()
    assert [i.question_id for i in world.quiz.items] == before


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"opens_at": "2030-01-02T09:00", "closes_at": "2030-01-01T09:00"}, "close after it opens"),
        ({"feedback": "after_close"}, "needs a closing date"),
        ({"pass_percent": "120"}, "between 0 and 100"),
        ({"attempt_limit": "0"}, "between 1 and 100"),
        ({"time_limit_minutes": "abc"}, "Not a valid integer"),
        ({"opens_at": "tomorrow"}, "Not a valid datetime"),
        ({"title_en": "x" * 201}, "200 characters"),
        ({"grading_method": "best"}, "Not a valid choice"),
    ],
)
def test_bad_quiz_settings_show_a_message_and_change_nothing(
    client, login_as, db, world, fields, message
):
    login_as(world.instructor)
    before = _count(db, Quiz)
    response = client.post_form("/courses/QZ-1/quizzes/new", _quiz_form(**fields))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(db, Quiz) == before


def test_editing_settings_round_trips(client, login_as, db, world):
    login_as(world.instructor)
    url = f"/courses/QZ-1/quizzes/{world.quiz.id}/edit"
    assert "Smart-city basics check" in client.get(url).get_data(as_text=True)
    response = client.post_form(
        url, _quiz_form(closes_at="2031-05-01T18:00", feedback="after_close", shuffle_options="y")
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert world.quiz.feedback == "after_close"
    assert world.quiz.shuffle_options
    assert world.quiz.assessment.due_at == world.quiz.closes_at
    assert 'value="2031-05-01T18:00"' in client.get(url).get_data(as_text=True)


# --- taking ----------------------------------------------------------------


def test_course_page_lists_the_quiz_for_enrolled_trainees(client, login_as, world):
    login_as(world.trainee)
    html = client.get("/courses/QZ-1").get_data(as_text=True)
    assert f"/courses/QZ-1/quizzes/{world.quiz.id}" in html


def test_the_attempt_page_never_contains_the_answers(client, login_as, db, world):
    login_as(world.trainee)
    html = client.get(f"/courses/QZ-1/quizzes/{world.quiz.id}").get_data(as_text=True)
    assert "Start attempt 1" in html
    attempt_id = _start(client, world)
    for question in world.questions.values():
        question.feedback_en = f"FEEDBACK-MARKER-{question.id}"
    db.session.commit()
    html = client.get(f"/quiz-attempts/{attempt_id}").get_data(as_text=True)

    assert "FEEDBACK-MARKER" not in html
    assert "NetZeroCities" not in html
    assert "Net Zero Cities" not in html
    assert "9.6" not in html
    assert "9,6" not in html
    assert "correct" not in html.lower()
    # Every option input is written the same way whether it is right or wrong.
    for kind in ("single", "multiple"):
        question = world.questions[kind]
        shapes = set()
        for option in question.options:
            tag = re.search(rf'<input[^>]*value="{option.id}"[^>]*>', html).group(0)
            tag = tag.replace(f'value="{option.id}"', "").replace(f'-{option.id}"', "")
            shapes.add(tag)
            assert option.text_en in html
        assert len(shapes) == 1
    assert "quizzes/quiz.js" in html


def test_autosave_saves_one_answer_and_reports_problems_in_json(client, login_as, db, world):
    login_as(world.trainee)
    attempt_id = _start(client, world)
    url = f"/quiz-attempts/{attempt_id}/answer"
    single, numeric = world.questions["single"], world.questions["numeric"]
    option = str(single.options[0].id)

    response = client.post_form(url, {"question": single.id, f"q{single.id}": option})
    assert response.status_code == 200
    assert response.json["saved"] is True
    response = client.post_form(url, {"question": numeric.id, f"q{numeric.id}": "about ten"})
    assert response.status_code == 200
    assert "is not a number" in response.json["warning"]
    assert _answers(db, attempt_id) == {single.id: option, numeric.id: "about ten"}

    # The page shows the kept text and says why it will not score.
    html = client.get(f"/quiz-attempts/{attempt_id}").get_data(as_text=True)
    assert 'value="about ten"' in html
    assert "is not a number" in html

    # A question of another quiz, or a missing one: refused, nothing saved.
    other = ops.create_question(world.course, question_data("true_false"), actor=world.instructor)
    db.session.commit()
    response = client.post_form(url, {"question": other.id, f"q{other.id}": "true"})
    assert response.status_code == 400
    assert "not part of this attempt" in response.json["message"]
    response = client.post_form(url, {f"q{single.id}": option})
    assert response.status_code == 400
    assert _answers(db, attempt_id) == {single.id: option, numeric.id: "about ten"}

    # Without the CSRF token nothing is saved.
    response = client.post(url, data={"question": single.id, f"q{single.id}": ""})
    assert response.status_code == 400
    assert _answers(db, attempt_id)[single.id] == option


def test_the_form_saves_and_submits_without_javascript(client, login_as, db, world):
    login_as(world.trainee)
    attempt_id = _start(client, world)
    data = {f"q{qid}": value for qid, value in correct_responses(world).items()}
    multiple = world.questions["multiple"]
    del data[f"q{multiple.id}"]
    response = client.post_form(f"/quiz-attempts/{attempt_id}", {**data, "action": "save"})
    assert response.status_code == 302
    assert len(_answers(db, attempt_id)) == 4
    html = client.get(f"/quiz-attempts/{attempt_id}").get_data(as_text=True)
    assert 'value="9,65"' in html

    from werkzeug.datastructures import MultiDict

    full = MultiDict(data)
    for option in multiple.options:
        if option.correct:
            full.add(f"q{multiple.id}", str(option.id))
    full.add("action", "submit")
    full.add("csrf_token", client.csrf_token())
    response = client.post(f"/quiz-attempts/{attempt_id}", data=full, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "submitted and graded" in html
    assert "100%" in html
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.status == AttemptStatus.SUBMITTED
    assert get_grade(world.quiz.assessment, world.trainee).points == Decimal("100.00")

    # A second submit is refused cleanly and changes nothing.
    response = client.post_form(
        f"/quiz-attempts/{attempt_id}", {"action": "submit"}, follow_redirects=True
    )
    assert "already been submitted" in response.get_data(as_text=True)
    assert db.session.get(Attempt, attempt_id).score == Decimal("100.00")
    # The attempt page now leads to the review.
    assert client.get(f"/quiz-attempts/{attempt_id}").headers["Location"].endswith("/review")


def test_a_form_with_an_answer_for_another_question_saves_nothing(
    client, login_as, db, world, make_question, make_quiz
):
    stray = make_question(world.course, "true_false")
    make_quiz(world.course, questions=[stray])
    login_as(world.trainee)
    attempt_id = _start(client, world)
    tf = world.questions["true_false"]
    response = client.post_form(
        f"/quiz-attempts/{attempt_id}",
        {f"q{tf.id}": "false", f"q{stray.id}": "true", "action": "submit"},
        follow_redirects=True,
    )
    assert "not part of this attempt" in response.get_data(as_text=True)
    assert _answers(db, attempt_id) == {}
    assert db.session.get(Attempt, attempt_id).status == AttemptStatus.IN_PROGRESS


def test_start_is_refused_after_the_limit_with_a_message(client, login_as, db, world, make_quiz):
    quiz = make_quiz(world.course, questions=[world.questions["single"]], attempt_limit=1)
    login_as(world.trainee)
    attempt_id = _start(client, world, quiz)
    client.post_form(f"/quiz-attempts/{attempt_id}", {"action": "submit"})
    html = client.get(f"/courses/QZ-1/quizzes/{quiz.id}").get_data(as_text=True)
    assert "used every attempt" in html
    assert "Start attempt" not in html
    response = client.post_form(f"/courses/QZ-1/quizzes/{quiz.id}/start", follow_redirects=True)
    assert "the only attempt allowed" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).where(Attempt.quiz_id == quiz.id)) == 1


def test_start_before_the_quiz_opens_says_when(client, login_as, db, world, make_quiz):
    quiz = make_quiz(
        world.course,
        questions=[world.questions["single"]],
        opens_at=utcnow() + timedelta(days=3),
    )
    login_as(world.trainee)
    assert "This quiz opens on" in client.get(f"/courses/QZ-1/quizzes/{quiz.id}").get_data(
        as_text=True
    )
    response = client.post_form(f"/courses/QZ-1/quizzes/{quiz.id}/start", follow_redirects=True)
    assert "This quiz opens on" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).where(Attempt.quiz_id == quiz.id)) == 0


def _writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE")]


def test_an_expired_attempt_shows_as_graded_on_every_page_without_a_write(
    app, client, login_as, db, world, make_quiz
):
    tf = world.questions["true_false"]
    quiz = make_quiz(world.course, questions=[tf], time_limit_minutes=20)
    attempt = ops.start_attempt(
        quiz, world.trainee, now=utcnow() - timedelta(hours=1), actor=world.trainee
    )
    ops.save_answers(
        attempt, {tf.id: "false"}, now=attempt.started_at + timedelta(minutes=2), actor=attempt.user
    )
    db.session.commit()
    login_as(world.trainee)
    with count_queries(app) as counter:
        html = client.get(f"/courses/QZ-1/quizzes/{quiz.id}").get_data(as_text=True)
        assert "ran out of time" in html
        assert "Time ran out" in html
        assert "Your grade: 100 of 100" in html
        assert "100%" in html
        page = client.get(f"/quiz-attempts/{attempt.id}")
        assert page.status_code == 302
        assert page.location.endswith(f"/{attempt.id}/review")
        review = client.get(page.location).get_data(as_text=True)
        assert "100%" in review
    assert _writes(counter.statements) == []
    login_as(world.instructor)
    with count_queries(app) as counter:
        staff = client.get(f"/courses/QZ-1/quizzes/{quiz.id}/attempts").get_data(as_text=True)
        assert "#1: 100%" in staff
    assert _writes(counter.statements) == []
    db.session.expire_all()
    assert attempt.status == AttemptStatus.IN_PROGRESS  # stored on the next write
    assert get_grade(quiz.assessment, world.trainee) is None


def test_the_next_start_stores_the_expired_attempt_and_its_grade(
    client, login_as, db, world, make_quiz
):
    tf = world.questions["true_false"]
    quiz = make_quiz(world.course, questions=[tf], time_limit_minutes=20, attempt_limit=2)
    attempt = ops.start_attempt(
        quiz, world.trainee, now=utcnow() - timedelta(hours=1), actor=world.trainee
    )
    ops.save_answers(
        attempt, {tf.id: "false"}, now=attempt.started_at + timedelta(minutes=2), actor=attempt.user
    )
    db.session.commit()
    login_as(world.trainee)
    client.post_form(f"/courses/QZ-1/quizzes/{quiz.id}/start")
    db.session.expire_all()
    assert attempt.status == AttemptStatus.EXPIRED
    assert attempt.submitted_at == attempt.deadline
    assert get_grade(quiz.assessment, world.trainee).points == Decimal("100.00")


def test_an_answer_after_the_deadline_is_refused_and_the_attempt_graded(
    client, login_as, db, world, make_quiz
):
    tf = world.questions["true_false"]
    quiz = make_quiz(world.course, questions=[tf], time_limit_minutes=20)
    attempt = ops.start_attempt(
        quiz, world.trainee, now=utcnow() - timedelta(hours=1), actor=world.trainee
    )
    db.session.commit()
    login_as(world.trainee)
    response = client.post_form(
        f"/quiz-attempts/{attempt.id}/answer", {"question": tf.id, f"q{tf.id}": "false"}
    )
    assert response.status_code == 409
    assert response.json["closed"] is True
    assert _answers(db, attempt.id) == {}
    db.session.expire_all()
    assert attempt.status == AttemptStatus.EXPIRED
    assert attempt.score == Decimal("0.00")


def test_review_hides_the_key_until_the_quiz_closes_when_so_set(
    client, login_as, db, world, make_quiz
):
    tf = world.questions["true_false"]
    tf.feedback_en = "Technology serves public value; it does not define the city."
    db.session.commit()
    quiz = make_quiz(
        world.course,
        questions=[tf],
        closes_at=utcnow() + timedelta(days=2),
        feedback="after_close",
    )
    login_as(world.trainee)
    attempt_id = _start(client, world, quiz)
    client.post_form(f"/quiz-attempts/{attempt_id}", {f"q{tf.id}": "true", "action": "submit"})
    html = client.get(f"/quiz-attempts/{attempt_id}/review").get_data(as_text=True)
    assert "0 of 1 points (0%)" in html
    assert "Technology serves public value" not in html
    assert "Correct answer:" not in html
    assert "shown after the quiz closes" in html

    quiz.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    html = client.get(f"/quiz-attempts/{attempt_id}/review").get_data(as_text=True)
    assert "Technology serves public value" in html
    assert "Correct answer:" in html


def test_review_shows_key_and_feedback_after_submission(client, login_as, db, world):
    login_as(world.trainee)
    attempt_id = _start(client, world)
    client.post_form(f"/quiz-attempts/{attempt_id}", {"action": "submit"})
    html = client.get(f"/quiz-attempts/{attempt_id}/review").get_data(as_text=True)
    assert "NetZeroCities" in html
    assert "correct" in html


def test_question_text_is_escaped(client, login_as, db, world, make_question, make_quiz):
    evil = make_question(world.course, "short", text_en='<script>alert("x")</script> & <b>')
    quiz = make_quiz(world.course, questions=[evil])
    login_as(world.trainee)
    attempt_id = _start(client, world, quiz)
    html = client.get(f"/quiz-attempts/{attempt_id}").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in html


def test_staff_attempts_page_query_count_does_not_grow(
    app, client, login_as, db, world, make_user, make_enrolment
):
    login_as(world.instructor)
    url = f"/courses/QZ-1/quizzes/{world.quiz.id}/attempts"

    def add_trainees(n):
        for _ in range(n):
            trainee = make_user()
            make_enrolment(world.cohort, trainee)
            attempt = ops.start_attempt(world.quiz, trainee, actor=trainee)
            ops.submit_attempt(attempt, actor=attempt.user)
        db.session.commit()
        with count_queries(app) as counter:
            response = client.get(url)
        assert response.status_code == 200
        return counter.count, response.get_data(as_text=True)

    few, _ = add_trainees(1)
    many, html = add_trainees(5)
    assert few == many
    assert "Maria Trainee" in html
    assert "#1: 0%" in html

"""Two authors reordering the same course at once keep the positions unique.

Runs with real commits. Each swap passes through the free position 0; without
the course row lock two swaps on PostgreSQL could both park a row there and
one would fail on the (course, position) unique constraint.
"""

import threading

import sqlalchemy as sa

from courses import operations as ops
from courses.models import Course, Module
from lms.extensions import db
from lms.models import Role, User, UserRole


def _race(app, moves: list[tuple[int, str]], actor_id: int) -> list[BaseException]:
    barrier = threading.Barrier(len(moves), timeout=30)
    errors: list[BaseException] = []

    def move(module_id: int, direction: str) -> None:
        try:
            with app.app_context():
                barrier.wait()
                ops.move_module(
                    db.session.get(Module, module_id),
                    direction,
                    actor=db.session.get(User, actor_id),
                )
                db.session.commit()
                db.session.remove()
        except BaseException as error:  # reported to the main thread
            errors.append(error)

    threads = [threading.Thread(target=move, args=m) for m in moves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_concurrent_reorders_keep_positions_unique(committing_app):
    teacher = User(email="race-order@example.org", name="Race Teacher")
    teacher.role_rows = [UserRole(role=Role.INSTRUCTOR)]
    course = Course(code="RACE-ORDER", title_en="Race", state="published", instructors=[teacher])
    course.modules = [Module(title_en=f"M{n}", position=n) for n in range(1, 5)]
    db.session.add(course)
    db.session.commit()
    ids = [m.id for m in course.modules]
    course_id = course.id
    teacher_id = teacher.id
    db.session.remove()

    errors = _race(
        committing_app, [(ids[1], ops.UP), (ids[3], ops.UP), (ids[2], ops.DOWN)], teacher_id
    )

    assert errors == []
    positions = list(
        db.session.scalars(
            sa.select(Module.position).where(Module.course_id == course_id).order_by(Module.id)
        )
    )
    assert sorted(positions) == [1, 2, 3, 4]

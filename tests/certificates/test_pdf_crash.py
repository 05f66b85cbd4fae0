"""A process killed between writing a certificate's PDF and committing its row.

The file is written first, so the crash leaves an unnamed file (which the cleanup
job removes once it is older than the grace period) and never a row without its file.
"""

from __future__ import annotations

import sqlalchemy as sa

from lms.extensions import db
from tests.crash import kill_once_stored

# Runs in the child: a qualified trainee, then issuance that stops for good right after
# the PDF is in the store and before the certificate row is flushed and committed.
CHILD = r"""
import os, sys, time
from decimal import Decimal
from lms import create_app
from lms.extensions import db

app = create_app()
with app.app_context():
    from certificates import operations as ops
    from certificates.operations import issuance
    from courses.assessments.models import Assessment
    from courses.gradebook.models import CourseCompletion
    from courses.models import Course, CourseState
    from lms.auth.operations import create_user
    from lms.models import Role
    from tests.certificates.conftest import EARLIER, release_exam

    db.create_all()
    course = Course(code="SC-CRASH", title_en="Crash", title_bg="Срив",
                    state=CourseState.PUBLISHED)
    exam = Assessment(course=course, kind="quiz", title_en="Exam", title_bg="Изпит",
                      max_points=Decimal(50), pass_percent=Decimal(60), published=True)
    db.session.add_all([course, exam])
    db.session.commit()
    scheme = ops.create_scheme(code="SCH-CRASH", actor=None, title_en="Crash",
                               title_bg="Срив", validity_months=36, eqf_level=5,
                               workload_hours=120, esco_uris="", ecf_codes="E.2")
    ops.add_requirement(scheme, kind="course", course=course, min_grade=60, actor=None)
    ops.add_requirement(scheme, kind="exam", assessment=exam, min_grade=70, actor=None)
    trainee = create_user(email="crash@example.org", name="Crash Test", password=None,
                          roles=[Role.TRAINEE])
    db.session.flush()
    db.session.add(CourseCompletion(user_id=trainee.id, course_id=course.id, completed=True,
                                    grade=Decimal(80), completed_at=EARLIER))
    release_exam(db, trainee, exam, 90)
    db.session.commit()

    real_put = issuance.put_bytes

    def put_then_stall(store, data):
        key = real_put(store, data)
        with open(os.environ["CRASH_MARKER"], "w") as marker:
            marker.write(key)
        time.sleep(600)  # killed here: the file is written, the row is not

    issuance.put_bytes = put_then_stall
    ops.issue_certificate(scheme, trainee, actor=None)
    db.session.commit()
    sys.exit("issuance finished: the process was not killed")
"""


def test_killed_between_file_and_row_leaves_only_an_orphan(tmp_path):
    app, key = kill_once_stored(tmp_path, CHILD)
    with app.app_context():
        from certificates.models import Certificate
        from lms.storage import remove_orphans, storage

        # No row without its file: no row at all; the file is there, named by nothing.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 0
        assert storage().exists(key)
        # A young file may belong to a request still under way: the cleanup keeps it.
        result = app.test_cli_runner().invoke(args=["jobs", "periodic"])
        assert result.exit_code == 0, result.output
        assert "'stored_orphans': 0" in result.output
        assert storage().exists(key)
        # Past the grace period it goes.
        assert remove_orphans(grace_seconds=0) == 1
        assert not storage().exists(key)
        db.session.remove()
        db.engine.dispose()

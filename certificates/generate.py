"""Generated certification for ``lms generate`` (see :mod:`lms.generate`).

One scheme per generated programme requires its courses (course grade at
least 50) and its three competencies at the proficient level. A sample of the
eligible trainees (the size's ``certificates``, spread over the schemes) gets
a certificate through the real issuance code, :func:`certificates.operations.issue_certificate`:
eligibility checked, credential signed, PDF rendered and signed, status list
entry allocated. So every generated certificate verifies like any other. One
in ten of them is then revoked and one in twenty suspended, through the real
operations too. The other eligible trainees are left for a certifier (or a
load test) to issue.
"""

from __future__ import annotations

import logging

from certificates import operations as ops
from certificates import queries
from courses.competencies.models import Competency
from courses.generate import PROFICIENT_RANK, ROLES
from courses.models import Course, Programme
from lms.extensions import db
from lms.generate import CODE_PREFIX, GenerationRun
from lms.models import User

logger = logging.getLogger(__name__)

MIN_COURSE_GRADE = 50
REVOCATION_REASON = "Issued in error: the exam record belonged to another trainee."
SUSPENSION_REASON = "Identity document under review."


def generate_certification(run: GenerationRun) -> None:
    """Add the schemes and issue a sample of certificates through the real issuance code."""
    programme_ids = run.made["programmes"]
    courses = run.made["courses"]
    schemes = []
    for p, programme_id in enumerate(programme_ids):
        programme = db.session.get(Programme, programme_id)
        assert programme is not None, "the generator made this programme"
        role = ROLES[p % len(ROLES)]
        scheme = ops.create_scheme(
            code=f"{CODE_PREFIX}S{p + 1:03d}",
            actor=None,
            title_en=programme.title_en,
            title_bg=programme.title_bg,
            description_en=f"Certifies a {role[0].lower()} who completed the programme.",
            description_bg=f"Удостоверява {role[1].lower()}, завършил програмата.",
            programme=programme,
            validity_months=36,
            renewal_rule="exam",
            eqf_level=6 if p % 2 == 0 else 5,
            workload_hours=sum(30 for c in courses if c["programme"] == p),
            assessment_form_en="Quizzes and a project proposal marked with a rubric.",
            participation_form="online",
            identity_check="Photo identity document checked online.",
            active=True,
        )
        for c in courses:
            if c["programme"] == p:
                ops.add_requirement(
                    scheme,
                    kind="course",
                    course=db.session.get(Course, c["id"]),
                    min_grade=MIN_COURSE_GRADE,
                    actor=None,
                )
        for competency_id in run.made["programme_competencies"][p]:
            ops.add_requirement(
                scheme,
                kind="competency",
                competency=db.session.get(Competency, competency_id),
                min_level=PROFICIENT_RANK,
                actor=None,
            )
        schemes.append(scheme)
    db.session.commit()
    run.counts["schemes"] = len(schemes)

    certifier = db.session.get(User, run.made["users"]["certifier"][0])
    issued = []
    quota = [run.size.certificates // len(schemes)] * len(schemes)
    for i in range(run.size.certificates % len(schemes)):
        quota[i] += 1
    for scheme, wanted in zip(schemes, quota, strict=True):
        if not wanted:
            continue
        eligible = queries.eligible_ids(scheme, run.now)
        for user_id in sorted(run.rng.sample(eligible, min(wanted, len(eligible)))):
            trainee = db.session.get(User, user_id)
            assert trainee is not None, "eligible ids are users' ids"
            issued.append(ops.issue_certificate(scheme, trainee, actor=certifier))
            if len(issued) % 25 == 0:
                db.session.commit()
                run.progress(f"certificates: {len(issued)}/{run.size.certificates}")
    for index, cert in enumerate(issued):
        if index % 10 == 9:
            ops.revoke(cert, reason=REVOCATION_REASON, actor=certifier)
        elif index % 20 == 4:
            ops.suspend(cert, reason=SUSPENSION_REASON, actor=certifier)
    db.session.commit()
    run.counts["certificates"] = len(issued)
    run.made["certificate_codes"] = [cert.code for cert in issued]
    run.progress(f"certificates: {len(issued)} issued")
    if len(issued) < run.size.certificates:
        logger.warning(
            "only %s trainees were eligible; %s certificates wanted",
            len(issued),
            run.size.certificates,
        )

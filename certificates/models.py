"""Certification schemes, signing keys, certificates, status lists and issuance batches.

Nothing here is ever deleted: a revoked certificate keeps its row, its reason
and its stored PDF; a retired key stays published so older certificates verify.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import IO

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.assessments.models import POINTS, Assessment
from courses.models import Course, Programme
from lms.db import UTCDateTime, utcnow
from lms.extensions import Model
from lms.i18n import Bilingual
from lms.models import User


class CertificateStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


#: Statuses that hold the trainee's one live certificate for a scheme.
LIVE_STATUSES = (CertificateStatus.ACTIVE, CertificateStatus.SUSPENDED)


class RequirementKind(enum.StrEnum):
    COURSE = "course"  # course completed with at least min_grade
    COMPETENCY = "competency"  # competency at least at min_level
    EXAM = "exam"  # certification exam (an assessment) passed with at least min_grade %


class RenewalRule(enum.StrEnum):
    EXAM = "exam"  # re-pass the certification exam
    RECENT_EVIDENCE = "recent_evidence"  # competency evidence newer than N months


class SigningKey(Model):
    """An Ed25519 issuer key; the private half lives in the instance folder or the environment."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The Multikey public key (``z6Mk...``); the verification method is ``<did>#<this>``.
    public_multikey: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<SigningKey {self.id} {self.public_multikey[:12]}…>"

    @property
    def is_current(self) -> bool:
        return self.retired_at is None


class Scheme(Bilingual, Model):
    """A certification scheme: what a certificate certifies and what it takes to earn it."""

    __tablename__ = "schemes"
    __table_args__ = (
        sa.CheckConstraint("validity_months IS NULL OR validity_months > 0", name="validity"),
        sa.CheckConstraint("eqf_level IS NULL OR eqf_level BETWEEN 1 AND 8", name="eqf_level"),
        sa.CheckConstraint(
            "renewal_rule IS NULL OR renewal_rule IN ('exam', 'recent_evidence')",
            name="renewal_rule_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    title_en: Mapped[str] = mapped_column(sa.String(200))
    title_bg: Mapped[str] = mapped_column(sa.String(200), default="")
    description_en: Mapped[str] = mapped_column(sa.Text, default="")
    description_bg: Mapped[str] = mapped_column(sa.Text, default="")
    criteria_en: Mapped[str] = mapped_column(sa.Text, default="")
    criteria_bg: Mapped[str] = mapped_column(sa.Text, default="")
    programme_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("programmes.id", ondelete="SET NULL"), index=True
    )
    validity_months: Mapped[int | None]  # None: does not expire
    renewal_rule: Mapped[str | None] = mapped_column(sa.String(20))
    renewal_evidence_months: Mapped[int | None]
    # Fields of the EU micro-credential recommendation (Council Recommendation 2022/C 243/02).
    eqf_level: Mapped[int | None]
    workload_hours: Mapped[int] = mapped_column(default=0)
    assessment_form_en: Mapped[str] = mapped_column(sa.String(500), default="")
    assessment_form_bg: Mapped[str] = mapped_column(sa.String(500), default="")
    participation_form: Mapped[str] = mapped_column(sa.String(20), default="online")
    identity_check: Mapped[str] = mapped_column(sa.String(200), default="")
    quality_assurance_en: Mapped[str] = mapped_column(sa.String(500), default="")
    quality_assurance_bg: Mapped[str] = mapped_column(sa.String(500), default="")
    prerequisites_en: Mapped[str] = mapped_column(sa.String(500), default="")
    prerequisites_bg: Mapped[str] = mapped_column(sa.String(500), default="")
    # Alignments: whitespace-separated ESCO skill URIs and e-CF codes.
    esco_uris: Mapped[str] = mapped_column(sa.Text, default="")
    ecf_codes: Mapped[str] = mapped_column(sa.String(200), default="")
    # Design of the printed certificate, chosen by an admin. The logo and the signatory's
    # handwritten signature (PNG or JPEG, printed above their name) live in the file
    # store (lms.storage) under these keys, written before the row that names them commits.
    design_colour: Mapped[str] = mapped_column(sa.String(7), default="#0b5394")
    design_logo_key: Mapped[str | None] = mapped_column(sa.String(64))
    signature_image_key: Mapped[str | None] = mapped_column(sa.String(64))
    signatory_name: Mapped[str] = mapped_column(sa.String(200), default="")
    signatory_title: Mapped[str] = mapped_column(sa.String(200), default="")
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    programme: Mapped[Programme | None] = relationship()
    requirements: Mapped[list[SchemeRequirement]] = relationship(
        back_populates="scheme", cascade="all, delete-orphan", order_by="SchemeRequirement.id"
    )

    def __repr__(self) -> str:
        return f"<Scheme {self.code}>"

    @property
    def design_logo(self) -> bytes | None:
        """The logo's bytes, read from the file store and checked against its key."""
        return _read_stored(self, self.design_logo_key)

    @design_logo.setter
    def design_logo(self, data: bytes | None) -> None:
        self.design_logo_key = _put_stored(data)

    @property
    def signature_image(self) -> bytes | None:
        """The signature image's bytes, read from the file store and checked against its key."""
        return _read_stored(self, self.signature_image_key)

    @signature_image.setter
    def signature_image(self, data: bytes | None) -> None:
        self.signature_image_key = _put_stored(data)


def _read_stored(owner: Model, key: str | None) -> bytes | None:
    """Read a stored object once per loaded row: issuing a certificate asks several times."""
    from lms.storage import read_bytes, storage

    if key is None:
        return None
    read = vars(owner).setdefault("_stored_bytes", {})
    if key not in read:
        read[key] = read_bytes(storage(), key)
    return read[key]


def _put_stored(data: bytes | None) -> str | None:
    """Write ``data`` to the file store and return its key (None for no data)."""
    from lms.storage import put_bytes, storage

    return put_bytes(storage(), data) if data else None


class SchemeRequirement(Model):
    __tablename__ = "scheme_requirements"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('course', 'competency', 'exam')", name="kind_known"),
        sa.CheckConstraint(
            "(kind = 'course' AND course_id IS NOT NULL)"
            " OR (kind = 'competency' AND competency_id IS NOT NULL AND min_level IS NOT NULL)"
            " OR (kind = 'exam' AND assessment_id IS NOT NULL)",
            name="target_given",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("schemes.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))
    course_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="RESTRICT"), index=True
    )
    # Competencies live in courses.competencies; referenced by id to keep this table simple.
    competency_id: Mapped[int | None] = mapped_column(index=True)
    assessment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="RESTRICT"), index=True
    )
    min_grade: Mapped[Decimal | None] = mapped_column(POINTS)  # course grade or exam %
    min_level: Mapped[int | None]  # rank in the competency's proficiency scale

    scheme: Mapped[Scheme] = relationship(back_populates="requirements")
    course: Mapped[Course | None] = relationship()
    assessment: Mapped[Assessment | None] = relationship()

    def __repr__(self) -> str:
        return f"<SchemeRequirement {self.id} {self.kind}>"


class StatusList(Model):
    """A Bitstring Status List credential published at ``/status-lists/<id>``.

    Lists of purpose ``revocation`` hold one bit per certificate and are the ones new
    certificates go on; their indexes are handed out by the ``allocated`` counter,
    shuffled by a keyed permutation (``index_key``) so an index does not tell the
    order of issue. Lists of purpose ``message`` are the earlier two-bit lists
    (active/suspended/revoked), still published and updated for the certificates
    on them, under the issuer id those certificates name.
    """

    __tablename__ = "status_lists"
    __table_args__ = (
        sa.CheckConstraint("purpose IN ('revocation', 'message')", name="purpose_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(
        sa.String(16), default="revocation", server_default="message"
    )
    bits: Mapped[bytes] = mapped_column(sa.LargeBinary)
    # How many indexes have been handed out, and the key of their permutation.
    allocated: Mapped[int] = mapped_column(default=0, server_default="0")
    index_key: Mapped[str | None] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The signed list credential, re-signed whenever a bit changes and before it lapses.
    credential: Mapped[dict | None] = mapped_column(sa.JSON)
    # The signed credential's validUntil, so lists due for re-signing are found by query.
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<StatusList {self.id}>"


class Certificate(Model):
    """An issued certificate: frozen snapshot, signed credential and the stored PDF."""

    __tablename__ = "certificates"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'revoked', 'expired', 'superseded')",
            name="status_known",
        ),
        sa.CheckConstraint(
            "status <> 'revoked' OR length(revocation_reason) > 0", name="revocation_reasoned"
        ),
        sa.UniqueConstraint("status_list_id", "status_index"),
        # One live certificate per trainee and scheme, enforced by the database.
        sa.Index(
            "uq_certificates_live_user_scheme",
            "user_id",
            "scheme_id",
            unique=True,
            sqlite_where=sa.text("status IN ('active', 'suspended')"),
            postgresql_where=sa.text("status IN ('active', 'suspended')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    scheme_id: Mapped[int] = mapped_column(sa.ForeignKey("schemes.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=CertificateStatus.ACTIVE)
    status_list_id: Mapped[int] = mapped_column(sa.ForeignKey("status_lists.id"), index=True)
    status_index: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    signing_key_id: Mapped[int] = mapped_column(sa.ForeignKey("signing_keys.id"), index=True)
    # The frozen inputs: name as printed, scheme title, grades, competencies, template version.
    snapshot: Mapped[dict] = mapped_column(sa.JSON)
    credential: Mapped[dict] = mapped_column(sa.JSON)
    # The signed PDF lives in the file store (lms.storage) under ``pdf_key``, written
    # before this row commits; ``pdf_sha256`` is checked whenever it is read back.
    pdf_key: Mapped[str] = mapped_column(sa.String(64), index=True)
    pdf_sha256: Mapped[str] = mapped_column(sa.String(64), index=True)

    @property
    def pdf(self) -> bytes:
        """The stored PDF's bytes, read from the file store and checked against its sha256."""
        from lms.storage import read_bytes, storage

        return read_bytes(storage(), self.pdf_key, self.pdf_sha256)

    @pdf.setter
    def pdf(self, data: bytes) -> None:
        """Write ``data`` to the file store first, then point the row at it."""
        from lms.storage import put_bytes, storage

        self.pdf_key = put_bytes(storage(), data)
        self.pdf_sha256 = self.pdf_key

    def open_pdf(self) -> IO[bytes]:
        """A stream of the stored PDF that fails at its end if the bytes were altered."""
        from lms.storage import open_verified, storage

        return open_verified(storage(), self.pdf_key, self.pdf_sha256)

    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    # Revoked because it should never have been issued: the trainee cannot get the
    # scheme again until a certifier clears them, with a reason.
    revoked_in_error: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    reissue_cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reissue_cleared_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    reissue_clearance_reason: Mapped[str] = mapped_column(
        sa.String(500), default="", server_default=""
    )
    superseded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("certificates.id", ondelete="SET NULL"), index=True
    )
    # Set when a grade or evidence behind the certificate changed after issue.
    needs_review: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    batch_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("issuance_batches.id", ondelete="SET NULL"), index=True
    )

    scheme: Mapped[Scheme] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    reissue_cleared_by: Mapped[User | None] = relationship(foreign_keys=[reissue_cleared_by_id])
    signing_key: Mapped[SigningKey] = relationship()
    status_list: Mapped[StatusList] = relationship()
    superseded_by: Mapped[Certificate | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Certificate {self.code} {self.status}>"


class IssuanceBatch(Model):
    """A bulk issuance run over a scheme's eligible trainees; resumable after a crash."""

    __tablename__ = "issuance_batches"
    __table_args__ = (
        sa.CheckConstraint("state IN ('running', 'finished', 'failed')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(sa.ForeignKey("schemes.id"), index=True)
    started_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[str] = mapped_column(sa.String(16), default="running")
    # The trainee ids to consider, fixed when the batch starts, and how far it got.
    user_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    position: Mapped[int] = mapped_column(default=0)
    issued: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    scheme: Mapped[Scheme] = relationship()

    def __repr__(self) -> str:
        return f"<IssuanceBatch {self.id} {self.state} {self.position}/{len(self.user_ids)}>"


class ImpartialityWaiver(Model):
    """An admin's permission for a certifier to certify a trainee whose work they graded."""

    __tablename__ = "impartiality_waivers"
    __table_args__ = (sa.UniqueConstraint("certifier_id", "trainee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    certifier_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    reason: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ImpartialityWaiver {self.certifier_id}->{self.trainee_id}>"

"""A scheme's printed design beyond colour and logo: the signature image and a preview.

The preview is a sample certificate drawn with the scheme's current design and
shown as a PNG, so an admin sees the real page (layout, logo, signature) before
any certificate is issued; the page needs no script.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pypdfium2
from flask import current_app

from certificates import issuer, queries
from certificates import operations as ops
from certificates.models import Scheme
from certificates.pdf import CertificatePDF, CertificateSnapshot, CompetencyLine
from lms import audit
from lms.extensions import db
from lms.models import User

#: Width in pixels of the preview image (the PDF page is 842 points wide).
PREVIEW_WIDTH = 1200
SAMPLE_CODE = "PREV-IEW0-0000-0000-00"


def set_signature(
    scheme: Scheme, image: bytes | None, *, remove: bool = False, actor: User | None
) -> Scheme:
    """Store (or with ``remove``, drop) the signatory's signature image of ``scheme``."""
    if image:
        ops.check_logo(image)  # the same rule as the logo: PNG or JPEG, at most 512 KB
        scheme.signature_image = image
    elif remove:
        scheme.signature_image = None
    else:
        return scheme
    db.session.flush()
    audit.record(
        "scheme.signature",
        scheme,
        actor=actor,
        signature=hashlib.sha256(image).hexdigest() if image else None,
    )
    return scheme


def sample_snapshot(scheme: Scheme, today: dt.date | None = None) -> CertificateSnapshot:
    """A certificate of ``scheme`` for a sample holder, with the scheme's design."""
    today = today or dt.date(2026, 1, 15)
    until = None
    if scheme.validity_months:
        years, months = divmod(today.month - 1 + scheme.validity_months, 12)
        until = today.replace(year=today.year + years, month=months + 1)
    return CertificateSnapshot(
        code=SAMPLE_CODE,
        base_url=issuer.base_url(),
        holder_name="Мария Иванова-Петрова",
        scheme_code=scheme.code,
        scheme_title_bg=scheme.title_bg or scheme.title_en,
        scheme_title_en=scheme.title_en,
        issued_on=today,
        valid_until=until,
        eqf_level=scheme.eqf_level,
        workload_hours=queries.workload_hours(scheme) or None,
        competencies=(
            CompetencyLine("PM.1", "Управление на проекти / Project management", "3"),
            CompetencyLine("PM.2", "Работа със заинтересовани страни / Stakeholders", "3"),
        ),
        centre_name=current_app.config["CENTRE_NAME"],
        signatory_name=scheme.signatory_name,
        signatory_title=scheme.signatory_title,
        primary_colour=scheme.design_colour,
        logo=scheme.design_logo,
        signature=scheme.signature_image,
    )


def preview_png(scheme: Scheme) -> bytes:
    """The sample certificate's page as a PNG image."""
    pdf = CertificatePDF(sample_snapshot(scheme)).render()
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        bitmap = page.render(scale=PREVIEW_WIDTH / page.get_width())
        buffer = io.BytesIO()
        bitmap.to_pil().save(buffer, format="PNG", optimize=True)
    finally:
        document.close()
    return buffer.getvalue()

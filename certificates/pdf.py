"""The certificate PDF: drawn once at issue from a frozen snapshot, with the credential inside."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import re
import warnings
from dataclasses import dataclass, field
from decimal import Decimal

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadWarning
from pypdf.generic import ArrayObject, NameObject, NumberObject, TextStringObject
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from certificates.credentials.checks import N_, Explained, message
from lms.pdf import (
    FONT,
    FONT_BOLD,
    FittedText,
    clean_text,
    colour,
    draw_centred_lines,
    draw_qr,
    fit_text,
    new_canvas,
    text_width,
    truncate,
    visual,
)

logger = logging.getLogger(__name__)

CREDENTIAL_FILENAME = "credential.json"
CREDENTIAL_MEDIA_TYPE = "application/json"
DEFAULT_COLOUR = "#1f4e79"
PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
MARGIN = 36
_TEXT = colors.HexColor("#222222")
_MUTED = colors.HexColor("#555555")


class InvalidPDF(Explained):
    """The bytes are not a readable PDF; the message says why."""


@dataclass(frozen=True)
class CompetencyLine:
    """One competency achieved, as printed: code, title and level label."""

    code: str
    title: str
    level: str


@dataclass(frozen=True)
class CertificateSnapshot:
    """Everything the certificate shows, frozen at issue; no database objects."""

    code: str
    base_url: str
    holder_name: str
    scheme_code: str
    scheme_title_bg: str
    scheme_title_en: str
    issued_on: dt.date
    valid_until: dt.date | None = None
    eqf_level: int | None = None
    workload_hours: int | float | Decimal | None = None
    competencies: tuple[CompetencyLine, ...] = ()
    centre_name: str = "Skills4Cities"
    signatory_name: str = ""
    signatory_title: str = ""
    primary_colour: str = DEFAULT_COLOUR
    logo: bytes | None = field(default=None, repr=False)
    signature: bytes | None = field(default=None, repr=False)

    @property
    def verify_url(self) -> str:
        """Return the public verification URL that the QR code encodes."""
        return f"{self.base_url.rstrip('/')}/verify/{self.code}"


def level_label(rank: int | None, name_bg: str = "", name_en: str = "") -> str:
    """A proficiency level as printed, in both languages: "3 — Напреднал / Proficient"."""
    names = [name for name in (name_bg, name_en) if name]
    if len(names) == 2 and names[0] == names[1]:
        names = names[:1]
    text = "" if rank is None else str(rank)
    return f"{text} — {' / '.join(names)}" if names else text


def level_name_bg(competency, rank: int) -> str:
    """The Bulgarian name of ``rank`` on ``competency``'s framework scale ("" if none)."""
    level = next((lv for lv in competency.framework.levels if lv.rank == rank), None)
    return (level.name_bg or "") if level is not None else ""


def _date(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def _hours(value: int | float | Decimal) -> str:
    return f"{Decimal(str(value)).normalize():f}"


class CertificatePDF:
    """Draw a certificate on one A4 landscape page from a :class:`CertificateSnapshot`.

    The page has a main block (heading, holder, scheme, details, competencies),
    set a little lower when it is short so no empty band opens above the foot,
    and a foot of three columns: dates, signatory (signature image over the
    line) and the verification QR code.
    """

    #: QR mask pattern; None scores all eight and keeps the best (see ``lms.pdf.qr_matrix``).
    qr_mask: int | None = None
    #: The top of the foot: the main block stays above it.
    FOOT_TOP = 196
    #: The most the main block is lowered to balance a short page.
    MAX_DROP = 64

    def __init__(self, snapshot: CertificateSnapshot) -> None:
        self.snapshot = snapshot
        self.colour = colour(snapshot.primary_colour, DEFAULT_COLOUR)

    def render(self) -> bytes:
        """Return the PDF bytes; the same snapshot always gives the same bytes."""
        snapshot = self.snapshot
        buffer = io.BytesIO()
        canvas = new_canvas(
            buffer,
            (PAGE_WIDTH, PAGE_HEIGHT),
            title=f"Certificate {snapshot.code}: {snapshot.scheme_title_en}",
            author=snapshot.centre_name,
            subject=f"{snapshot.holder_name}, {snapshot.scheme_code}",
            created=snapshot.issued_on,
        )
        # Measure the main block on a scratch page, then draw it lowered by half the
        # room it leaves above the foot (at most MAX_DROP), so a short certificate
        # does not leave an empty band in the middle of the page.
        self.canvas = Canvas(io.BytesIO(), pagesize=(PAGE_WIDTH, PAGE_HEIGHT))
        bottom = self._main()
        drop = min(max(0.0, (bottom - self.FOOT_TOP) / 2), self.MAX_DROP)
        self.canvas = canvas
        self._frame()
        self._logo()
        canvas.saveState()
        canvas.translate(0, -drop)
        self._main(floor=self.FOOT_TOP + drop)
        canvas.restoreState()
        self._dates()
        self._signatory()
        self._verification()
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    def _main(self, floor: float | None = None) -> float:
        """Draw the main block; return its bottom y (before any lowering)."""
        bottom = self._heading()
        bottom = self._holder(bottom)
        bottom = self._scheme(bottom)
        return self._competencies(bottom, self.FOOT_TOP if floor is None else floor)

    # Parts of the page, top to bottom --------------------------------------------------

    def _frame(self) -> None:
        canvas = self.canvas
        canvas.setStrokeColor(self.colour)
        canvas.setLineWidth(3)
        canvas.rect(18, 18, PAGE_WIDTH - 36, PAGE_HEIGHT - 36, stroke=1, fill=0)
        canvas.setLineWidth(0.75)
        canvas.rect(25, 25, PAGE_WIDTH - 50, PAGE_HEIGHT - 50, stroke=1, fill=0)

    def _logo(self) -> None:
        self._image(
            self.snapshot.logo,
            "logo",
            left=MARGIN + 12,
            top=PAGE_HEIGHT - MARGIN - 12,
            box=(140, 56),
        )

    def _image(
        self,
        data: bytes | None,
        what: str,
        *,
        top: float,
        box: tuple[float, float],
        left: float | None = None,
        centre: float | None = None,
        bottom: float | None = None,
    ) -> None:
        """Draw a PNG or JPEG scaled into ``box``; a broken image is left out, not fatal."""
        if not data:
            return
        if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")):
            logger.warning("certificate %s: %s is not PNG or JPEG", self.snapshot.code, what)
            return
        try:
            image = ImageReader(io.BytesIO(data))
            width: float
            height: float
            width, height = image.getSize()
            scale = min(box[0] / width, box[1] / height)
            width, height = width * scale, height * scale
            if left is not None:
                x = left
            else:
                assert centre is not None, "an image is placed by its left edge or its centre"
                x = centre - width / 2
            y = bottom if bottom is not None else top - height
            self.canvas.drawImage(image, x, y, width, height, mask="auto")
        except Exception:
            # A broken image must not stop a certificate from being issued.
            logger.warning("certificate %s: %s unreadable, left out", self.snapshot.code, what)

    def _heading(self) -> float:
        canvas = self.canvas
        centre = PAGE_WIDTH / 2
        canvas.setFillColor(_MUTED)
        centre_name = fit_text(
            clean_text(self.snapshot.centre_name), FONT, 380, max_size=11, min_size=7
        )
        draw_centred_lines(canvas, centre_name, FONT, centre, PAGE_HEIGHT - MARGIN - 16)
        canvas.setFillColor(self.colour)
        canvas.setFont(FONT_BOLD, 32)
        canvas.drawCentredString(centre, PAGE_HEIGHT - 112, "СЕРТИФИКАТ")
        canvas.setFont(FONT, 14)
        canvas.drawCentredString(centre, PAGE_HEIGHT - 132, "CERTIFICATE")
        canvas.setFillColor(_TEXT)
        canvas.setFont(FONT, 11)
        canvas.drawCentredString(
            centre,
            PAGE_HEIGHT - 160,
            "С настоящото се удостоверява, че / This is to certify that",  # noqa: RUF001
        )
        return PAGE_HEIGHT - 166

    def _holder(self, top: float) -> float:
        canvas = self.canvas
        name = fit_text(
            clean_text(self.snapshot.holder_name),
            FONT_BOLD,
            PAGE_WIDTH - 2 * MARGIN - 100,
            max_size=32,
            single_line_min=18,
            min_size=10,
            max_lines=4,
        )
        canvas.setFillColor(_TEXT)
        bottom = draw_centred_lines(canvas, name, FONT_BOLD, PAGE_WIDTH / 2, top - 6)
        canvas.setStrokeColor(self.colour)
        canvas.setLineWidth(0.5)
        canvas.line(PAGE_WIDTH / 2 - 220, bottom - 2, PAGE_WIDTH / 2 + 220, bottom - 2)
        return bottom - 4

    def _scheme(self, top: float) -> float:
        canvas = self.canvas
        snapshot = self.snapshot
        centre = PAGE_WIDTH / 2
        width = PAGE_WIDTH - 2 * MARGIN - 100
        canvas.setFillColor(_TEXT)
        canvas.setFont(FONT, 10.5)
        canvas.drawCentredString(
            centre,
            top - 18,
            "изпълни изискванията на схемата за сертифициране / "
            "has met the requirements of the certification scheme",
        )
        canvas.setFillColor(self.colour)
        title_bg = fit_text(
            clean_text(snapshot.scheme_title_bg), FONT_BOLD, width,
            max_size=17, single_line_min=13, min_size=9, max_lines=2,
        )  # fmt: skip
        bottom = draw_centred_lines(canvas, title_bg, FONT_BOLD, centre, top - 26)
        title_en = fit_text(
            clean_text(snapshot.scheme_title_en), FONT, width,
            max_size=13, single_line_min=11, min_size=8, max_lines=2,
        )  # fmt: skip
        bottom = draw_centred_lines(canvas, title_en, FONT, centre, bottom)
        details = [f"Код / Code: {clean_text(snapshot.scheme_code)}"]
        if snapshot.eqf_level is not None:
            details.append(f"Ниво по ЕКР / EQF level: {snapshot.eqf_level}")  # noqa: RUF001
        if snapshot.workload_hours is not None:
            hours = _hours(snapshot.workload_hours)
            details.append(f"Натовареност / Workload: {hours} ч. / {hours} h")
        canvas.setFillColor(_TEXT)
        lines, size = pack_items(details, FONT, width, max_size=9.5, min_size=7, max_lines=2)
        return draw_centred_lines(canvas, FittedText(lines, size), FONT, centre, bottom - 4)

    def _competencies(self, top: float, floor: float) -> float:
        """List the competencies below ``top`` (one or two columns); return the bottom y."""
        canvas = self.canvas
        competencies = self.snapshot.competencies
        if not competencies:
            return top
        top -= 22
        size, leading = 8.5, 11.5
        canvas.setFillColor(self.colour)
        canvas.setFont(FONT_BOLD, 9.5)
        canvas.drawCentredString(
            PAGE_WIDTH / 2, top, "Придобити компетентности / Competencies achieved"
        )
        room = max(1, int((top - 4 - floor) // leading))
        columns = 1 if len(competencies) <= room else 2
        width = 520 if columns == 1 else 330
        gap = 24
        left0 = PAGE_WIDTH / 2 - (width * columns + gap * (columns - 1)) / 2
        capacity = room * columns
        shown = competencies if len(competencies) <= capacity else competencies[: capacity - 1]
        per_column = -(-len(shown) // columns)
        canvas.setFillColor(_TEXT)
        canvas.setFont(FONT, size)
        lowest = top
        for index, item in enumerate(shown):
            column, row = divmod(index, per_column)
            left = left0 + column * (width + gap)
            y = top - 4 - leading * (row + 1)
            lowest = min(lowest, y)
            level = clean_text(item.level)
            level_width = canvas.stringWidth(level, FONT, size)
            text = f"{clean_text(item.code)}  {clean_text(item.title)}"
            canvas.drawString(left, y, visual(truncate(text, FONT, size, width - level_width - 12)))
            canvas.drawRightString(left + width, y, visual(level))
        if len(shown) < len(competencies):
            hidden = len(competencies) - len(shown)
            lowest -= leading
            canvas.setFillColor(_MUTED)
            canvas.drawCentredString(PAGE_WIDTH / 2, lowest, f"+ още {hidden} / +{hidden} more")
        return lowest - size * 0.25

    # The foot: dates, signatory, verification -----------------------------------------

    def _dates(self) -> None:
        snapshot = self.snapshot
        canvas = self.canvas
        centre = MARGIN + 94
        until = _date(snapshot.valid_until) if snapshot.valid_until else "безсрочен / no expiry"
        y = 150
        for label, value in (
            ("Издаден на / Issued on", _date(snapshot.issued_on)),
            ("Валиден до / Valid until", until),
        ):
            canvas.setFillColor(_MUTED)
            canvas.setFont(FONT, 7.5)
            canvas.drawCentredString(centre, y, label)
            canvas.setFillColor(_TEXT)
            canvas.setFont(FONT_BOLD, 10.5)
            canvas.drawCentredString(centre, y - 14, value)
            y -= 40

    def _signatory(self) -> None:
        snapshot = self.snapshot
        if not (snapshot.signatory_name or snapshot.signatory_title or snapshot.signature):
            return
        canvas = self.canvas
        centre, width, line_y = PAGE_WIDTH / 2, 200, 92
        self._image(
            snapshot.signature, "signature", top=line_y + 60, bottom=line_y + 3,
            centre=centre, box=(width, 56),
        )  # fmt: skip
        canvas.setStrokeColor(_MUTED)
        canvas.setLineWidth(0.5)
        canvas.line(centre - width / 2, line_y, centre + width / 2, line_y)
        canvas.setFillColor(_TEXT)
        name = fit_text(
            clean_text(snapshot.signatory_name), FONT_BOLD, width, max_size=10, min_size=7
        )
        bottom = draw_centred_lines(canvas, name, FONT_BOLD, centre, line_y - 4)
        canvas.setFillColor(_MUTED)
        title = fit_text(
            clean_text(snapshot.signatory_title),
            FONT,
            width,
            max_size=8.5,
            min_size=6.5,
            max_lines=2,
        )
        draw_centred_lines(canvas, title, FONT, centre, bottom)

    def _verification(self) -> None:
        canvas = self.canvas
        snapshot = self.snapshot
        size = 104
        centre = PAGE_WIDTH - MARGIN - 94
        x, y = centre - size / 2, 84
        draw_qr(canvas, snapshot.verify_url, x, y, size, mask=self.qr_mask)
        canvas.setFillColor(_MUTED)
        canvas.setFont(FONT, 7)
        canvas.drawCentredString(centre, y - 7, "Код за проверка / Verification code")
        canvas.setFillColor(_TEXT)
        code = fit_text(clean_text(snapshot.code), FONT_BOLD, 170, max_size=10, min_size=6)
        bottom = draw_centred_lines(canvas, code, FONT_BOLD, centre, y - 10)
        url = fit_text(
            clean_text(snapshot.verify_url), FONT, 170, max_size=7, min_size=5, max_lines=2
        )
        canvas.setFillColor(_MUTED)
        draw_centred_lines(canvas, url, FONT, centre, bottom)


def pack_items(
    items: list[str],
    font: str,
    width: float,
    *,
    max_size: float,
    min_size: float,
    max_lines: int,
    separator: str = "   ·   ",
) -> tuple[tuple[str, ...], float]:
    """Set ``items`` on as few lines as fit ``width``, breaking only between items.

    A value never parts from its unit ("120 ч. / 120 h" stays on one line); the
    size shrinks towards ``min_size`` until the items fit on ``max_lines``; an
    item wider than a whole line at the smallest size is cut with an ellipsis.
    """
    size = max_size
    while True:
        lines: list[str] = []
        for item in items:
            if lines and text_width(lines[-1] + separator + item, font, size) <= width:
                lines[-1] += separator + item
            else:
                lines.append(item)
        if len(lines) <= max_lines or size <= min_size:
            return tuple(truncate(line, font, size, width) for line in lines), size
        size = max(min_size, size - 0.5)


# The embedded credential ----------------------------------------------------------------


def _reader(pdf_bytes: bytes) -> PdfReader:
    """Return a reader for ``pdf_bytes`` or raise :class:`InvalidPDF` saying why not."""
    if not isinstance(pdf_bytes, bytes | bytearray) or not pdf_bytes.startswith(b"%PDF-"):
        raise InvalidPDF(message(N_("The file is not a PDF.")))
    if not bytes(pdf_bytes).rstrip(b"\x00\t\n\f\r ").endswith(b"%%EOF"):
        raise InvalidPDF(message(N_("The PDF is incomplete: its end is missing.")))
    try:
        with warnings.catch_warnings():
            # A damaged file warns while pypdf repairs it; the caller is told by InvalidPDF.
            warnings.simplefilter("ignore", PdfReadWarning)
            reader = PdfReader(io.BytesIO(pdf_bytes), strict=False)
            _ = len(reader.pages)
    except Exception as exc:
        # Uploaded bytes can break the parser in any way; all of them mean "unreadable".
        raise InvalidPDF(
            message(N_("The PDF cannot be read: it is damaged.")), f"The PDF cannot be read: {exc}"
        ) from exc
    return reader


def embed_credential(pdf_bytes: bytes, credential_json: bytes) -> bytes:
    """Return ``pdf_bytes`` with ``credential_json`` attached as ``credential.json``.

    The attachment is also listed as the document's associated file (``/AF``,
    relationship ``/Data``, media type ``application/json``) as PDF/A-3 does. It is
    added as an incremental update, so the rendered bytes stay a prefix of the result.
    """
    if not isinstance(pdf_bytes, bytes | bytearray):
        raise InvalidPDF(message(N_("The file is not a PDF.")))
    if not isinstance(credential_json, bytes | bytearray):
        raise TypeError("credential_json must be bytes")
    appended = _append_credential(bytes(pdf_bytes), bytes(credential_json))
    if appended is not None:
        return appended
    return _embed_with_pypdf(pdf_bytes, credential_json)


def _embed_with_pypdf(pdf_bytes: bytes, credential_json: bytes) -> bytes:
    """Attach the credential to any readable PDF with pypdf."""
    reader = _reader(pdf_bytes)
    if CREDENTIAL_FILENAME in reader.attachments:
        raise InvalidPDF(message(N_("The PDF already carries a credential.")))
    writer = PdfWriter(reader, incremental=True)
    attachment = writer.add_attachment(CREDENTIAL_FILENAME, bytes(credential_json))
    attachment.subtype = NameObject("/" + CREDENTIAL_MEDIA_TYPE)
    attachment.size = NumberObject(len(credential_json))
    attachment.description = TextStringObject(_CREDENTIAL_DESCRIPTION)
    attachment.associated_file_relationship = NameObject("/Data")
    filespec = attachment.pdf_object
    filespec[NameObject("/UF")] = TextStringObject(CREDENTIAL_FILENAME)
    writer.root_object[NameObject("/AF")] = ArrayObject([filespec.indirect_reference])
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


_CREDENTIAL_DESCRIPTION = "Open Badges 3.0 verifiable credential"
_TRAILER = re.compile(
    rb"trailer\s*<<(?P<body>.*?)>>\s*startxref\s+(?P<xref>\d+)\s+%%EOF\s*\Z", re.DOTALL
)
_XREF_HEAD = re.compile(rb"xref\s+0\s+(?P<count>\d+)\s*?\n")
_ID = re.compile(rb"/ID\s*\[\s*<(?P<first>[0-9A-Fa-f]+)>")


def _trailer_ref(body: bytes, key: bytes) -> int | None:
    found = re.search(rb"/" + key + rb"\s+(\d+)\s+0\s+R", body)
    return int(found.group(1)) if found else None


def _append_credential(pdf: bytes, credential: bytes) -> bytes | None:
    """Append the attachment by hand to a simple PDF such as ReportLab writes.

    Reading the whole file back with pypdf costs more than drawing the page, so files
    with one classic cross-reference table and a flat catalog without name trees get a
    hand-written incremental update (ISO 32000-1, 7.5.6). Anything else returns None
    and goes through pypdf.
    """
    trailer = _TRAILER.search(pdf, max(0, len(pdf) - 2048))
    if not pdf.startswith(b"%PDF-") or trailer is None:
        return None
    body = trailer["body"]
    size_match = re.search(rb"/Size\s+(\d+)", body)
    root, info = _trailer_ref(body, b"Root"), _trailer_ref(body, b"Info")
    if size_match is None or root is None or re.search(rb"/(Prev|Encrypt|XRefStm)\b", body):
        return None
    size, xref_at = int(size_match[1]), int(trailer["xref"])
    table = _XREF_HEAD.match(pdf, xref_at)
    if table is None or int(table["count"]) != size or not 0 < root < size:
        return None
    entry = pdf[table.end() + 20 * root : table.end() + 20 * root + 20]
    if len(entry) != 20 or entry[17:18] != b"n":
        return None
    catalog_at = int(entry[:10])
    catalog = re.compile(rb"%d 0 obj\s*<<(?P<body>[^<>]*)>>\s*endobj" % root).match(pdf, catalog_at)
    if catalog is None or b"/Catalog" not in catalog["body"]:
        return None
    if b"/Names" in catalog["body"] or b"/AF" in catalog["body"]:
        return None
    stream, filespec, names = size, size + 1, size + 2
    name = b"(" + CREDENTIAL_FILENAME.encode() + b")"
    objects = {
        stream: b"<< /Type /EmbeddedFile /Subtype /%s /Params << /Size %d >> /Length %d >>\n"
        b"stream\n%s\nendstream"
        % (
            CREDENTIAL_MEDIA_TYPE.replace("/", "#2F").encode(),
            len(credential),
            len(credential),
            credential,
        ),
        filespec: b"<< /Type /Filespec /F %s /UF %s /EF << /F %d 0 R >> /Desc (%s)"
        b" /AFRelationship /Data >>" % (name, name, stream, _CREDENTIAL_DESCRIPTION.encode()),
        names: b"<< /EmbeddedFiles << /Names [ %s %d 0 R ] >> >>" % (name, filespec),
        root: b"<<%s/Names %d 0 R /AF [ %d 0 R ] >>" % (catalog["body"], names, filespec),
    }
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \n%d 3\n" % (
        root,
        offsets[root],
        stream,
    )
    out += b"".join(b"%010d 00000 n \n" % offsets[number] for number in (stream, filespec, names))
    first = _ID.search(body)
    # The second identifier changes with each revision (ISO 32000-1, 14.4).
    revision = hashlib.sha256(bytes(out)).hexdigest()[:32].encode()
    ids = b" /ID [ <%s> <%s> ]" % (first["first"], revision) if first else b""
    out += b"trailer\n<< /Size %d /Root %d 0 R%s%s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        size + 3,
        root,
        b" /Info %d 0 R" % info if info is not None else b"",
        ids,
        xref_at,
        xref,
    )
    return bytes(out)


def extract_credential(pdf_bytes: bytes) -> bytes | None:
    """Return the bytes of the embedded ``credential.json``, or None when there is none."""
    reader = _reader(pdf_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PdfReadWarning)
            found = reader.attachments.get(CREDENTIAL_FILENAME)
    except Exception as exc:
        raise InvalidPDF(
            message(N_("The PDF's attachments cannot be read.")),
            f"The PDF's attachments cannot be read: {exc}",
        ) from exc
    if not found:
        return None
    if len(found) > 1:
        raise InvalidPDF(message(N_("The PDF carries more than one credential.")))
    return bytes(found[0])

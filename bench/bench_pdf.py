"""Benchmark the certificate PDF against a bare ReportLab page and a WeasyPrint render.

Run: .venv/bin/python bench/bench_pdf.py [--runs N]
WeasyPrint is a bench-only dependency: pip install -e '.[bench]' (needs Pango).
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import io
import json
import statistics
import time
from collections.abc import Callable

import segno
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfgen.canvas import Canvas

from certificates.pdf import (
    CertificatePDF,
    CertificateSnapshot,
    CompetencyLine,
    embed_credential,
    extract_credential,
)
from lms.pdf import FONT, FONT_BOLD, FONT_DIR, draw_qr, register_fonts

PAGE = landscape(A4)
SNAPSHOT = CertificateSnapshot(
    code="7Q2M-K9XD-4HTR-PZ1A-X8",
    base_url="https://lms.example.org",
    holder_name="Мария Иванова-Петрова",
    scheme_code="SC-PM",
    scheme_title_bg="Мениджър на проекти за умни градове",
    scheme_title_en="Smart City Project Manager",
    issued_on=dt.date(2025, 6, 1),
    valid_until=dt.date(2028, 6, 1),
    eqf_level=6,
    workload_hours=120,
    competencies=tuple(
        CompetencyLine(f"E.{n}", f"Управление на проекти, област {n} / Project area {n}", "3")
        for n in range(1, 9)
    ),
    signatory_name="Елена Димитрова",
    signatory_title="Ръководител на сертифициращия орган / Head of Certification Body",
)
CREDENTIAL = json.dumps(
    {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "id": f"https://lms.example.org/credentials/{SNAPSHOT.code}",
        "issuer": {"id": "https://lms.example.org/issuer", "type": ["Profile"]},
        "validFrom": "2025-06-01T00:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://lms.example.org/achievements/SC-PM",
                "type": ["Achievement"],
                "name": SNAPSHOT.scheme_title_en,
                "description": "x" * 1500,
            },
        },
        "proof": [{"type": "DataIntegrityProof", "proofValue": "z" + "5" * 86}],
    },
    ensure_ascii=False,
).encode()


def lines() -> list[tuple[str, float, str]]:
    """Return the certificate's strings with font and size, as the bare page draws them."""
    s = SNAPSHOT
    out = [
        (FONT, 11, s.centre_name),
        (FONT_BOLD, 32, "СЕРТИФИКАТ"),
        (FONT, 14, "CERTIFICATE"),
        (FONT, 11, "С настоящото се удостоверява, че / This is to certify that"),  # noqa: RUF001
        (FONT_BOLD, 32, s.holder_name),
        (FONT, 10.5, "изпълни изискванията на схемата / has met the requirements of the scheme"),
        (FONT_BOLD, 17, s.scheme_title_bg),
        (FONT, 13, s.scheme_title_en),
        (FONT, 9.5, "Издаден на / Issued: 01.06.2025 · Валиден до / Valid until: 01.06.2028"),
        (FONT_BOLD, 9.5, "Придобити компетентности / Competencies achieved"),
    ]
    out += [(FONT, 8.5, f"{c.code}  {c.title}  {c.level}") for c in s.competencies]
    out += [
        (FONT_BOLD, 10, s.signatory_name),
        (FONT, 8.5, s.signatory_title),
        (FONT_BOLD, 10, s.code),
        (FONT, 7, s.verify_url),
    ]
    return out


def bare_page() -> bytes:
    """Draw the same text with the same embedded font: no layout, QR or attachment."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=PAGE, invariant=True, initialFontName=FONT)
    y = PAGE[1] - 60
    for font, size, text in lines():
        canvas.setFont(font, size)
        canvas.drawCentredString(PAGE[0] / 2, y, text)
        y -= size * 1.2
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def certificate() -> bytes:
    """Render the certificate and embed its credential, as issuance does."""
    return embed_credential(CertificatePDF(SNAPSHOT).render(), CREDENTIAL)


def certificate_html() -> str:
    """Return the same certificate as HTML with an inline SVG QR code."""
    s = SNAPSHOT
    e = html.escape
    qr = segno.make(s.verify_url, error="m", micro=False).svg_inline(scale=3)
    competencies = "".join(
        f"<li><b>{e(c.code)}</b> {e(c.title)}<span>{e(c.level)}</span></li>" for c in s.competencies
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
@font-face {{ font-family: DV; src: url("{(FONT_DIR / "DejaVuSans.ttf").as_uri()}"); }}
@font-face {{ font-family: DV; font-weight: bold;
  src: url("{(FONT_DIR / "DejaVuSans-Bold.ttf").as_uri()}"); }}
@page {{ size: A4 landscape; margin: 18pt; }}
body {{ font-family: DV; color: #222; text-align: center; margin: 0; }}
.frame {{ border: 3pt solid #1f4e79; height: 540pt; padding: 14pt; position: relative; }}
h1 {{ color: #1f4e79; font-size: 32pt; margin: 24pt 0 0; }}
.name {{ font-size: 32pt; font-weight: bold; border-bottom: .5pt solid #1f4e79;
  display: inline-block; }}
.scheme {{ color: #1f4e79; font-size: 17pt; font-weight: bold; }}
.details {{ font-size: 9.5pt; }}
ul {{ position: absolute; left: 30pt; bottom: 30pt; width: 370pt; text-align: left;
  font-size: 8.5pt; list-style: none; padding: 0; }}
li span {{ float: right; }}
.qr {{ position: absolute; right: 40pt; bottom: 40pt; font-size: 7pt; }}
.sign {{ position: absolute; left: 440pt; bottom: 60pt; width: 170pt; font-size: 8.5pt;
  border-top: .5pt solid #555; }}
</style></head><body><div class="frame">
<div>{e(s.centre_name)}</div><h1>СЕРТИФИКАТ</h1><div>CERTIFICATE</div>
<p>С настоящото се удостоверява, че / This is to certify that</p>
<div class="name">{e(s.holder_name)}</div>
<p>изпълни изискванията на схемата за сертифициране /
 has met the requirements of the certification scheme</p>
<div class="scheme">{e(s.scheme_title_bg)}</div><div>{e(s.scheme_title_en)}</div>
<p class="details">Код / Code: {e(s.scheme_code)} · Издаден на / Issued: 01.06.2025 ·
 Валиден до / Valid until: 01.06.2028 · EQF 6 · 120 h</p>
<ul><li><b>Придобити компетентности / Competencies achieved</b></li>{competencies}</ul>
<div class="sign"><b>{e(s.signatory_name)}</b><br>{e(s.signatory_title)}</div>
<div class="qr">{qr}<br>Код за проверка / Verification code<br><b>{e(s.code)}</b>
<br>{e(s.verify_url)}</div></div></body></html>"""  # noqa: RUF001


def weasyprint_render() -> Callable[[], bytes] | None:
    """Return a function rendering the HTML certificate with its credential attached."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        print(f"WeasyPrint unavailable: {exc}")
        return None
    source = certificate_html()

    def render() -> bytes:
        credential = weasyprint.Attachment(
            string=CREDENTIAL, name="credential.json", relationship="Data"
        )
        return weasyprint.HTML(string=source).write_pdf(attachments=[credential])

    return render


def blank_page() -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=PAGE, invariant=True)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def qr_path_page() -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=PAGE, invariant=True)
    draw_qr(canvas, SNAPSHOT.verify_url, 600, 60, 104)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def qr_widget_page() -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=PAGE, invariant=True)
    widget = QrCodeWidget(SNAPSHOT.verify_url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(104, 104, transform=[104 / (x1 - x0), 0, 0, 104 / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, 600, 60)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


class FixedMaskCertificatePDF(CertificatePDF):
    qr_mask = 0


def fixed_mask_certificate() -> bytes:
    return embed_credential(FixedMaskCertificatePDF(SNAPSHOT).render(), CREDENTIAL)


def timed(cases: dict[str, tuple[Callable[[], bytes], int]]) -> dict[str, tuple[float, float]]:
    """Return the best and the median wall time of each case in ms.

    Cases run in turn, round after round, so that other work on a shared machine
    disturbs them all alike; the best run is the figure least disturbed.
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for function, _ in cases.values():
        function()  # warm-up
    for round_ in range(max(count for _, count in cases.values())):
        for name, (function, count) in cases.items():
            if round_ < count:
                start = time.perf_counter()
                function()
                samples[name].append((time.perf_counter() - start) * 1000)
    return {name: (min(values), statistics.median(values)) for name, values in samples.items()}


CERT = "certificate: render + QR + font subset + Cyrillic + credential"
BARE = "bare ReportLab page, same text and font"
BLANK = "blank ReportLab page"
QR_PATH = "page with QR as one path from segno's matrix"
QR_WIDGET = "page with ReportLab's QrCodeWidget"
WEASY = "WeasyPrint HTML certificate"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    start = time.perf_counter()
    register_fonts()
    first = certificate()
    cold = (time.perf_counter() - start) * 1000
    assert extract_credential(first) == CREDENTIAL
    print(f"first certificate in this process, fonts loaded: {cold:.1f} ms")

    cases: dict[str, tuple[Callable[[], bytes], int]] = {
        CERT: (certificate, runs),
        "  of which render only": (lambda: CertificatePDF(SNAPSHOT).render(), runs),
        "  same with a fixed QR mask": (fixed_mask_certificate, runs),
        BARE: (bare_page, runs),
        BLANK: (blank_page, runs),
        QR_PATH: (qr_path_page, runs),
        QR_WIDGET: (qr_widget_page, runs),
    }
    weasy = weasyprint_render()
    if weasy:
        cases[WEASY] = (weasy, max(5, runs // 3))
    results = timed(cases)
    width = max(map(len, results))
    print(f"{'':<{width}}  {'best':>9}  {'median':>9}  runs")
    for name, (best, median) in results.items():
        print(f"{name:<{width}}  {best:6.2f} ms  {median:6.2f} ms  {cases[name][1]}")

    def ratio(a: str, b: str, index: int) -> float:
        return results[a][index] / results[b][index]

    print("ratios (best; median):")
    print(
        f"  certificate / bare page: {ratio(CERT, BARE, 0):.2f}x; {ratio(CERT, BARE, 1):.2f}x"
        " (target within 2x)"
    )
    fixed = "  same with a fixed QR mask"
    print(
        f"  certificate with a fixed QR mask / bare page: {ratio(fixed, BARE, 0):.2f}x;"
        f" {ratio(fixed, BARE, 1):.2f}x"
    )
    if weasy:
        print(
            f"  WeasyPrint / certificate: {ratio(WEASY, CERT, 0):.1f}x;"
            f" {ratio(WEASY, CERT, 1):.1f}x (target at least 20x)"
        )
    qr_path = results[QR_PATH][0] - results[BLANK][0]
    qr_widget = results[QR_WIDGET][0] - results[BLANK][0]
    print(
        f"  QR alone (page minus blank page, best): path {qr_path:.2f} ms,"
        f" widget {qr_widget:.2f} ms, widget / path {qr_widget / qr_path:.1f}x"
    )


if __name__ == "__main__":
    main()

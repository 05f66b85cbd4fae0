"""Each role's day in Chromium, in English and in Bulgarian, judged by axe-core on every page.

The journeys share the demo site and follow one another as the work flows: a new
trainee registers, enrols, studies, takes the quiz and hands in the assignment;
the instructor grades it with the rubric and releases it; the certifier issues a
certificate and the trainee downloads it; an employer verifies it by its code,
by the link in its QR code and by uploading the PDF, one at a time and in bulk;
the certifier revokes it and the employer sees the revocation.

Each role's part is its own test, in that order, in each language; what one leaves
for the next (the trainee's address, the holder's names, the code, the PDF) is kept
in the module's ``journeys`` fixture.
"""

from __future__ import annotations

import email
import io
import re
from pathlib import Path

import pytest

from tests.browser.conftest import PASSWORD, PHONE

pytestmark = pytest.mark.browser

INSTRUCTOR = "anna.koleva@example.org"
CERTIFIER = "petya.angelova@example.org"
EMPLOYER = "hr@sofia-mobility.example.org"
ADMIN = "admin@example.org"
COURSE = "SC-101"
# Who the certifier certifies in each language: the demo's eligible trainee, then the
# holder of the demo's issued certificate (its certificate is revoked in the journey).
HOLDERS = {"en": "elena.nikolova@example.org", "bg": "stefan.marinov@example.org"}
WORDS = {
    "en": {"valid": "Valid", "revoked": "Revoked"},
    "bg": {"valid": "Валиден", "revoked": "Отменен"},
}


def _mail_link(site, address: str) -> str:
    """The link in the newest message the site wrote to ``address``."""
    outbox = Path(site.app.instance_path) / "outbox"
    for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
        message = email.message_from_bytes(path.read_bytes())
        if message["To"] == address:
            body = message.get_content() if hasattr(message, "get_content") else ""
            body = body or message.get_payload(decode=True).decode()
            return re.search(r"https?://\S+", body).group(0)
    raise AssertionError(f"no message to {address}")


def _register(browser, site, address: str, name: str) -> None:
    browser.visit("/")
    browser.choose_language()
    browser.visit("/register")
    browser.page.fill("input[name=name]", name)
    browser.page.fill("input[name=email]", address)
    browser.submit("main form [type=submit]")
    link = _mail_link(site, address)
    browser.visit(link.split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
    browser.page.fill("input[name=password]", PASSWORD)
    browser.page.fill("input[name=confirm]", PASSWORD)
    browser.submit("main form [type=submit]")
    if "/login" in browser.page.url:
        browser.log_in(address, PASSWORD)


def _trainee_journey(browser, site, address: str) -> None:
    """Register, enrol, study a lesson, take the quiz and hand in the assignment."""
    _register(browser, site, address, f"Test {address.split('@')[0]}")
    assert browser.path() == "/dashboard"
    browser.visit(f"/courses/{COURSE}")
    browser.submit("form[action$='/enrol'] button")
    browser.visit("/dashboard")
    browser.page.click(f"main a[href*='/courses/{COURSE}/lessons/']")
    browser.check()
    browser.submit("form[action$='/done'] button")
    # The quiz: answer every question with its first choice or a short text.
    browser.visit(f"/courses/{COURSE}")
    browser.page.click("main a[href*='/quizzes/']")
    browser.check()
    browser.submit("form[action$='/start'] button")
    for group in browser.page.eval_on_selector_all(
        "#attempt-form input[type=radio], #attempt-form input[type=checkbox]",
        "els => [...new Set(els.map(e => e.name))]",
    ):
        browser.page.check(f"#attempt-form input[name='{group}'] >> nth=0")
    for field in browser.page.query_selector_all("#attempt-form input[type=text]"):
        field.fill("42")
    # Submitting asks for confirmation first (accepted by the browser fixture).
    browser.page.focus("button[value=submit]")
    browser.page.keyboard.press("Enter")
    browser.page.wait_for_url("**/review**", timeout=10000)
    browser.check()
    # The assignment: hand in a short text or a file.
    browser.visit(f"/courses/{COURSE}")
    browser.page.click("main a[href*='/assignments/']")
    browser.check()
    if browser.page.query_selector("textarea[name=text]"):
        browser.page.fill("textarea[name=text]", "My project plan for the smart-city pilot.")
    if browser.page.query_selector("input[type=file][name=files]"):
        browser.page.set_input_files(
            "input[type=file][name=files]",
            files=[{"name": "plan.pdf", "mimeType": "application/pdf", "buffer": _pdf()}],
        )
    browser.submit("form[action$='/submit'] button[type=submit]")
    assert browser.page.query_selector(".alert-danger") is None, browser.text()
    browser.visit(f"/courses/{COURSE}/grades")
    browser.visit("/my/certificates")


def _pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "Project plan")
    page.save()
    return buffer.getvalue()


LANGUAGES = ["en", "bg"]


@pytest.fixture(scope="module")
def journeys() -> dict[str, dict]:
    """What one role's journey leaves for the next, per language: the trainee's address,
    the holder's names, the certificate's code and its PDF."""
    return {language: {} for language in LANGUAGES}


def _left_by(state: dict, key: str, journey: str):
    """The ``key`` an earlier journey left; fail this one plainly when it did not get there."""
    if key not in state:
        pytest.fail(f"the {journey} journey did not finish, so this one cannot start")
    return state[key]


@pytest.mark.parametrize("language", LANGUAGES)
def test_trainee_studies_and_hands_in(browse, site, journeys, language):
    trainee_address = f"journey-{language}@example.org"
    trainee = browse(language)
    _trainee_journey(trainee, site, trainee_address)
    journeys[language]["trainee"] = trainee_address


@pytest.mark.parametrize("language", LANGUAGES)
def test_instructor_grades_and_releases(browse, site, journeys, language):
    """The instructor grades the new hand-in with the rubric and releases it."""
    accounts = site.accounts
    trainee_address = _left_by(journeys[language], "trainee", "trainee's")
    instructor = browse(language)
    instructor.log_in(INSTRUCTOR, accounts[INSTRUCTOR]["password"])
    instructor.choose_language()
    assert instructor.path() == "/teaching"
    instructor.visit(f"/courses/{COURSE}/grading")
    instructor.page.click(f"main tr:has-text('Test journey-{language}') a[href*='/submissions/']")
    instructor.check()
    for group in instructor.page.eval_on_selector_all(
        "main form input[type=radio]", "els => [...new Set(els.map(e => e.name))]"
    ):
        instructor.page.check(f"main form input[name='{group}'] >> nth=-1")
    if instructor.page.query_selector("textarea[name=feedback]"):
        instructor.page.fill("textarea[name=feedback]", "Clear and complete.")
    instructor.submit("main form [name=save]")
    instructor.submit("form[action*='/release'] button")
    instructor.visit(f"/courses/{COURSE}/gradebook")

    trainee = browse(language)
    trainee.log_in(trainee_address, PASSWORD)
    trainee.choose_language()
    trainee.visit(f"/courses/{COURSE}/grades")


@pytest.mark.parametrize("language", LANGUAGES)
def test_certifier_issues(browse, site, journeys, language):
    """The certifier issues (or finds) the holder's certificate."""
    accounts = site.accounts
    holder = HOLDERS[language]
    certifier = browse(language)
    certifier.log_in(CERTIFIER, accounts[CERTIFIER]["password"])
    certifier.choose_language()
    assert certifier.path() == "/certification"
    # Pages name people in the reader's language (Latin letters on English pages); the
    # certificate and its register keep the name as the person writes it.
    shown, legal = _holder_names(site, holder, language)
    journeys[language]["names"] = (shown, legal)
    certifier.visit("/certification/schemes/S4C-PM")
    # "Issue…" opens what issuing will do; the certificate is made only on confirming.
    issue = f"main tr:has-text('{shown}') a[href*='/issue/']"
    if certifier.page.query_selector(issue) is not None:
        certifier.submit(issue)
        certifier.submit("main form[action*='/issue/'] button[type=submit]")
    certifier.visit("/certification/register?status=active")
    row = certifier.page.query_selector(f"main tr:has-text('{legal}') a")
    assert row is not None, certifier.text()
    row.click()
    certifier.check()
    journeys[language]["code"] = certifier.path().rsplit("/", 1)[1]


@pytest.mark.parametrize("language", LANGUAGES)
def test_holder_downloads(browse, site, journeys, language):
    """The holder downloads the PDF."""
    accounts = site.accounts
    code = _left_by(journeys[language], "code", "certifier's")
    holder = HOLDERS[language]
    owner = browse(language)
    owner.log_in(holder, accounts[holder]["password"])
    owner.choose_language()
    owner.visit("/my/certificates")
    with owner.page.expect_download() as download:
        owner.page.click(f"main a[href='/certificates/{code}.pdf']")
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    journeys[language]["pdf"] = pdf


@pytest.mark.parametrize("language", LANGUAGES)
def test_employer_verifies(browse, site, journeys, language):
    """The employer verifies it by code, by the QR code's link and by uploading the PDF."""
    accounts = site.accounts
    code = _left_by(journeys[language], "code", "certifier's")
    pdf = _left_by(journeys[language], "pdf", "holder's")
    employer = browse(language)
    employer.log_in(EMPLOYER, accounts[EMPLOYER]["password"])
    employer.choose_language()
    assert employer.path() == "/verify"
    employer.page.fill("input[name=code]", code)
    employer.submit("form[method=get] button[type=submit]")
    assert employer.page.get_attribute("#verdict", "data-status") == "active"
    employer.visit(_qr_link(pdf, site.base))
    assert employer.page.get_attribute("#verdict", "data-status") == "active"
    employer.visit("/verify")
    employer.page.set_input_files(
        "input[type=file][name=file]",
        files=[{"name": f"{code}.pdf", "mimeType": "application/pdf", "buffer": pdf}],
    )
    employer.submit("form[enctype] button[type=submit]")
    assert employer.page.get_attribute("#verdict", "data-status") == "active"
    employer.visit("/verify/bulk")
    employer.page.fill("textarea[name=codes]", code)
    employer.submit("main form button[type=submit]:not([name=download])")
    assert code in employer.text()
    employer.visit("/verify")
    assert code in employer.text()  # among the employer's recent checks
    journeys[language]["verified"] = True


@pytest.mark.parametrize("language", LANGUAGES)
def test_certifier_revokes(browse, site, journeys, language):
    """The certifier revokes it; the employer's next check says so."""
    accounts = site.accounts
    code = _left_by(journeys[language], "code", "certifier's")
    # Revoking waits for the employer's checks of the live certificate.
    _left_by(journeys[language], "verified", "employer's")
    certifier = browse(language)
    certifier.log_in(CERTIFIER, accounts[CERTIFIER]["password"])
    certifier.choose_language()
    certifier.visit(f"/certification/certificates/{code}")
    certifier.submit(f"main a[href$='/certificates/{code}/revoke']")  # asks first
    certifier.page.fill("form[action$='/revoke'] textarea[name=reason]", "Issued in error.")
    certifier.submit("form[action$='/revoke'] button[type=submit]")
    employer = browse(language)
    employer.log_in(EMPLOYER, accounts[EMPLOYER]["password"])
    employer.choose_language()
    employer.visit(f"/verify/{code}")
    assert employer.page.get_attribute("#verdict", "data-status") == "revoked"


@pytest.mark.parametrize("language", LANGUAGES)
def test_admin_overview(browse, site, language):
    """The administrator's overview."""
    accounts = site.accounts
    admin = browse(language)
    admin.log_in(ADMIN, accounts[ADMIN]["password"])
    admin.choose_language()
    assert admin.path() == "/overview"
    admin.visit("/admin/users")


def _holder_names(site, address: str, language: str) -> tuple[str, str]:
    """The holder's name as pages in ``language`` show it, and as the certificate has it."""
    from lms.auth.operations import find_user_by_email

    with site.app.app_context():
        user = find_user_by_email(address)
        shown = user.name_latin if language == "en" and user.name_latin else user.name
        return shown, user.name


def _qr_link(pdf: bytes, base: str) -> str:
    """The path the certificate's QR code links to, decoded from the PDF's first page."""
    import pypdfium2
    import zxingcpp

    document = pypdfium2.PdfDocument(pdf)
    image = document[0].render(scale=3).to_pil()
    document.close()
    texts = [result.text for result in zxingcpp.read_barcodes(image)]
    link = next(text for text in texts if text.startswith(base))
    return link[len(base) :]


def test_a_trainee_on_a_phone(browse, site):
    """The trainee's pages at 390 by 844 px: nothing wider than the screen."""
    phone = browse("bg", viewport=PHONE)
    _trainee_journey(phone, site, "journey-phone@example.org")
    for path in ("/dashboard", f"/courses/{COURSE}", f"/courses/{COURSE}/grades", "/courses"):
        phone.visit(path)
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide"

"""The Bulgarian translation: complete, compiled, chosen by the user and remembered."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale

from courses.models import Course, CourseState
from lms.models import Role
from tests.conftest import sign_in

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "lms" / "translations"
PO = TRANSLATIONS / "bg" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "bg" / "LC_MESSAGES" / "messages.mo"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _catalogue():
    with PO.open("rb") as fh:
        return read_po(fh, locale="bg")


def _messages(catalogue) -> dict:
    """Map each message id to its translation; plural entries use tuples."""
    return {_key(m.id): _key(m.string) for m in catalogue if m.id}


def _key(value):
    return value if isinstance(value, str) else tuple(value)


def test_every_message_is_translated_and_none_is_fuzzy():
    catalogue = _catalogue()
    untranslated = [m.id for m in catalogue if m.id and not all(_strings(m))]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []
    assert len(catalogue) > 100


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string]


def test_every_string_in_the_code_is_in_the_catalogue():
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = {
        message if isinstance(message, str) else message[0]
        for _, _, message, *_ in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS
        )
    }
    known = {key if isinstance(key, str) else key[0] for key in _messages(_catalogue())}
    missing = sorted(found - known)
    assert missing == [], "run pybabel extract/update and translate these"


def test_compiled_catalogue_matches_the_po_file():
    with MO.open("rb") as fh:
        compiled = read_mo(fh)
    assert _messages(compiled) == _messages(_catalogue())


def test_placeholders_survive_translation():
    for message in _catalogue():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        for source, target in zip(ids, _strings(message), strict=False):
            assert _placeholders(source) == _placeholders(target), message.id


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\([a-z_]+\)[sd]", text))


@pytest.fixture
def bulgarian_course(db):
    course = Course(
        code="SC-901",
        title_en="Open data for cities",
        title_bg="Отворени данни за градовете",
        state=CourseState.PUBLISHED,
    )
    db.session.add(course)
    db.session.commit()
    return course


def test_choosing_bulgarian_translates_the_catalogue(client, bulgarian_course):
    english = client.get("/courses").get_data(as_text=True)
    assert "Course catalogue" in english
    assert "Open data for cities" in english

    response = client.post_form("/language", {"language": "bg", "next": "/courses"})
    assert response.status_code == 302

    page = client.get("/courses").get_data(as_text=True)
    assert '<html lang="bg">' in page
    assert "Каталог" in page
    assert "Course catalogue" not in page
    assert "Отворени данни за градовете" in page


def test_browser_language_is_used_until_the_user_chooses(client):
    page = client.get("/courses", headers={"Accept-Language": "bg-BG,bg;q=0.9"})
    assert '<html lang="bg">' in page.get_data(as_text=True)
    client.post_form("/language", {"language": "en"})
    page = client.get("/courses", headers={"Accept-Language": "bg-BG,bg;q=0.9"})
    assert '<html lang="en">' in page.get_data(as_text=True)


def test_unknown_language_is_ignored(client, db):
    client.post_form("/language", {"language": "xx"})
    assert '<html lang="en">' in client.get("/courses").get_data(as_text=True)


def test_choice_is_remembered_on_the_account_across_sessions(app, client, login_as, db):
    user = login_as(Role.TRAINEE)
    client.post_form("/language", {"language": "bg"})
    db.session.refresh(user)
    assert user.locale == "bg"

    other = app.test_client()  # a new browser: no session, English-speaking
    sign_in(other, user)
    page = other.get("/courses", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="bg">' in page
    assert "Каталог" in page


def test_templates_follow_a_forced_language_within_a_request(app):
    """The request keeps its catalogue, yet an e-mail rendered in another language gets it."""
    line = app.jinja_env.from_string(
        "{{ _('Log in') }}|{{ ngettext('%(num)s row', '%(num)s rows', 2) }}"
    )
    with app.test_request_context("/", headers={"Accept-Language": "bg"}):
        bulgarian = line.render()
        with force_locale("en"):
            english = line.render()
        again = line.render()
    messages = _messages(_catalogue())
    rows = messages[("%(num)s row", "%(num)s rows")][1].replace("%(num)s", "2")
    assert bulgarian == again == f"{messages['Log in']}|{rows}"
    assert english == "Log in|2 rows"

"""Language choice and bilingual (English/Bulgarian) model fields."""

from datetime import date as date_type
from datetime import datetime

from babel import dates as babel_dates
from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import get_locale, get_translations, to_user_timezone
from flask_login import current_user


def N_(msgid: str) -> str:  # noqa: N802 - the gettext convention Babel extracts
    """Mark ``msgid`` for translation where it is defined; it is translated where shown.

    For sentences made without a request (verification on the command line, workers)
    that pages later show in the reader's language: code keeps the msgid and its
    parameters and calls ``gettext`` when it renders them.
    """
    return msgid


def select_locale() -> str:
    """Pick the language: the user's saved choice, the session, then the browser."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, workers: messages in the default language
        return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if isinstance(chosen, str) and chosen in languages:
        return chosen
    return request.accept_languages.best_match(list(languages)) or "en"


def _translations():
    """Return the catalogue of the language in force, looked up once per request.

    Flask-Babel finds it anew for every string a template translates; a page has
    dozens. The catalogue is kept beside Babel's own state with the locale it is
    for, so ``force_locale`` (an e-mail in its reader's language) still switches it.
    """
    state = g.get("_flask_babel")
    kept = getattr(state, "lms_translations", None)
    if kept is not None and kept[0] is getattr(state, "babel_locale", None):
        return kept[1]
    translations = get_translations()
    state = g.get("_flask_babel")
    if state is not None:
        state.lms_translations = (getattr(state, "babel_locale", None), translations)
    return translations


def install_translations(app: Flask) -> None:
    """Give templates ``_``/``gettext``/``ngettext`` that use the request's catalogue."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale else "en"


class Bilingual:
    """Mixin for models with ``<field>_en`` / ``<field>_bg`` columns.

    ``obj.tr("title")`` gives the field in the current language, falling back to
    English when the Bulgarian text is empty.
    """

    def tr(self, field: str, language: str | None = None) -> str:
        language = language or current_language()
        if language != "en":
            value = getattr(self, f"{field}_{language}", "") or ""
            if value.strip():
                return value
        return getattr(self, f"{field}_en") or ""


# --- dates: one style per context --------------------------------------------------
#
# Pages show a calendar day as ``|date`` ("7 Dec 2026" in English) and a moment
# something happened or will happen as ``|datetime`` (the date and the time without
# seconds, in the centre's time zone). ISO 8601 is for machine output only (CSV,
# JSON, ``<time datetime>``).


def format_day(value: date_type | datetime | None) -> str:
    """A calendar day in the reader's language; a moment is first put in local time."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_user_timezone(value) if value.tzinfo else value
    return babel_dates.format_date(value, "medium", locale=get_locale())


def format_moment(value: datetime | None) -> str:
    """A moment as the local date and the time of day, without seconds."""
    if value is None:
        return ""
    locale = get_locale()
    if value.tzinfo:
        value = to_user_timezone(value)
    day = babel_dates.format_date(value, "medium", locale=locale)
    time = babel_dates.format_time(value, "short", locale=locale)
    pattern = babel_dates.get_datetime_format("medium", locale=locale)
    return str(pattern).replace("'", "").replace("{0}", time).replace("{1}", day)


def register_filters(app) -> None:
    app.add_template_filter(format_day, "date")
    app.add_template_filter(format_moment, "datetime")

"""Language choice and bilingual (English/Bulgarian) model fields."""

from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user


def select_locale() -> str:
    """Pick the language: the user's saved choice, the session, then the browser."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, workers: messages in the default language
        return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(list(languages)) or "en"


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

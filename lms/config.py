"""Default configuration; the environment (``LMS_*``) and the factory argument override it."""

from datetime import timedelta


class DefaultConfig:
    # Filled in by the factory: SQLite in the instance folder unless LMS_DATABASE_URL is set.
    DATABASE_URL: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}

    BASE_URL = "http://127.0.0.1:5000"
    CENTRE_NAME = "Skills4Cities Training Centre"

    # Cookies: HttpOnly and SameSite=Lax always; Secure is switched on by the
    # factory when BASE_URL is https.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    PERMANENT_SESSION_LIFETIME = timedelta(days=1)

    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead of a wall clock

    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Europe/Sofia"
    LANGUAGES = {"en": "English", "bg": "Български"}

    BOOTSTRAP_SERVE_LOCAL = True  # no CDN: the app works offline

    # Flask-Limiter: memory by default, Redis in production (LMS_RATELIMIT_STORAGE_URI).
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "30 per 15 minutes"

    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 - a method name, not a secret
    PASSWORD_RESET_MAX_AGE = 3600  # seconds
    PASSWORD_SET_MAX_AGE = 7 * 24 * 3600  # seconds: the link in a new account's first e-mail
    MAIL_SERVER: str | None = None  # without it, mail goes to the instance outbox
    MAIL_PORT = 587
    MAIL_USE_TLS = True
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_SENDER = "Skills4Cities LMS <no-reply@localhost>"

    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    ENROLMENT_CSV_MAX_ROWS = 5000
    ENROLMENT_CSV_MAX_BYTES = 1024 * 1024

    # Behind a reverse proxy, how many proxies set X-Forwarded-For/-Proto/-Host
    # (0: none). Rate limits per address need the real client address.
    PROXY_FIX = 0
    PER_PAGE = 20

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

    # Flask-Limiter counters, shared by every worker: Redis in production
    # (LMS_RATELIMIT_STORAGE_URI=redis://…); unset, an SQLite file in the instance
    # folder. memory:// counts per process and is refused unless allowed here.
    RATELIMIT_STORAGE_URI: str | None = None
    RATELIMIT_MEMORY_ALLOWED = False
    RATELIMIT_HEADERS_ENABLED = True
    # Failed log-ins only. A browser that has logged in to the account before (it holds
    # a signed device cookie) is limited on its own, so strangers cannot lock it out;
    # other browsers are limited per account and per address.
    LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "30 per 15 minutes"
    LOGIN_LIMIT_PER_DEVICE = "5 per 15 minutes"
    LOGIN_DEVICE_COOKIE_NAME = "lms_device"
    LOGIN_DEVICE_COOKIE_DURATION = timedelta(days=180)

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

    # "json": one JSON object per log line on standard error (LMS_LOG_FORMAT=json);
    # otherwise Python's default logging setup is left alone.
    LOG_FORMAT = "text"
    LOG_LEVEL = "INFO"
    # Bearer token for /metrics (LMS_METRICS_TOKEN); unset, /metrics answers 404.
    METRICS_TOKEN: str | None = None
    # Background jobs: a Redis URL (LMS_CELERY_BROKER_URL=redis://host:6379/0) sends them
    # to Celery workers ("lms worker", "lms beat"); unset, they run in the web process.
    CELERY_BROKER_URL: str | None = None
    # Stored files (certificate PDFs, assignment uploads, scheme images): "local" keeps them in
    # <instance>/storage (or LMS_STORAGE_PATH); "s3" in LMS_STORAGE_S3_BUCKET of any
    # S3-compatible store (see lms/storage.py for the other LMS_STORAGE_S3_* settings).
    # Credentials come from the environment, never from a file in the repository.
    STORAGE_BACKEND = "local"
    STORAGE_PATH: str | None = None
    STORAGE_S3_BUCKET: str | None = None
    STORAGE_S3_PREFIX = ""
    STORAGE_S3_ENDPOINT_URL: str | None = None
    STORAGE_S3_REGION: str | None = None
    # Seconds an unnamed stored file is kept before cleanup deletes it, so that a file
    # written by a request that has not committed its row yet is left alone.
    STORAGE_ORPHAN_GRACE_SECONDS = 6 * 3600
    CELERY_RESULT_BACKEND: str | None = None  # defaults to the broker
    CELERY_VISIBILITY_TIMEOUT: int | None = None  # seconds before a killed worker's job is redone

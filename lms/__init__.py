"""Skills4Cities LMS: the application core."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url

from lms import ratelimit
from lms.config import DefaultConfig
from lms.files import write_secret_file

logger = logging.getLogger(__name__)

# Flask signs sessions and CSRF tokens with the secret key: a short one can be guessed.
MIN_SECRET_KEY_LENGTH = 32


class ConfigurationError(RuntimeError):
    """The application cannot start safely; the message says what to fix."""


def create_app(config: Mapping | None = None) -> Flask:
    """Build the application: defaults, then ``LMS_*`` variables, then ``config``."""
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get("LMS_INSTANCE_PATH")
    from lms.web import App

    app = App(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
    )
    app.config.from_object(DefaultConfig)
    app.config.from_prefixed_env("LMS")
    if config:
        app.config.from_mapping(config)
    # Private to the owner: it holds the secret key, signing keys, uploads and SQLite data.
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)

    _configure_secret_key(app)
    _configure_database(app)
    ratelimit.configure(app)
    if app.config["BASE_URL"].startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True

    if app.config["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX"])
        # Flask's documented way to wrap its WSGI app, which mypy sees as a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )

    from lms import metrics, requestlog

    requestlog.init_app(app)  # first, so the request id and start time exist for everyone
    metrics.init_app(app)
    _init_extensions(app)
    _register_blueprints(app)
    _connect_signals()

    from lms import cors, headers
    from lms.errors import register_error_handlers

    cors.init_app(app)
    _init_jobs(app)
    register_error_handlers(app)
    headers.init_app(app)

    from lms.cli import register_commands

    register_commands(app)
    return app


def _init_jobs(app: Flask) -> None:
    """Configure Celery, then the packages that declare jobs and react to events."""
    import certificates.bulk
    import courses.tasks  # noqa: F401 - declares the course upkeep jobs
    import notifications
    from lms import jobs

    notifications.init_app(app)
    certificates.bulk.init_app(app)
    jobs.init_app(app)  # last: the beat schedule lists every periodic job declared above


def _configure_secret_key(app: Flask) -> None:
    """Use LMS_SECRET_KEY, or a key generated once into the instance folder; refuse weak ones."""
    if app.config.get("SECRET_KEY") is not None:
        _check_secret_key(app.config["SECRET_KEY"], "LMS_SECRET_KEY")
        return
    key_file = Path(app.instance_path) / "secret_key"
    if not key_file.exists():
        try:
            write_secret_file(key_file, secrets.token_hex(32).encode("ascii"))
            logger.info("generated a new secret key in %s", key_file)
        except FileExistsError:
            pass  # another worker generated it a moment ago: use theirs
        except OSError as error:
            raise ConfigurationError(
                f"Cannot write a new secret key to {key_file}: {error.strerror}. "
                "Free some space (or fix the folder's permissions) and start again, "
                "or set LMS_SECRET_KEY."
            ) from error
    key = key_file.read_text(encoding="utf-8").strip()
    _check_secret_key(key, str(key_file))
    app.config["SECRET_KEY"] = key


def _check_secret_key(key: str, source: str) -> None:
    """Refuse to start with an empty or short secret key (say where it came from)."""
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"The secret key from {source} is {'empty' if not key else 'too short'}: "
            f"it needs at least {MIN_SECRET_KEY_LENGTH} characters. A generated key file "
            "can be deleted to make a new one (everyone is logged out); "
            'a configured one can be made with: python3 -c "import secrets; '
            'print(secrets.token_hex(32))"'
        )


def _configure_database(app: Flask) -> None:
    url = app.config.get("SQLALCHEMY_DATABASE_URI") or app.config.get("DATABASE_URL")
    if not url:
        url = "sqlite:///" + str(Path(app.instance_path) / "lms.sqlite3")
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            _create_private(Path(database))
        options.setdefault("connect_args", {"timeout": 5})
    else:
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _create_private(path: Path) -> None:
    """Create an empty file with mode 0600 unless it exists (SQLite then keeps the mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return
    except OSError as error:  # SQLite will say what is wrong when it opens the file
        logger.warning("could not create %s: %s", path, error.strerror)


def _init_extensions(app: Flask) -> None:
    from lms.extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate
    from lms.i18n import install_translations, register_filters, select_locale

    db.init_app(app)
    from lms import storage

    storage.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent.parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    install_translations(app)
    register_filters(app)
    bootstrap.init_app(app)
    limiter.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    from flask_babel import lazy_gettext

    login_manager.login_message = lazy_gettext("Please log in to see this page.")

    from lms import models  # noqa: F401 - register the core tables
    from lms.auth.sessions import load_user, record_last_seen

    login_manager.user_loader(load_user)
    app.after_request(record_last_seen)

    @app.context_processor
    def template_helpers():
        from flask_login import current_user

        from lms import home
        from lms.i18n import current_language
        from lms.markdown import render_markdown
        from lms.models import Role

        def acting_role():
            return home.acting_role(current_user) if current_user.is_authenticated else None

        return {
            "acting_role": acting_role,
            "held_roles": home.held_roles,
            "learns": home.learns,
            "ROLE_LABELS": home.ROLE_LABELS,
            "current_language": current_language,
            "render_markdown": render_markdown,
            "Role": Role,
            "LANGUAGES": app.config["LANGUAGES"],
        }


def _connect_signals() -> None:
    """Let each domain connect the receivers its invariants need (web, CLI and jobs alike)."""
    import certificates
    import courses

    courses.connect_signals()
    certificates.connect_signals()


def _register_blueprints(app: Flask) -> None:
    """Register the pages, the JSON API, the CLI groups and the demo loaders of every domain."""
    import certificates.api
    import certificates.demo
    import certificates.generate
    import certificates.overview
    import certificates.verify.cli  # adds "lms certificates verify"
    import courses.api
    import courses.demo
    import courses.demo.assignments
    import courses.demo.competencies
    import courses.demo.gradebook
    import courses.demo.quizzes
    import courses.generate
    import courses.overview
    import lms.api
    import lms.generate
    import reports.demo
    from certificates.cli import certificates_group, keys_group
    from certificates.verify.views import bp as verify_bp
    from certificates.views import bp as certificates_bp
    from courses.api.catalogue import bp as catalogue_api_bp
    from courses.assessments.assignments.views import bp as assignments_bp
    from courses.assessments.quizzes.cli import quizzes_group
    from courses.assessments.quizzes.views import bp as quizzes_bp
    from courses.competencies.views import bp as competencies_bp
    from courses.enrolment.views import bp as enrolment_bp
    from courses.gradebook.views import bp as gradebook_bp
    from courses.views import bp as courses_bp
    from lms import home
    from lms.admin.views import bp as admin_bp
    from lms.auth.views import bp as auth_bp
    from lms.cli import register_demo_loader, register_generator
    from lms.views import bp as main_bp
    from reports.views import bp as reports_bp

    for blueprint in (
        main_bp,
        auth_bp,
        admin_bp,
        courses_bp,
        enrolment_bp,
        gradebook_bp,
        assignments_bp,
        competencies_bp,
        quizzes_bp,
        verify_bp,  # public verification
        certificates_bp,  # schemes, decisions, downloads
        reports_bp,  # aggregates for managers and funders
    ):
        app.register_blueprint(blueprint)

    # JSON API under /api/v1: the core first, then each domain's endpoints.
    lms.api.init_app(app)
    lms.api.register_blueprint(app, catalogue_api_bp)
    courses.api.register(app)
    certificates.api.init_app(app)

    # The visitors' landing page and the administrator's overview, from each domain.
    home.register_landing_programmes(app, courses.overview.landing_programmes)
    home.register_overview(app, courses.overview.figures)
    home.register_overview(app, certificates.overview.figures)

    app.cli.add_command(certificates_group)
    app.cli.add_command(keys_group)
    app.cli.add_command(quizzes_group)

    # Demo loaders in order: each builds on what the ones before it created.
    for loader in (
        courses.demo.load,
        courses.demo.quizzes.load,
        courses.demo.assignments.load,
        courses.demo.gradebook.load,  # categorises the quizzes and assignments
        courses.demo.competencies.load,  # maps the assessments the loaders above added
        certificates.demo.load,  # certifies the trainees of every courses loader
        reports.demo.load,  # months of history for the reports
    ):
        register_demo_loader(app, loader)

    # Steps of "lms generate", in order, like the demo loaders.
    for step in (
        lms.generate.generate_users,
        courses.generate.generate_curriculum,
        courses.generate.generate_learning,  # enrolments, work, grades, evidence, completion
        certificates.generate.generate_certification,
    ):
        register_generator(app, step)

"""Skills4Cities LMS: the application core."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from flask import Flask

from lms.config import DefaultConfig

logger = logging.getLogger(__name__)


def create_app(config: Mapping | None = None) -> Flask:
    """Build the application: defaults, then ``LMS_*`` variables, then ``config``."""
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get("LMS_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
    )
    app.config.from_object(DefaultConfig)
    app.config.from_prefixed_env("LMS")
    if config:
        app.config.from_mapping(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    _configure_secret_key(app)
    _configure_database(app)
    if app.config["BASE_URL"].startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True

    if app.config["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    _init_extensions(app)
    _register_blueprints(app)

    from lms.errors import register_error_handlers

    register_error_handlers(app)

    from lms.cli import register_commands

    register_commands(app)
    return app


def _configure_secret_key(app: Flask) -> None:
    """Use LMS_SECRET_KEY, or a key generated once into the instance folder."""
    if app.config.get("SECRET_KEY"):
        return
    key_file = Path(app.instance_path) / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        logger.info("generated a new secret key in %s", key_file)
    app.config["SECRET_KEY"] = key_file.read_text().strip()


def _configure_database(app: Flask) -> None:
    url = app.config.get("SQLALCHEMY_DATABASE_URI") or app.config.get("DATABASE_URL")
    if not url:
        url = "sqlite:///" + str(Path(app.instance_path) / "lms.sqlite3")
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": 5})
    else:
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _init_extensions(app: Flask) -> None:
    from lms.extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate
    from lms.i18n import select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent.parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    bootstrap.init_app(app)
    limiter.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    from flask_babel import lazy_gettext

    login_manager.login_message = lazy_gettext("Please log in to see this page.")

    from lms import models  # noqa: F401 - register the core tables
    from lms.auth.operations import load_user

    login_manager.user_loader(load_user)

    @app.context_processor
    def template_helpers():
        from lms.i18n import current_language
        from lms.markdown import render_markdown
        from lms.models import Role

        return {
            "current_language": current_language,
            "render_markdown": render_markdown,
            "Role": Role,
            "LANGUAGES": app.config["LANGUAGES"],
        }


def _register_blueprints(app: Flask) -> None:
    """Register the pages, the JSON API, the CLI groups and the demo loaders of every domain."""
    import certificates.api
    import certificates.demo
    import certificates.verify.cli  # adds "lms certificates verify"
    import courses.api
    import courses.assessments.assignments.demo
    import courses.assessments.quizzes.demo
    import courses.competencies.demo
    import courses.demo
    import courses.gradebook.demo
    import lms.api
    from certificates.cli import certificates_group, keys_group
    from certificates.verify.views import bp as verify_bp
    from certificates.views import bp as certificates_bp
    from courses.api.catalogue import bp as catalogue_api_bp
    from courses.assessments.assignments.views import bp as assignments_bp
    from courses.assessments.quizzes.views import bp as quizzes_bp
    from courses.competencies.views import bp as competencies_bp
    from courses.enrolment.views import bp as enrolment_bp
    from courses.gradebook.views import bp as gradebook_bp
    from courses.views import bp as courses_bp
    from lms.admin.views import bp as admin_bp
    from lms.auth.views import bp as auth_bp
    from lms.cli import register_demo_loader
    from lms.views import bp as main_bp

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
    ):
        app.register_blueprint(blueprint)

    # JSON API under /api/v1: the core first, then each domain's endpoints.
    lms.api.init_app(app)
    lms.api.register_blueprint(app, catalogue_api_bp)
    courses.api.register(app)
    certificates.api.init_app(app)

    app.cli.add_command(certificates_group)
    app.cli.add_command(keys_group)

    # Demo loaders in order: each builds on what the ones before it created.
    for loader in (
        courses.demo.load,
        courses.assessments.quizzes.demo.load,
        courses.assessments.assignments.demo.load,
        courses.gradebook.demo.load,  # categorises the quizzes and assignments
        courses.competencies.demo.load,  # maps the assessments the loaders above added
        certificates.demo.load,  # certifies the trainees of every courses loader
    ):
        register_demo_loader(app, loader)

"""AAP: appels à projets for French local authorities. The app factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, g, has_request_context, jsonify, render_template, request, session
from flask_login import current_user
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import IntegerConverter

from aap.config import (
    check_production_secrets,
    config_for,
    default_sqlite_url,
    normalise_database_url,
)
from aap.extensions import babel, csrf, db, limiter, login_manager, migrate
from aap.input import CleanRequest, InputRefused, check_api_request
from aap.logs import register_logging
from aap.operations import database_status, readiness, register_proxy, resource_dir

MAX_DB_INT = 2**31 - 1  # the largest id: id columns are PostgreSQL integers (32 bits)

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


class DatabaseIntConverter(IntegerConverter):
    """``<int:...>`` bounded to the database's ids: a larger id is a 404 at once (not an
    overflow, and not a 405 from another route of the same path)."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_DB_INT:
            raise NotFound()
        return number


def create_app(config: str | type | None = None, **overrides) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(resource_dir("templates")),
        static_folder="static",
        instance_relative_config=True,
    )
    app.config.from_object(config if isinstance(config, type) else config_for(config))
    app.config.update(overrides)
    check_production_secrets(app.config)
    register_logging(app)
    register_proxy(app)
    app.url_map.converters["int"] = DatabaseIntConverter
    app.request_class = CleanRequest
    register_database_url(app)
    register_input_layer(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_template_helpers(app)
    register_cli(app)
    return app


def register_database_url(app: Flask) -> None:
    import os

    url = app.config.get("SQLALCHEMY_DATABASE_URI") or os.environ.get("DATABASE_URL")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        url or default_sqlite_url(app.instance_path))
    upload_dir = app.config.get("UPLOAD_DIR") or str(Path(app.instance_path) / "uploads")
    app.config["UPLOAD_DIR"] = upload_dir


def register_input_layer(app: Flask) -> None:
    """Refuse malformed API input before anything reads it (throttling's key included):
    registered before the extensions, so this check runs first."""

    @app.before_request
    def check_input():
        if request.path.startswith("/api/"):
            check_api_request()

    @app.errorhandler(InputRefused)
    def input_refused(exc: InputRefused):
        from aap.api.errors import error_response

        return error_response(exc.status, exc.code, exc.message, exc.fields)


def register_extensions(app: Flask) -> None:
    from aap.database import install_sqlite_hooks

    db.init_app(app)
    with app.app_context():
        install_sqlite_hooks(db.engine)
    migrate.init_app(app, db, directory=str(resource_dir("migrations")))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(resource_dir("translations")))
    login_manager.init_app(app)
    login_manager.login_view = "public.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(identity: str):
        from aap.services.accounts import user_for_session

        return user_for_session(identity)

    from aap.web.session_lifetime import register_session_lifetime

    register_session_lifetime(app)


def select_locale() -> str:
    languages = ("fr", "en")
    if not has_request_context():
        return "fr"  # mails, CLI: French, the language of the authorities using AAP
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and getattr(current_user, "locale", None) in languages:
        return current_user.locale
    return "fr"


def register_blueprints(app: Flask) -> None:
    from aap.api import register_api
    from aap.web import dashboards, exports, register_web

    register_web(app)
    app.register_blueprint(exports.bp)
    app.register_blueprint(dashboards.bp)
    register_api(app)

    @app.get("/favicon.ico")
    def favicon():
        return app.send_static_file("favicon.svg"), 200, {"Content-Type": "image/svg+xml"}

    @app.get("/health")
    def health():
        """Liveness with the database's state (``/health/ready`` adds Redis)."""
        database = database_status()
        status = 200 if database == "ok" else 503
        headers = {} if status == 200 else {"Retry-After": "2"}  # as every other 503
        return jsonify({"status": "ok" if status == 200 else "degraded",
                        "database": database}), status, headers

    @app.get("/health/ready")
    def ready():
        body, status, headers = readiness(app.config)
        return jsonify(body), status, headers


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/health"))


def register_errorhandlers(app: Flask) -> None:
    from flask_babel import gettext
    from flask_wtf.csrf import CSRFError

    from aap import security_log
    from aap.api.errors import error_response, from_http_exception
    from aap.errors import DomainError

    def render_html(status: int, message: str | None, headers: dict | None = None):
        """The friendly error page; ``message`` is a detail shown under the generic text
        of the status (translated when the catalogue knows it)."""
        detail = gettext(message) if message else None
        return render_template("errors/error.html", status=status, message=detail), \
            status, headers or {}

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        security_log.domain_error(exc)
        if _wants_json():
            return error_response(exc.status, exc.code, exc.message, exc.fields)
        return render_html(exc.status, exc.message)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        """A missing or expired CSRF token: a clear 400, never a 500."""
        security_log.security_event(security_log.CSRF_REFUSED, reason=exc.description)
        if _wants_json():
            return error_response(400, "csrf_failed", "Jeton CSRF absent ou invalide.")
        return render_template("errors/error.html", status=400, csrf=True, message=None), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        security_log.http_error(exc)
        if _wants_json():
            return from_http_exception(exc)
        # werkzeug's own descriptions are English boilerplate: keep only the ones set by
        # our code (abort(403, description=...), NotFound("Dossier introuvable."), ...)
        default = getattr(type(exc), "description", None)
        message = exc.description if exc.description != default else None
        if exc.code == 429:
            message = None  # Flask-Limiter's description is the limit ("10 per 15 minutes")
        return render_html(exc.code or 500, message)

    @app.errorhandler(OperationalError)
    def database_busy(exc: OperationalError):
        """A locked or unreachable database is a 503 with Retry-After, never a 500."""
        db.session.rollback()
        log.warning("database unavailable: %s", exc)
        message = "Le service est momentanément occupé : réessayez dans un instant."
        if _wants_json():
            return error_response(503, "unavailable", message, headers={"Retry-After": "2"})
        return render_html(503, None, {"Retry-After": "2"})

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        log.exception("unexpected error")
        db.session.rollback()
        message = "Une erreur inattendue est survenue ; elle a été signalée."
        if _wants_json():
            return error_response(500, "internal_error", message)
        return render_html(500, None)


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


def _personal(req) -> bool:
    """Whether a response is for a signed-in user or a bearer token (no shared cache, no
    browser history may keep it), read from the request alone, without a query."""
    return bool(req.headers.get("Authorization") or session.get("_user_id"))


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint != "static" and _personal(request):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.before_request
    def remember_language():
        if request.args.get("lang") in ("fr", "en"):
            session["lang"] = request.args["lang"]
        g.setdefault("lang", None)


def register_template_helpers(app: Flask) -> None:
    from aap.web.helpers import register_helpers

    register_helpers(app)


def register_cli(app: Flask) -> None:
    from aap.allocation.cli import allocate
    from aap.cli import register_commands

    register_commands(app)
    app.cli.add_command(allocate)

"""Configuration classes, read from the environment (12-factor)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in {"0", "false", "no", "off", ""}


def normalise_database_url(url: str) -> str:
    """Let a plain ``postgresql://`` URL work with the installed psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


DEVELOPMENT_SECRET_KEY = "dev-only-change-me"
MIN_SECRET_KEY_LENGTH = 32


class ConfigurationError(RuntimeError):
    """The configuration is unsafe to serve with: the app refuses to start."""


class Config:
    PRODUCTION = False
    SECRET_KEY = os.environ.get("SECRET_KEY") or DEVELOPMENT_SECRET_KEY
    SQLALCHEMY_DATABASE_URI: str | None = None  # resolved in the factory (instance folder)
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR")
    MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
    # The whole request may carry one file plus the form around it.
    MAX_CONTENT_LENGTH = MAX_UPLOAD_BYTES + 1024 * 1024
    # ASVS 12.1.3: what one application may hold (aap.services.attachments): this many
    # files, and this many bytes in all (default: ten files of the largest size).
    MAX_ATTACHMENTS_PER_APPLICATION = int(
        os.environ.get("MAX_ATTACHMENTS_PER_APPLICATION", "30"))
    MAX_APPLICATION_UPLOAD_BYTES = int(
        os.environ.get("MAX_APPLICATION_UPLOAD_BYTES", str(10 * MAX_UPLOAD_BYTES)))
    SMTP_URL = os.environ.get("SMTP_URL")
    MAIL_FROM = os.environ.get("MAIL_FROM", "AAP <no-reply@aap.localhost>")
    # The address shown by the accessibility statement to report a problem (unset: the
    # statement sends people to their authority's instructors only).
    ACCESSIBILITY_CONTACT = os.environ.get("ACCESSIBILITY_CONTACT") or None
    RATELIMIT_ENABLED = _flag("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    API_TOKEN_TTL = timedelta(days=int(os.environ.get("API_TOKEN_TTL_DAYS", "30")))
    # Data protection (aap.services.privacy, `aap privacy anonymise`, docs/rgpd.md): the
    # personal data of refused, ineligible or withdrawn applications (and of drafts whose
    # call closed) is anonymised this many years after; accounts with no login for this
    # many years, and no application the law keeps, are anonymised.
    PRIVACY_APPLICATION_YEARS = int(os.environ.get("PRIVACY_APPLICATION_YEARS", "5"))
    PRIVACY_DORMANT_ACCOUNT_YEARS = int(os.environ.get("PRIVACY_DORMANT_ACCOUNT_YEARS", "3"))
    PERMANENT_SESSION_LIFETIME = timedelta(hours=int(os.environ.get("SESSION_HOURS", "8")))
    # ASVS 3.3.2: a web session ends this many hours after its login, however active
    # (aap.web.session_lifetime); SESSION_HOURS above is the idle limit.
    SESSION_MAX_HOURS = int(os.environ.get("SESSION_MAX_HOURS", "12"))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE", False)
    # Flask-Login's remember-me cookie: as guarded as the session cookie, and shorter
    # than its one-year default. Logout and a new password invalidate it (session version);
    # its identity carries its signed time of issue, refused by the server after this.
    REMEMBER_COOKIE_DURATION = timedelta(days=int(os.environ.get("REMEMBER_DAYS", "14")))
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE", False)
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    LANGUAGES = ("fr", "en")
    TIMEZONE = "Europe/Paris"
    PAGE_SIZE = 25
    # flask-smorest / OpenAPI
    API_TITLE = "AAP API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = None
    WTF_CSRF_TIME_LIMIT = None
    SHOW_OUTBOX = _flag("SHOW_OUTBOX", False)
    # Operations (aap.logs, aap.operations, docs/deploy.md): JSON logs on stderr at this
    # level; the number of reverse proxies in front whose X-Forwarded-For/-Proto to trust.
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # Background exports (aap.services.jobs). With REDIS_URL, jobs go to an RQ queue run
    # by `aap jobs worker`; without it, a thread of the app process runs them (the demo,
    # single-process use). EXPORT_DIR (default: the instance folder's exports/) must be
    # shared by the app processes and the workers.
    REDIS_URL = os.environ.get("REDIS_URL") or None
    EXPORT_DIR = os.environ.get("EXPORT_DIR")
    EXPORT_QUEUE = os.environ.get("EXPORT_QUEUE", "aap-exports")
    EXPORT_RETENTION_HOURS = int(os.environ.get("EXPORT_RETENTION_HOURS", "48"))
    EXPORT_JOB_TIMEOUT = int(os.environ.get("EXPORT_JOB_TIMEOUT", "3600"))
    EXPORT_THREADS = int(os.environ.get("EXPORT_THREADS", "2"))


class DevelopmentConfig(Config):
    DEBUG = False
    SHOW_OUTBOX = _flag("SHOW_OUTBOX", True)


class ProductionConfig(Config):
    PRODUCTION = True
    SECRET_KEY = os.environ.get("SECRET_KEY")  # no fallback: see check_production_secrets
    SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # ASVS 3.4.4: the __Host- prefix makes browsers refuse the cookie unless it is Secure,
    # for the whole site (Path=/) and of this host only (no Domain): no sibling subdomain
    # can set or shadow it. Only over HTTPS, where Secure cookies are sent.
    SESSION_COOKIE_NAME = "__Host-session" if SESSION_COOKIE_SECURE else "session"
    REMEMBER_COOKIE_NAME = ("__Host-remember_token" if SESSION_COOKIE_SECURE
                            else "remember_token")
    SHOW_OUTBOX = _flag("SHOW_OUTBOX", False)


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    WTF_CSRF_ENABLED = True
    RATELIMIT_ENABLED = False
    SHOW_OUTBOX = True
    REDIS_URL = None  # jobs run in-process unless a test sets its own queue
    # Cheap hashing keeps fixtures fast; production uses scrypt (werkzeug's default).
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"


KNOWN_SECRET_KEYS = {DEVELOPMENT_SECRET_KEY, TestConfig.SECRET_KEY}

CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "test": TestConfig,
}


def check_production_secrets(config) -> None:
    """Refuse to serve production with a guessable secret: anyone who reads the source
    could otherwise sign a session cookie for any user id, the admin's included."""
    if not config.get("PRODUCTION"):
        return
    key = config.get("SECRET_KEY") or ""
    if not key or key in KNOWN_SECRET_KEYS or len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            "SECRET_KEY must be set to a random value of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters when AAP_ENV=production "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))').")
    if config.get("SHOW_OUTBOX"):
        raise ConfigurationError(
            "SHOW_OUTBOX shows every user's mail (reset links included): "
            "it cannot be on when AAP_ENV=production.")


def config_for(name: str | None) -> type[Config]:
    """The configuration named by ``name`` or ``AAP_ENV``; a misspelt name is refused
    rather than silently served with the development settings."""
    chosen = (name or os.environ.get("AAP_ENV") or "development").strip().lower()
    if chosen not in CONFIGS:
        raise ConfigurationError(
            f"AAP_ENV={chosen!r} is unknown: use one of {', '.join(sorted(CONFIGS))}.")
    return CONFIGS[chosen]


def default_sqlite_url(instance_path: str) -> str:
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(instance_path) / 'aap.sqlite3'}"

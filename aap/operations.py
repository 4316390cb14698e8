"""What a deployment needs from the app: its files wherever it is installed, the client's
address behind a reverse proxy, and the readiness probe."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
READY_RETRY_AFTER = "5"


def resource_dir(name: str) -> Path:
    """``templates``, ``migrations`` or ``translations``: top-level folders of the
    checkout, which the wheel carries inside the package (``aap/<name>``)."""
    packaged = PACKAGE / name
    return packaged if packaged.is_dir() else CHECKOUT / name


def register_proxy(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` reverse proxies, take the client's address and scheme
    from their ``X-Forwarded-For``/``-Proto`` headers (login throttling counts per
    address); with none (the default), those headers are ignored, as anyone can forge
    them."""
    count = int(app.config.get("TRUSTED_PROXIES") or 0)
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


def readiness(config) -> tuple[dict[str, str], int, dict[str, str]]:
    """Whether this process can serve: the database answers and, when ``REDIS_URL`` is
    set, Redis too. Returns the body, the status (200 or 503) and the headers."""
    parts = {"database": database_status()}
    if config.get("REDIS_URL"):
        parts["redis"] = _redis_status(config["REDIS_URL"])
    ready = all(value == "ok" for value in parts.values())
    body = {"status": "ready" if ready else "unavailable", **parts}
    return body, 200 if ready else 503, {} if ready else {"Retry-After": READY_RETRY_AFTER}


def database_status() -> str:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from aap.extensions import db

    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return "unavailable"
    return "ok"


def _redis_status(url: str) -> str:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        with Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1) as connection:
            connection.ping()
    except (RedisError, OSError, ValueError):
        return "unavailable"
    return "ok"

"""Liveness (/health, SPEC 7.1) and readiness (/health/ready: the database, and Redis when
REDIS_URL is set), against the real Redis on 127.0.0.1:6379 and a closed port."""

from __future__ import annotations

import socket

import pytest

REDIS = "redis://127.0.0.1:6379/0"


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_liveness_is_spec_7_1(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_ready_without_redis_checks_the_database_only(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "database": "ok"}
    assert "Retry-After" not in response.headers


@pytest.mark.skipif(not _redis_answers(), reason="no Redis on 127.0.0.1:6379")
def test_ready_with_the_real_redis(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS)
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "database": "ok", "redis": "ok"}


def test_not_ready_when_redis_is_down_says_which_part(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{_closed_port()}/0")
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "ok",
                                   "redis": "unavailable"}
    assert int(response.headers["Retry-After"]) > 0
    # liveness is about this process and its database: still 200
    assert client.get("/health").status_code == 200


def test_not_ready_when_the_database_is_down(app, db, tmp_path):
    from aap import create_app

    broken = create_app("test", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/no/such/dir.db",
                        UPLOAD_DIR=str(tmp_path))
    response = broken.test_client().get("/health/ready")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unavailable"}
    assert response.headers["Retry-After"]


def test_a_malformed_redis_url_is_a_503_not_a_500(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "http://not-redis")
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.get_json()["redis"] == "unavailable"


def test_forwarded_for_is_trusted_only_behind_configured_proxies(app, db):
    from aap import create_app

    seen: dict[str, str | None] = {}
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    for proxies in (0, 1):
        own = create_app("test", SQLALCHEMY_DATABASE_URI=uri, UPLOAD_DIR=app.config["UPLOAD_DIR"],
                         TRUSTED_PROXIES=proxies)

        @own.get("/essai-adresse")
        def address():
            from flask import request

            return {"addr": request.remote_addr, "scheme": request.scheme}

        answer = own.test_client().get("/essai-adresse", environ_base={"REMOTE_ADDR": "10.0.0.2"},
                                       headers={"X-Forwarded-For": "203.0.113.7",
                                                "X-Forwarded-Proto": "https"}).get_json()
        seen[proxies] = (answer["addr"], answer["scheme"])
    assert seen == {0: ("10.0.0.2", "http"), 1: ("203.0.113.7", "https")}

"""gunicorn.conf.py serves the app: gunicorn on a free loopback port, a SQLite database
built by the migrations (`aap db upgrade`), /health answered, JSON logs, then a graceful
stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.serving import free_port, stop_server, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STARTUP_SECONDS = 60  # a bound on waiting for the server, not a performance check


def _get(url: str, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


@pytest.fixture
def served(tmp_path):
    if not (BIN / "gunicorn").exists():
        pytest.skip("gunicorn is not installed")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'aap.sqlite3'}",
           "AAP_ENV": "production", "SECRET_KEY": "k" * 48, "UPLOAD_DIR": str(tmp_path),
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1",
           "GUNICORN_THREADS": "2", "LOG_LEVEL": "info"}
    env.pop("REDIS_URL", None)
    subprocess.run([BIN / "aap", "db", "upgrade"], cwd=tmp_path, env=env, check=True,
                   capture_output=True, timeout=120)
    log = (tmp_path / "gunicorn.log").open("w+")
    server = subprocess.Popen(
        [BIN / "gunicorn", "-c", ROOT / "gunicorn.conf.py", "--chdir", ROOT, "wsgi:app"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, server, STARTUP_SECONDS, f"Log: {tmp_path / 'gunicorn.log'}")
        yield base, server, tmp_path / "gunicorn.log"
    finally:
        stop_server(server, grace=30)
        log.close()


def test_gunicorn_serves_health_with_json_logs(served):
    base, server, log_path = served
    status, headers, body = _get(base + "/health", {"X-Request-ID": "probe-1"})
    assert status == 200
    assert json.loads(body) == {"status": "ok", "database": "ok"}
    assert headers["X-Request-ID"] == "probe-1"
    status, headers, _ = _get(base + "/connexion?email=someone%40example.org")
    assert status == 200 and headers["Content-Security-Policy"]
    rid = headers["X-Request-ID"]

    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=30) == 0
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    assert {line["logger"] for line in lines} >= {"gunicorn.error", "aap.request"}
    request_line = next(line for line in lines if line.get("request_id") == rid)
    assert request_line["path"] == "/connexion" and request_line["status"] == 200
    assert "example.org" not in log_path.read_text()

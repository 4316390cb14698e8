"""gunicorn settings for AAP: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Every setting can be changed from the environment (docs/deploy.md). Logs are the app's
JSON lines on stderr; gunicorn's own access log is off (the app logs each request with
its id, path without the query string, status and duration)."""

import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = _int("GUNICORN_WORKERS", 2)
threads = _int("GUNICORN_THREADS", 4)
# A request longer than this is killed (big exports run as background jobs, not here).
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then (memory held by pandas after a big export).
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# The heartbeat file in RAM: a slow or full /tmp disk never makes workers look stuck.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm")
# The reverse proxy's address: gunicorn trusts its X-Forwarded-Proto from there only.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Headers and request line bounded as gunicorn's defaults; uploads are capped by the app.
limit_request_line = 8190
proxy_protocol = False
# gunicorn's control socket (gunicornc) is off unless a path is given: the default one in
# $HOME would be shared by every gunicorn of the user.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or "gunicorn.ctl"
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")

# -- logs: JSON lines on stderr, through the app's formatter and redaction filter --------
accesslog = None
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"json": {"()": "aap.logs.StderrHandler"}},
    "root": {"level": loglevel.upper(), "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["json"],
                           "propagate": False},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
    "formatters": {},
}

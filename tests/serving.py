"""A real server on loopback, for the tests that talk to one (SMTP, gunicorn) and for the
load benchmark: a free port, waiting until ``/health`` answers, and a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(base: str, process: subprocess.Popen, seconds: float = 60,
                       log: str = "") -> None:
    """Return once ``base``/health answers 200; fail if the server exits first or does not
    answer within ``seconds`` (a bound on waiting, not a performance check)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}. {log}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {base}/health in {seconds:.0f} s. {log}")


def stop_server(process: subprocess.Popen, grace: float = 15, group: bool = False) -> None:
    """SIGTERM (gunicorn's graceful stop), SIGKILL after ``grace`` seconds; ``group``
    signals the process group (a server started with ``start_new_session``)."""
    if process.poll() is not None:
        return
    send = (lambda sig: os.killpg(process.pid, sig)) if group else process.send_signal
    send(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait()

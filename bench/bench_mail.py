"""Benchmark of the rendering of one outbox message (subject and body of a mail template):
the first message of a template (compiled) and the next ones (compiled templates reused).
A deliberation of a hundred files, or a reminder to every late juror, renders one message
per recipient.

    .venv/bin/python bench/bench_mail.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aap import create_app  # noqa: E402
from aap.services import notifications  # noqa: E402

TEMPLATE = "mail/declare_eligible.txt"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    app = create_app("test", SQLALCHEMY_DATABASE_URI="sqlite://")
    context = {"audience": "applicant", "user": SimpleNamespace(display_name="Awa Diallo"),
               "application": SimpleNamespace(
                   id=1, reference="AAP-2026-0001", title="Ateliers d'accès aux droits",
                   call=SimpleNamespace(title="Égalité et lutte contre les discriminations"))}
    with app.test_request_context():
        start = time.perf_counter()
        notifications._render(TEMPLATE, **context)
        first = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(args.messages):
            notifications._render(TEMPLATE, **context)
        each = (time.perf_counter() - start) / args.messages
    print(f"first message of a template   {first * 1000:6.2f} ms")
    print(f"each next message             {each * 1000:6.3f} ms   ({args.messages} messages)")


if __name__ == "__main__":
    main()

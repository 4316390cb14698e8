"""Benchmark of the core paths: list pages, application detail, transitions.

    .venv/bin/python bench/bench_core.py [--applications 600] [--database-url URL]

Builds its own data in a throw-away SQLite file (or a fresh schema on the PostgreSQL URL
given), then prints latency percentiles per endpoint and transitions per second. Figures
are measured in-process through the WSGI test client (no network), so they show the
application's own cost.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RATELIMIT_ENABLED", "0")


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return (f"p50 {p(0.50):7.1f} ms   p95 {p(0.95):7.1f} ms   max {ordered[-1] * 1000:7.1f} ms"
            f"   (n={len(ordered)})")


def timed(func, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return samples


def build_app(url: str | None):
    """The app on a fresh SQLite file, or on a schema of its own on PostgreSQL (dropped
    when the benchmark ends)."""
    import atexit

    from flask_migrate import upgrade

    from aap import create_app

    tmp = Path(tempfile.mkdtemp(prefix="aap-bench-"))
    if url and url.startswith("postgres"):
        from aap.config import normalise_database_url
        from tests.conftest import _drop_postgres_schema, _fresh_postgres_schema

        base = normalise_database_url(url)
        schema, url = _fresh_postgres_schema(base)
        atexit.register(_drop_postgres_schema, base, schema)
    app = create_app("test", SQLALCHEMY_DATABASE_URI=url or f"sqlite:///{tmp / 'bench.db'}",
                     UPLOAD_DIR=str(tmp / "uploads"))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applications", type=int, default=600)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    app = build_app(args.database_url)
    with app.app_context():
        from aap.extensions import db
        from tests.factories import PASSWORD, World

        world = World.build()
        world.call.budget_cents = 10**11
        world.call.max_request_cents = None
        db.session.commit()
        start = time.perf_counter()
        drafts = [world.application() for _ in range(args.applications)]
        created = time.perf_counter() - start
        queue = iter(drafts)
        submit = timed(lambda: world.fire(next(queue), "submit"), len(drafts))
        client = app.test_client()
        token = lambda user: {"Authorization": "Bearer " + client.post(  # noqa: E731
            "/api/v1/auth/token", json={"email": user.email, "password": PASSWORD}
        ).get_json()["token"]}
        instructor, applicant = token(world.users["instructor"]), token(world.users["applicant"])
        pages = max(1, args.applications // 25)
        print(f"database: {db.engine.dialect.name}; {args.applications} applications "
              f"created in {created:.1f} s")
        print(f"transition submit             {percentiles(submit)}   "
              f"{len(submit) / sum(submit):.0f}/s")
        for label, headers, url in [
            ("GET /applications (instr.)", instructor, "/api/v1/applications?page={}"),
            ("GET /applications (appl.)", applicant, "/api/v1/applications?page={}"),
            ("GET /applications/{id}", instructor, "/api/v1/applications/{}"),
            ("GET /calls", instructor, "/api/v1/calls?page=1"),
        ]:
            counter = iter(range(10**6))

            by_id = "{id}" in label

            def hit(url=url, headers=headers, counter=counter, by_id=by_id):
                n = next(counter)
                target = url.format(drafts[n % len(drafts)].id if by_id else n % pages + 1)
                response = client.get(target, headers=headers)
                assert response.status_code == 200, response.data[:200]

            print(f"{label:<30}{percentiles(timed(hit, 200))}")


if __name__ == "__main__":
    main()

"""Load test: jurors scoring and applicants submitting, on gunicorn and PostgreSQL.

    .venv/bin/python bench/bench_load.py [--applications 100000] [--duration 60]
        [--jurors 50] [--applicants 20] [--think 1.0] [--workers 2] [--threads 4]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--no-cache] [--keep]

What it does, in order:

1. A fresh PostgreSQL database of its own (``aap_load_<pid>``), at the migrations' head,
   holding ``aap demo --applications N`` (the demo and a big call of N applications).
   Loading 100 000 applications takes minutes, so the loaded database is kept as a
   template (``aap_load_cache_<N>``) and later runs copy it (``CREATE DATABASE …
   TEMPLATE``, seconds): every run still starts from the same fresh data. ``--no-cache``
   loads anew.
2. gunicorn (``wsgi:app``, ``--workers`` processes of ``--threads`` threads, gthread) on
   127.0.0.1 and a free port, ``AAP_ENV=production`` with a random secret. The login
   throttling stays on as in production: it counts failed logins only, and the run's
   logins all succeed.
3. ``--jurors`` jurors of the big call's jury (those with the most reviews left to
   submit) and ``--applicants`` applicant accounts (members of an organisation) get a
   bearer token, then, for ``--duration`` seconds, each user loops with about ``--think``
   seconds (uniform between half and one and a half of it) before each request:
   a juror lists its assignments in review, opens one whose review it has not
   submitted, and submits a score for each criterion (``PUT …/review``); an applicant
   creates a draft on the big call, fills it (``PATCH``) and submits it
   (``POST …/transitions/submit``). All through the API of SPEC 7.1.
4. It prints requests per second, p50/p95/p99 per kind of request and overall, and the
   errors by status; then checks in the database that no acknowledged write was lost:
   every score answered 2xx is a submitted review with the scores sent and the total
   computed here by SPEC 5's rule (weighted sum over the grid's maximum, on the call's
   scale, three places), every submission answered 2xx is a submitted application with
   the fields sent, a reference and its ``submit`` audit event, every draft answered
   2xx exists; and every touched application's state is the ``to`` of its last audit
   event. Exit status 1 when a write was lost or a request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.serving import free_port, stop_server, wait_until_serving  # noqa: E402

PASSWORD = "Demo-AAP-2026"  # the demo's published password (aap.demo.DEMO_PASSWORD)
BIN = Path(sys.executable).parent
LOG = Path("/tmp") / f"aap-load-gunicorn-{os.getpid()}.log"  # the server's JSON log lines


# -- the database -----------------------------------------------------------------------------

def _url(base: str, database: str) -> str:
    head, _, _ = base.rpartition("/")
    return f"{head}/{database}"


def _sa(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _admin(base: str):
    return create_engine(_sa(base), isolation_level="AUTOCOMMIT")


def _exists(admin, name: str) -> bool:
    with admin.connect() as conn:
        return bool(conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                {"n": name}))


def _aap(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "AAP_ENV": "development"}
    subprocess.run([str(BIN / "aap"), *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def fresh_database(base: str, applications: int, cache: bool) -> str:
    """A database of this run's own holding the demo and its big call; its name."""
    admin, name = _admin(base), f"aap_load_{os.getpid()}"
    cached = f"aap_load_cache_{applications}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        if cache and _exists(admin, cached):
            started = time.perf_counter()
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {cached}"))
            print(f"database {name}: a copy of {cached} ({time.perf_counter() - started:.0f} s)")
            admin.dispose()
            _aap(_url(base, name), "db", "upgrade")  # the cache may predate a migration
            return name
        conn.execute(text(f"CREATE DATABASE {name}"))
    started = time.perf_counter()
    _aap(_url(base, name), "db", "upgrade")
    _aap(_url(base, name), "demo", "--applications", str(applications))
    analyze(_url(base, name))  # as autovacuum would soon: the planner needs statistics
    print(f"database {name}: demo and {applications} applications loaded "
          f"({time.perf_counter() - started:.0f} s)")
    if cache:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {cached}"))
            conn.execute(text(f"CREATE DATABASE {cached} TEMPLATE {name}"))
    admin.dispose()
    return name


def analyze(url: str) -> None:
    engine = create_engine(_sa(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def drop_database(base: str, name: str) -> None:
    admin = _admin(base)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


# -- who plays --------------------------------------------------------------------------------

@dataclass
class Criterion:
    key: str
    weight: Decimal
    max_score: Decimal


@dataclass
class BigCall:
    id: int
    scale: Decimal
    criteria: list[Criterion]
    envelopes: list[str]
    owner_line: str
    min_request: int
    max_request: int | None
    max_share: Decimal | None


@dataclass
class Juror:
    id: int
    email: str
    pending: list[int]
    token: str = ""


@dataclass
class Applicant:
    id: int
    email: str
    organisation_id: int
    token: str = ""


def read_cast(url: str, jurors: int, applicants: int
              ) -> tuple[BigCall, list[Juror], list[Applicant]]:
    """The big call (the one with the most applications), the jurors with the most
    reviews left to submit on it, and applicants who are members of an organisation."""
    engine = create_engine(_sa(url))
    with engine.connect() as conn:
        call_id = conn.scalar(text(
            "SELECT call_id FROM application GROUP BY call_id ORDER BY count(*) DESC LIMIT 1"))
        row = conn.execute(text(
            "SELECT c.scale, c.min_request_cents, c.max_request_cents, c.max_share_of_cost, "
            "f.owner_product_line FROM call c JOIN fund f ON f.id = c.fund_id "
            "WHERE c.id = :c"), {"c": call_id}).one()
        criteria = [Criterion(k, Decimal(w), Decimal(m)) for k, w, m in conn.execute(text(
            "SELECT key, weight, max_score FROM criterion WHERE call_id = :c ORDER BY position"),
            {"c": call_id})]
        envelopes = list(conn.scalars(text(
            "SELECT key FROM envelope WHERE call_id = :c ORDER BY id"), {"c": call_id}))
        pending: dict[int, list[int]] = defaultdict(list)
        for juror_id, app_id in conn.execute(text(
                "SELECT r.juror_id, r.application_id FROM review r "
                "JOIN application a ON a.id = r.application_id "
                "WHERE a.call_id = :c AND a.state = 'in_review' AND NOT r.submitted "
                "AND NOT r.conflict ORDER BY r.application_id DESC"), {"c": call_id}):
            pending[juror_id].append(app_id)
        chosen = sorted(pending, key=lambda j: (-len(pending[j]), j))[:jurors]
        emails = dict(conn.execute(text("SELECT id, email FROM user_account WHERE id = ANY(:ids)"),
                                   {"ids": chosen}).all())
        cast = [Juror(j, emails[j], pending[j]) for j in chosen]
        members = conn.execute(text(
            "SELECT DISTINCT ON (u.id) u.id, u.email, m.organisation_id FROM user_account u "
            "JOIN membership m ON m.user_id = u.id "
            "JOIN user_role r ON r.user_id = u.id AND r.role = 'applicant' "
            "WHERE u.active ORDER BY u.id DESC, m.organisation_id LIMIT :n"),
            {"n": applicants}).all()
    engine.dispose()
    call = BigCall(call_id, Decimal(row[0]), criteria, envelopes, row[4], row[1] or 0, row[2],
                   Decimal(row[3]) if row[3] is not None else None)
    if len(cast) < jurors or len(members) < applicants:
        raise SystemExit(f"not enough players: {len(cast)} jurors with reviews to submit, "
                         f"{len(members)} applicants")
    return call, cast, [Applicant(i, e, o) for i, e, o in members]


# -- gunicorn ---------------------------------------------------------------------------------

def start_gunicorn(url: str, port: int, workers: int, threads: int,
                   extra_env: dict | None = None) -> subprocess.Popen:
    """gunicorn on 127.0.0.1:port; the top-level gunicorn.conf.py, if any, is read by
    gunicorn itself, and the options given here override it."""
    env = {**os.environ, "DATABASE_URL": url, "AAP_ENV": "production",
           "SECRET_KEY": secrets.token_urlsafe(48), "SESSION_COOKIE_SECURE": "0",
           **(extra_env or {})}
    log = open(LOG, "ab")  # noqa: SIM115 (the server's, closed with the process)
    return subprocess.Popen(
        [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--worker-class", "gthread", "--threads", str(threads), "wsgi:app"],
        cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log)


# -- the load ---------------------------------------------------------------------------------

@dataclass
class Stats:
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)
    error_kinds: Counter = field(default_factory=Counter)
    scores: dict[tuple[int, int], tuple[dict[str, str], str]] = field(default_factory=dict)
    drafts: dict[int, dict] = field(default_factory=dict)
    submitted: set[int] = field(default_factory=set)


class Player:
    """One user: a client of the shared pool, its think time and the run's deadline."""

    def __init__(self, client: httpx.AsyncClient, stats: Stats, token: str, think: float,
                 deadline: float, rng: random.Random) -> None:
        self.client, self.stats, self.think = client, stats, think
        self.deadline, self.rng = deadline, rng
        self.headers = {"Authorization": f"Bearer {token}"}

    async def pause(self) -> bool:
        """Think, then whether there is still time for a request."""
        await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think)
        return time.monotonic() < self.deadline

    async def request(self, kind: str, method: str, path: str, **kwargs) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await self.client.request(method, path, headers=self.headers, **kwargs)
        except httpx.HTTPError as exc:
            self.stats.errors[type(exc).__name__] += 1
            self.stats.error_kinds[kind] += 1
            return None
        self.stats.samples[kind].append(time.perf_counter() - started)
        if response.status_code >= 400:
            self.stats.errors[str(response.status_code)] += 1
            self.stats.error_kinds[kind] += 1
            return None
        return response


def hand_total(call: BigCall, scores: dict[str, Decimal]) -> Decimal:
    """SPEC 5: the weighted sum of the criterion scores, over the grid's weighted maximum,
    on the call's scale (three decimal places, half up)."""
    top = sum(c.weight * c.max_score for c in call.criteria)
    raw = sum(c.weight * scores[c.key] for c in call.criteria)
    return (raw / top * call.scale).quantize(Decimal("0.001"), ROUND_HALF_UP)


async def juror_loop(player: Player, juror: Juror, call: BigCall) -> None:
    pending = list(juror.pending)
    while pending and await player.pause():
        listing = await player.request(
            "list", "GET", "/api/v1/applications",
            params={"call_id": call.id, "state": "in_review"})
        listed = [item["id"] for item in listing.json()["items"]] if listing else []
        chosen = next((a for a in listed if a in pending), pending[0])
        pending.remove(chosen)
        if not await player.pause():
            return
        if await player.request("open", "GET", f"/api/v1/applications/{chosen}") is None:
            continue
        if not await player.pause():
            return
        scores = {c.key: str(Decimal(player.rng.randint(0, int(c.max_score * 2))) / 2)
                  for c in call.criteria}
        answer = await player.request(
            "score", "PUT", f"/api/v1/applications/{chosen}/review",
            json={"conflict": False, "scores": scores, "comment": "Évaluation de charge.",
                  "submit": True})
        if answer is not None:
            player.stats.scores[(chosen, juror.id)] = (scores, answer.json()["total"])


def draft_body(call: BigCall, applicant: Applicant, rng: random.Random) -> tuple[dict, dict]:
    """The draft's first fields, then the rest of a complete, balanced application."""
    requested = max(call.min_request, 100_000) + rng.randint(0, 400) * 1000
    if call.max_request:
        requested = min(requested, call.max_request)
    share = call.max_share or Decimal(1)
    charges = int((Decimal(requested) / share).to_integral_value()) + 200_000
    first = {"call_id": call.id, "organisation_id": applicant.organisation_id,
             "title": f"Projet de charge {rng.randint(1, 10**9)}"}
    rest = {"summary": "Ateliers contre les discriminations dans les quartiers.",
            "domains": ["emploi"], "grounds": ["origine"], "territories": ["Marseille"],
            "envelope": call.envelopes[0] if call.envelopes else None,
            "beneficiaries": 120, "starts_on": (date.today() + timedelta(days=60)).isoformat(),
            "ends_on": (date.today() + timedelta(days=240)).isoformat(),
            "requested_cents": requested,
            "budget": {"charges": {"60": charges - 150_000, "64": 150_000},
                       "products": {call.owner_line: requested,
                                    "75": charges - requested}}}
    return first, rest


async def applicant_loop(player: Player, applicant: Applicant, call: BigCall) -> None:
    while await player.pause():
        first, rest = draft_body(call, applicant, player.rng)
        created = await player.request("create", "POST", "/api/v1/applications", json=first)
        if created is None:
            continue
        app_id = created.json()["id"]
        player.stats.drafts[app_id] = {**first}
        if not await player.pause():
            return
        if await player.request("fill", "PATCH", f"/api/v1/applications/{app_id}",
                                json=rest) is None:
            continue
        player.stats.drafts[app_id].update(rest)
        if not await player.pause():
            return
        if await player.request("submit", "POST",
                                f"/api/v1/applications/{app_id}/transitions/submit",
                                json={}) is not None:
            player.stats.submitted.add(app_id)


async def login(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post("/api/v1/auth/token",
                                 json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    return response.json()["token"]


async def run_load(base: str, call: BigCall, jurors: list[Juror], applicants: list[Applicant],
                   duration: float, think: float, seed: int) -> tuple[Stats, float]:
    stats = Stats()
    limits = httpx.Limits(max_connections=len(jurors) + len(applicants),
                          max_keepalive_connections=len(jurors) + len(applicants))
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        tokens = await asyncio.gather(*(login(client, p.email) for p in [*jurors, *applicants]))
        for player, token in zip([*jurors, *applicants], tokens, strict=True):
            player.token = token
        rng = random.Random(seed)
        started = time.monotonic()
        deadline = started + duration
        tasks = [juror_loop(Player(client, stats, j.token, think, deadline,
                                   random.Random(rng.random())), j, call) for j in jurors]
        tasks += [applicant_loop(Player(client, stats, a.token, think, deadline,
                                        random.Random(rng.random())), a, call)
                  for a in applicants]
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
    return stats, elapsed


# -- the figures and the check ----------------------------------------------------------------

def quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report(stats: Stats, elapsed: float) -> float:
    """Print the figures; return the overall p95 in ms."""
    everything = sorted(s for samples in stats.samples.values() for s in samples)
    print(f"\n{len(everything)} answered requests in {elapsed:.1f} s: "
          f"{len(everything) / elapsed:.1f} requests/s")
    print(f"{'kind':<8}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    rows = [*sorted(stats.samples.items()), ("overall", everything)]
    for kind, samples in rows:
        ordered = sorted(samples)
        if ordered:
            print(f"{kind:<8}{len(ordered):>6}{quantile(ordered, .5):>9.0f}"
                  f"{quantile(ordered, .95):>9.0f}{quantile(ordered, .99):>9.0f}"
                  f"{ordered[-1] * 1000:>9.0f}")
    failed = sum(stats.errors.values())
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(stats.errors.items())) or "none"
    kinds = ", ".join(f"{k}: {v}" for k, v in sorted(stats.error_kinds.items()))
    print(f"errors: {failed} ({detail}){f' by kind: {kinds}' if kinds else ''}")
    return quantile(everything, .95) if everything else 0.0


def check_writes(url: str, call: BigCall, stats: Stats) -> list[str]:
    """Every acknowledged write, read back from the database: what is wrong (nothing,
    hopefully)."""
    problems: list[str] = []
    engine = create_engine(_sa(url))
    with engine.connect() as conn:
        for (app_id, juror_id), (sent, total) in stats.scores.items():
            row = conn.execute(text(
                "SELECT id, submitted, total FROM review WHERE application_id = :a "
                "AND juror_id = :j"), {"a": app_id, "j": juror_id}).one_or_none()
            expected = hand_total(call, {k: Decimal(v) for k, v in sent.items()})
            if row is None or not row.submitted:
                problems.append(f"score of juror {juror_id} on {app_id}: not submitted")
                continue
            stored = dict(conn.execute(text(
                "SELECT criterion_key, score FROM review_score WHERE review_id = :r"),
                {"r": row.id}).all())
            if {k: Decimal(v) for k, v in stored.items()} != {k: Decimal(v)
                                                               for k, v in sent.items()}:
                problems.append(f"score of juror {juror_id} on {app_id}: scores {stored}")
            if Decimal(row.total) != expected or Decimal(str(total)) != expected:
                problems.append(f"score of juror {juror_id} on {app_id}: total {row.total}, "
                                f"answered {total}, expected {expected}")
        for app_id, sent in stats.drafts.items():
            row = conn.execute(text(
                "SELECT state, title, requested_cents, reference FROM application "
                "WHERE id = :a"), {"a": app_id}).one_or_none()
            if row is None:
                problems.append(f"application {app_id}: lost")
                continue
            if row.title != sent["title"] or row.requested_cents != sent.get(
                    "requested_cents", 0):
                problems.append(f"application {app_id}: fields {tuple(row)}")
            want = "submitted" if app_id in stats.submitted else "draft"
            if row.state != want or (want == "submitted") != (row.reference is not None):
                problems.append(f"application {app_id}: {row.state}, expected {want}")
        touched = sorted({a for a, _ in stats.scores} | set(stats.drafts))
        for app_id, state, last in conn.execute(text(
                "SELECT a.id, a.state, (SELECT e.to_state FROM audit_event e "
                "WHERE e.application_id = a.id AND e.to_state IS NOT NULL "
                "ORDER BY e.at DESC, e.id DESC LIMIT 1) FROM application a "
                "WHERE a.id = ANY(:ids)"), {"ids": touched}):
            if state != (last or "draft"):
                problems.append(f"application {app_id}: state {state}, last audit {last}")
    engine.dispose()
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--jurors", type=int, default=50)
    parser.add_argument("--applicants", type=int, default=20)
    parser.add_argument("--think", type=float, default=1.0, help="mean think time, seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="any database of the PostgreSQL server (the run creates its own)")
    parser.add_argument("--no-cache", dest="cache", action="store_false",
                        help="load the demo anew rather than copy the kept template")
    parser.add_argument("--keep", action="store_true", help="keep the run's database")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f}")
    name = fresh_database(args.database_url, args.applications, args.cache)
    url = _url(args.database_url, name)
    server = None
    try:
        call, jurors, applicants = read_cast(url, args.jurors, args.applicants)
        port = free_port()
        server = start_gunicorn(url, port, args.workers, args.threads)
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, server, 60, f"Server log: {LOG}")
        print(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread) on {base}; "
              f"call {call.id}; {len(jurors)} jurors, {len(applicants)} applicants, "
              f"{args.duration:.0f} s, think ~{args.think} s; server log {LOG}")
        stats, elapsed = asyncio.run(run_load(base, call, jurors, applicants, args.duration,
                                              args.think, args.seed))
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        p95 = report(stats, elapsed)
        stop_server(server, group=True)
        problems = check_writes(url, call, stats)
        print(f"acknowledged writes: {len(stats.scores)} scores, {len(stats.drafts)} drafts, "
              f"{len(stats.submitted)} submissions; lost or wrong: {len(problems)}")
        for problem in problems[:20]:
            print("  " + problem)
        target = "met" if p95 < 300 and not stats.errors and not problems else "NOT met"
        print(f"target p95 < 300 ms, zero errors, zero lost writes: {target}")
        if problems or stats.errors:
            sys.exit(1)
    finally:
        if server is not None:
            stop_server(server, group=True)
        if not args.keep:
            drop_database(args.database_url, name)


if __name__ == "__main__":
    main()

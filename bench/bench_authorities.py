"""Benchmark of an instance of many authorities (issue #11; targets in brackets):

- an authority instructor's application list, through the API (``GET /api/v1/
  applications?page=1``) and the web back-office (``/instruction/``, the list of every
  application it reads, and one call's list) [p95 < 300 ms];
- ``GET /api/v1/authorities/{metropole}/budget?fiscal_year=``, the métropole's figures
  with each of its children's [p95 < 300 ms];
- and, for each, the number of SQL queries per request, beside the same request by the
  staff of a single authority (a commune of the métropole, and Lille, a métropole with no
  child), and by platform-wide staff [the same number whatever the number of authorities].

    .venv/bin/python bench/bench_authorities.py [--applications 100000] [--calls 1000]
        [--children 100] [--requests 60]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]

The instance is synthetic fixture data written in bulk with SQL: the métropole
Aix-Marseille-Provence with ``--children`` children (6 territorial councils and communes;
a few communes under the councils), the Métropole Européenne de Lille beside it, one fund
per authority, ``--calls`` calls of 2026 spread over them, ``--applications``
applications in every state after the draft with their decisions, conventions, payments,
repayments and reports along the states (``bench_exports``' money trail). Requests go
through the Flask test client (no network): the figures are the application's own cost.
On PostgreSQL the data goes to a schema of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import atexit
import os
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RATELIMIT_ENABLED", "0")

from bench.bench_core import build_app  # noqa: E402
from bench.bench_exports import PLACES, _insert, _money_trail, _organisations  # noqa: E402

YEAR = 2026
#: The consolidated dashboard reads every application of the year (the plan's indicators):
#: a few requests show its cost, it has no latency target.
DASHBOARD_REQUESTS = 3
COUNCILS = ["Conseil de territoire Marseille Provence", "Conseil de territoire du Pays d'Aix",
            "Conseil de territoire du Pays d'Aubagne et de l'Étoile",
            "Conseil de territoire Istres Ouest Provence",
            "Conseil de territoire du Pays de Martigues", "Conseil de territoire du Pays Salonais"]


# -- the instance, in bulk ----------------------------------------------------------------------

def build_instance(app, *, children: int, calls: int, applications: int,
                   seed: int = 11) -> dict:
    """The authorities, funds, calls, applications and money trail; the staff to measure
    with. Returns the ids the measures need."""
    from aap.extensions import db

    rnd = random.Random(seed)
    with app.app_context():
        authorities = _authorities(children)
        funds = _funds(authorities)
        call_rows = _calls(funds, calls, applications)
        organisations = _organisations(max(applications // 3, 1))
        apps = _applications(call_rows, organisations, applications, rnd)
        _money_trail(apps, rnd)
        db.session.commit()
        with db.engine.connect() as connection:  # the statistics a live database keeps
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
        staff = _staff(authorities)
        return {"authorities": authorities, "staff": staff, "children": range(children),
                "a_call": {k: next(c["id"] for c in call_rows if c["authority"] == v)
                           for k, v in authorities.items() if k in ("metropole", "commune",
                                                                    "lille")}}


def _authorities(children: int) -> dict[str, int]:
    """The métropole, its children (councils first, then communes; every tenth commune
    under a council) and Lille. Returns the ones the measures name."""
    from sqlalchemy import select

    from aap.extensions import db
    from aap.models import Authority
    from tests.factories import unique_siret

    metropole = Authority(name="Métropole Aix-Marseille-Provence", kind="metropole",
                          siret="20005478100022")
    lille = Authority(name="Métropole Européenne de Lille", kind="metropole",
                      siret="24590041000011")
    db.session.add_all([metropole, lille])
    db.session.flush()
    councils = [Authority(name=name, kind="council", siret=unique_siret(700_000 + i),
                          parent_id=metropole.id)
                for i, name in enumerate(COUNCILS[:min(len(COUNCILS), children)])]
    db.session.add_all(councils)
    db.session.flush()
    communes = children - len(councils)
    _insert(Authority, [
        {"name": f"Commune n°{i + 1}", "kind": "commune", "siret": unique_siret(800_000 + i),
         "parent_id": councils[i % len(councils)].id if councils and i % 10 == 9
         else metropole.id}
        for i in range(communes)])
    commune = db.session.scalar(select(Authority.id).where(Authority.name == "Commune n°1"))
    return {"metropole": metropole.id, "lille": lille.id, "commune": commune}


def _funds(authorities: dict[str, int]) -> list[tuple[int, int]]:
    """One fund per authority: (fund id, authority id)."""
    from sqlalchemy import select

    from aap.extensions import db
    from aap.models import Authority, Fund

    ids = list(db.session.scalars(select(Authority.id).order_by(Authority.id)))
    _insert(Fund, [{"authority_id": a, "name": f"Fonds d'initiative n°{a}",
                    "owner_name": "Attribuant", "owner_siret": "20005478100022",
                    "imputation_chapter": "65", "imputation_nature": "65748",
                    "imputation_function": "552", "imputation_subpolicy": "D110",
                    "owner_product_line": "74_epci"} for a in ids])
    return list(db.session.execute(select(Fund.id, Fund.authority_id).order_by(Fund.id)))


def _calls(funds: list[tuple[int, int]], count: int, applications: int) -> list[dict]:
    """``count`` calls of the year, round-robin over the funds."""
    from sqlalchemy import select

    from aap.extensions import db
    from aap.models import Call
    from aap.timeutil import now

    at = now()
    per_call = max(applications // max(count, 1), 1)
    rows = [{"fund_id": funds[i % len(funds)][0], "title": f"Appel à projets {YEAR} n°{i + 1}",
             "description": "", "fiscal_year": YEAR, "opens_at": at - timedelta(days=90),
             "closes_at": at - timedelta(days=30), "budget_cents": per_call * 3_000_00,
             "scale": 20, "min_reviews": 1, "overflow": "partial"} for i in range(count)]
    _insert(Call, rows)
    authority = dict(funds)
    return [{"id": call_id, "authority": authority[fund_id]} for call_id, fund_id in
            db.session.execute(select(Call.id, Call.fund_id).order_by(Call.id))]


def _applications(calls: list[dict], organisations: list[int], n: int,
                  rnd: random.Random) -> list[dict]:
    """``n`` applications round-robin over the calls, in every state after the draft;
    every call gets the same sequence of states (its pages have the same shape, so that
    their query counts compare across authorities)."""
    from sqlalchemy import select

    from aap.extensions import db
    from aap.models import Application
    from aap.timeutil import now
    from bench.bench_exports import _weights

    weights = _weights()
    states, chances = list(weights), list(weights.values())
    pattern = rnd.choices(states, chances, k=max(-(-n // len(calls)), 1))
    at = now()
    rows = []
    for i in range(n):
        rows.append({
            "reference": f"AAP-{YEAR}-{i + 1:06d}", "call_id": calls[i % len(calls)]["id"],
            "organisation_id": organisations[i % len(organisations)],
            "state": pattern[i // len(calls)],
            "title": f"Ateliers contre les discriminations, action {i}", "summary": "",
            "domains": ["emploi"], "grounds": ["origine"],
            "territories": [rnd.choice(PLACES)], "beneficiaries": rnd.randint(10, 200),
            "requested_cents": rnd.randint(2_000, 40_000) * 100, "submitted_at": at,
            "starts_on": date(YEAR, 9, 1), "ends_on": date(YEAR + 1, 6, 30)})
    _insert(Application, rows)
    ids = dict(db.session.execute(select(Application.reference, Application.id)).all())
    for row in rows:
        row["id"] = ids[row["reference"]]
    return rows


def _staff(authorities: dict[str, int]) -> dict[str, str]:
    """An instructor and a finance officer of each measured authority, and platform-wide
    ones: their e-mail addresses."""
    from aap.extensions import db
    from aap.services import accounts
    from tests.factories import PASSWORD

    out = {}
    for key in ("metropole", "commune", "lille", None):
        for role in ("instructor", "finance"):
            email = f"{role}-{key or 'platform'}@example.org"
            accounts.create_user(email, PASSWORD, [role], role,
                                 authority_id=authorities[key] if key else None)
            out[f"{role}:{key or 'platform'}"] = email
    db.session.commit()
    return out


# -- the measures -------------------------------------------------------------------------------

class Measure:
    """Requests through the test client, timed, with the SQL statements of each counted."""

    def __init__(self, app) -> None:
        from sqlalchemy import event

        from aap.extensions import db

        self.app = app
        self.statements = 0
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", self._count)

    def _count(self, *_args) -> None:
        self.statements += 1

    def run(self, get: Callable[[], object], repeat: int) -> tuple[list[float], int]:
        """The latency of each of ``repeat`` requests, and the queries of the last one."""
        samples, queries = [], 0
        get()  # warm: the first request of a client builds caches of the process
        for _ in range(repeat):
            self.statements = 0
            start = time.perf_counter()
            response = get()
            samples.append(time.perf_counter() - start)
            queries = self.statements
            assert response.status_code == 200, response.get_data(True)[:300]
        return samples, queries


def api_client(app, email: str):
    from tests.factories import PASSWORD

    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}
                        ).get_json()["token"]
    return lambda path: client.get(path, headers={"Authorization": f"Bearer {token}"})


def web_client(app, email: str):
    from tests.web.conftest import login

    client = app.test_client()
    response = login(client, email)
    assert response.status_code == 302, response.get_data(True)[:300]
    return client.get


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95:7.1f} ms"


def measure_all(app, built: dict, repeat: int) -> None:
    staff, authorities, calls = built["staff"], built["authorities"], built["a_call"]
    measure = Measure(app)
    children = len(built["children"])
    who = [(f"métropole ({children} children)", "metropole"),
           ("commune (one authority)", "commune"),
           ("Lille (no child)", "lille"), ("platform-wide", "platform")]
    print(f"{'request':<44}{'as':<28}{'latency':<34}queries")
    for label, key in who:
        instructor = staff[f"instructor:{key}"]
        api, web = api_client(app, instructor), web_client(app, instructor)
        call = calls.get(key, calls["metropole"])
        for name, get in (("API GET /applications?page=1", lambda api=api: api(
                              "/api/v1/applications?page=1")),
                          ("web /instruction/ (every application)", lambda web=web: web(
                              "/instruction/")),
                          ("web /instruction/appels/{id}", lambda web=web, call=call: web(
                              f"/instruction/appels/{call}"))):
            samples, queries = measure.run(get, repeat)
            print(f"{name:<44}{label:<28}{summary(samples):<34}{queries}")
    for label, key in who:
        target = authorities.get(key, authorities["metropole"])
        finance = api_client(app, staff[f"finance:{key}"])
        samples, queries = measure.run(
            lambda finance=finance, target=target: finance(
                f"/api/v1/authorities/{target}/budget?fiscal_year={YEAR}"), repeat)
        whose = {"metropole": "the métropole", "commune": "the commune", "lille": "Lille",
                 "platform": "the métropole"}[key]
        print(f"{f'API budget of {whose}':<44}{label:<28}{summary(samples):<34}{queries}")
    finance = web_client(app, staff["finance:metropole"])
    samples, queries = measure.run(lambda: finance(
        f"/tableaux-de-bord/collectivites/{authorities['metropole']}?exercice={YEAR}"),
        DASHBOARD_REQUESTS)
    print(f"{'web consolidated dashboard (no target)':<44}"
          f"{'métropole finance':<28}{summary(samples):<34}{queries}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=1_000)
    parser.add_argument("--children", type=int, default=100)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    app = build_app(args.database_url)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):  # the throw-away database goes with the benchmark
        atexit.register(shutil.rmtree, Path(url[len("sqlite:///"):]).parent, True)
    start = time.perf_counter()
    built = build_instance(app, children=args.children, calls=args.calls,
                           applications=args.applications)
    label = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(f"{label}: {args.children + 2} authorities (the métropole, {args.children} children, "
          f"Lille), {args.calls} calls, {args.applications} applications built in "
          f"{time.perf_counter() - start:.0f} s; {args.requests} requests per line")
    measure_all(app, built, args.requests)


if __name__ == "__main__":
    main()

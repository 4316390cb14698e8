"""Benchmark of the allocation (issue targets in brackets):

1. the pure engine on 100 000 applications over 6 envelopes [< 1 s of engine time];
2. a simulation through the API on a call of 10 000 reviewed applications [< 3 s];
3. committing that run, every row through the workflow in one transaction [< 60 s on
   PostgreSQL].

    .venv/bin/python bench/bench_allocation.py [--engine 100000] [--applications 10000]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]

The call of parts 2 and 3 is synthetic fixture data written in bulk with SQL (reviewed
applications with two jurors' totals each): building 10 000 applications through every
transition would take longer than what is measured. The commit itself goes through the
workflow engine like any other.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_core import build_app  # noqa: E402

ENVELOPES = ("aix", "aubagne", "istres", "marseille", "martigues", "salon")


def engine_candidates(n: int, rnd: random.Random):
    from aap.allocation import Candidate

    return [Candidate(application_id=i, reference=f"AAP-2026-{i:06d}",
                      score=Decimal(rnd.randint(0, 20000)) / 1000,
                      requested_cents=rnd.randint(2, 60) * 500_00,
                      organisation_id=rnd.randint(1, n // 3 + 1),
                      project_cost_cents=rnd.randint(60, 200) * 500_00,
                      envelope=rnd.choice(ENVELOPES)) for i in range(1, n + 1)]


def bench_engine(n: int) -> None:
    """The target's case (6 envelopes, partial overflow), then every option at once."""
    from aap.allocation import Envelope, Parameters

    candidates = engine_candidates(n, random.Random(2026))
    budget = sum(c.requested_cents for c in candidates) // 3
    envelopes = tuple(Envelope(k, k.title(), budget // 6) for k in ENVELOPES)
    plain = Parameters(budget_cents=budget, seed="Loto 7 12 25 33 41", envelopes=envelopes,
                       min_total=Decimal(8), overflow="partial")
    time_engine(candidates, plain, "6 envelopes")
    every = dataclasses.replace(plain, pool_leftovers=True, cap_per_organisation_cents=50_000_00,
                                grey_zone=Decimal("0.2"))
    time_engine(candidates, every, "6 envelopes, pool, caps, grey zone")


def time_engine(candidates, params, label: str) -> None:
    from aap.allocation import allocate

    samples, cpu = [], []
    for _ in range(5):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = allocate(candidates, params)
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    funded = sum(1 for r in result.rows if r.proposed_cents)
    print(f"engine: {len(candidates)} applications, {label}: "
          f"wall median {statistics.median(samples):.3f} s, best {min(samples):.3f} s; "
          f"CPU median {statistics.median(cpu):.3f} s, best {min(cpu):.3f} s "
          f"({funded} funded, {result.total_proposed_cents / 100:,.0f} EUR of "
          f"{params.budget_cents / 100:,.0f})")


def build_call(app, n: int):
    """A call with ``n`` reviewed applications, two submitted reviews each (bulk SQL)."""
    from sqlalchemy import insert

    from aap.extensions import db
    from aap.models import Application, BudgetLine, Envelope, Review
    from aap.timeutil import now
    from tests import factories

    rnd = random.Random(7)
    with app.app_context():
        fund = factories.make_fund()
        call = factories.make_call(fund, budget_cents=n * 1_500_00, max_request_cents=None,
                                   opens_at=now() - timedelta(days=90),
                                   closes_at=now() - timedelta(days=30),
                                   envelopes=[(k, k.title(), n * 250_00) for k in ENVELOPES])
        instructor = factories.make_user(["instructor"])
        jurors = [factories.make_user(["juror"]) for _ in range(2)]
        envelopes = {e.key: e.id for e in db.session.scalars(
            db.select(Envelope).where(Envelope.call_id == call.id))}
        orgs = [factories.make_organisation(name=f"Association {i}").id for i in range(50)]
        at = now()
        rows = [{"reference": f"AAP-2026-{i:05d}", "call_id": call.id,
                 "organisation_id": orgs[i % len(orgs)], "state": "reviewed",
                 "title": f"Projet {i}", "requested_cents": rnd.randint(2, 10) * 500_00,
                 "envelope_id": envelopes[ENVELOPES[i % 6]], "submitted_at": at,
                 "domains": ["emploi"], "grounds": ["origine"], "territories": []}
                for i in range(n)]
        db.session.execute(insert(Application), rows)
        ids = list(db.session.scalars(db.select(Application.id).where(
            Application.call_id == call.id)))
        db.session.execute(insert(BudgetLine), [
            {"application_id": i, "side": side, "code": code, "amount_cents": 20_000_00}
            for i in ids for side, code in (("charges", "64"), ("products", "74_epci"))])
        db.session.execute(insert(Review), [
            {"application_id": i, "juror_id": j.id, "submitted": True, "submitted_at": at,
             "total": Decimal(rnd.randint(5000, 20000)) / 1000, "comment": ""}
            for i in ids for j in jurors])
        db.session.commit()
        return call.id, instructor.email


def bench_database(app, n: int, label: str) -> None:
    from tests.api.helpers import ApiClient

    call_id, email = build_call(app, n)
    client = ApiClient(app.test_client())
    samples = []
    for _ in range(3):
        start = time.perf_counter()
        response = client.post(f"/calls/{call_id}/allocations", as_=email,
                               json={"seed": "Loto 7 12 25 33 41"})
        samples.append(time.perf_counter() - start)
        assert response.status_code == 201, response.get_data(True)[:500]
    run = response.get_json()
    print(f"{label}: simulation through the API, {n} reviewed applications: "
          f"median {statistics.median(samples):.2f} s, best {min(samples):.2f} s "
          f"({len(run['rows'])} rows)")
    start = time.perf_counter()
    response = client.post(f"/allocations/{run['id']}/commit", as_=email)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.get_data(True)[:500]
    print(f"{label}: commit of that run ({n} transitions, one transaction): {elapsed:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", type=int, default=100_000)
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--database-url")
    parser.add_argument("--skip-engine", action="store_true")
    args = parser.parse_args()
    if not args.skip_engine:
        bench_engine(args.engine)
    if args.applications:
        app = build_app(args.database_url)
        label = "postgresql" if args.database_url else "sqlite"
        bench_database(app, args.applications, label)


if __name__ == "__main__":
    main()

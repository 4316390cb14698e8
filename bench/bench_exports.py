"""Benchmark of the exports of a fiscal year (issue targets in brackets):

- the balance-sheet workbook of a year of 100 000 applications [< 20 s, peak RSS < 1 GB,
  within 3× of the floor];
- the floor: xlsxwriter in ``constant_memory`` mode writing the same number of cells
  (sheet by sheet: as many rows, cells and strings), with no formats, no query, no chart;
- the SCDL subventions CSV of that year [< 5 s].

Each measure runs ``--repeat`` times (best wall time kept): on a shared machine the ratio
of two best times is steadier than either time. The CPU time of the process is printed
too: on a loaded machine it is closer to what the export costs alone (on SQLite the
queries run in the process and count; PostgreSQL's own work does not).

    .venv/bin/python bench/bench_exports.py [--applications 100000]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]

The year is synthetic fixture data written in bulk with SQL (three calls, six envelopes;
applications in every state after the draft, reviews, grants, conventions, payments,
repayments and final reports): building it through every transition would take longer
than what is measured. Each export is measured in a child process of its own (a fresh
interpreter), so that its peak RSS (``ru_maxrss``) is the export's and not the
builder's; the wall time is the export's alone (from the call to the closed file).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RATELIMIT_ENABLED", "0")

from bench.bench_core import build_app  # noqa: E402

YEAR = 2026
PLACES = ["Marseille", "Aix-en-Provence", "Aubagne", "Istres", "Martigues", "Marignane",
          "Miramas", "Pertuis", "Vitrolles", "Salon-de-Provence", "La Ciotat",
          "Marseille — QPV Frais Vallon", "Marseille — QPV La Castellane",
          "Marseille — QPV Les Flamants", "Aix-en-Provence — QPV Encagnane",
          "Vitrolles — QPV Les Pins", "Istres — QPV Prépaou"]
ENVELOPES = [("marseille", "Marseille Provence"), ("aix", "Pays d'Aix"),
             ("aubagne", "Pays d'Aubagne et de l'Étoile"), ("istres", "Istres Ouest Provence"),
             ("martigues", "Pays de Martigues"), ("salon", "Pays Salonais")]


# -- the year, in bulk ---------------------------------------------------------------------

def _weights() -> dict[str, int]:
    """How the applications spread over the states (every state after the draft): most
    were decided, and the grants are at every step of the money trail."""
    from workflows import get_workflow

    workflow = get_workflow()
    weights = dict.fromkeys(workflow.state_names, 2)
    weights.pop(workflow.initial)
    for state in workflow.phase("standing"):
        weights[state] = 8
    for state in workflow.phase("decided") - workflow.phase("funded"):
        weights[state] = 20
    return weights


def build_year(app, n: int, seed: int = 2026) -> None:
    """A fiscal year of ``n`` submitted applications over three calls (bulk SQL)."""
    from aap.extensions import db
    from tests import factories

    rnd = random.Random(seed)
    with app.app_context():
        fund = factories.make_fund()
        jurors = [factories.make_user(["juror"]) for _ in range(3)]
        calls = [factories.make_call(
            fund, title=f"Appel à projets {YEAR} — lutte contre les discriminations, "
                        f"volet {k + 1}", budget_cents=n * 3_000_00,
            max_request_cents=None, closes_at=_now() - timedelta(days=30),
            opens_at=_now() - timedelta(days=90),
            envelopes=[(key, label, n * 400_00) for key, label in ENVELOPES] if k == 0
            else []) for k in range(3)]
        organisations = _organisations(max(n // 3, 1))
        apps = _applications(calls, organisations, n, rnd)
        _budgets(apps)
        _reviews(apps, [j.id for j in jurors], rnd)
        _money_trail(apps, rnd)
        db.session.commit()
        with db.engine.connect() as connection:  # the statistics a live database keeps
            connection.exec_driver_sql("ANALYZE")
            connection.commit()


def _insert(model, rows: list[dict]) -> None:
    from sqlalchemy import insert

    from aap.extensions import db

    for start in range(0, len(rows), 20_000):
        db.session.execute(insert(model), rows[start:start + 20_000])


def _organisations(count: int) -> list[int]:
    from sqlalchemy import select

    from aap.extensions import db
    from aap.models import Organisation
    from tests.factories import unique_siret

    _insert(Organisation, [
        {"name": f"Association Égalité et Territoires n°{i}",
         "siret": unique_siret(5_000_000 + i), "rna": f"W13{i:07d}",
         "address": f"{i % 200 + 1} boulevard National", "postcode": "13003",
         "city": "Marseille", "legal_representative": "Camille Martin",
         "siret_duplicate": False} for i in range(count)])
    return list(db.session.scalars(select(Organisation.id).order_by(Organisation.id)))


def _applications(calls, organisations: list[int], n: int, rnd: random.Random) -> list[dict]:
    """The application rows, with their ids once inserted."""
    from sqlalchemy import select

    from aap.extensions import db
    from aap.models import Application
    from aap.vocabulary import DOMAINS, GROUNDS

    weights = _weights()
    states, chances = list(weights), list(weights.values())
    envelopes = [e.id for e in calls[0].envelopes]
    at = _now()
    rows = []
    for i in range(n):
        call = calls[i % len(calls)]
        requested = rnd.randint(2_000, 40_000) * 100 + rnd.randint(0, 99)
        rows.append({
            "reference": f"AAP-{YEAR}-{i + 1:06d}", "call_id": call.id,
            "organisation_id": organisations[i % len(organisations)],
            "envelope_id": rnd.choice(envelopes) if call is calls[0] else None,
            "state": rnd.choices(states, chances)[0],
            "title": f"Ateliers contre les discriminations à l'embauche, action {i}",
            "summary": "Ateliers et sensibilisation.", "domains": rnd.sample(list(DOMAINS),
                                                                           rnd.randint(1, 2)),
            "grounds": rnd.sample(list(GROUNDS), rnd.randint(1, 3)),
            "territories": rnd.sample(PLACES, rnd.randint(1, 2)),
            "beneficiaries": rnd.randint(10, 200), "requested_cents": requested,
            "submitted_at": at, "starts_on": date(YEAR, 9, 1), "ends_on": date(YEAR + 1, 6, 30)})
    _insert(Application, rows)
    ids = dict(db.session.execute(select(Application.reference, Application.id)).all())
    for row in rows:
        row["id"] = ids[row["reference"]]
    return rows


def _now():
    from aap.timeutil import now

    return now()


def _budgets(apps: list[dict]) -> None:
    """The CERFA 12156 budget: charges 62 and 64, products 74_epci (the request), 74_state
    and 75, balanced."""
    from aap.models import BudgetLine

    rows = []
    for app in apps:
        asked = app["requested_cents"]
        for side, code, cents in (("charges", "62", 3_000_00), ("charges", "64", asked + 2_000_00),
                                  ("products", "74_epci", asked),
                                  ("products", "74_state", 3_000_00),
                                  ("products", "75", 2_000_00)):
            rows.append({"application_id": app["id"], "side": side, "code": code,
                         "amount_cents": cents})
    _insert(BudgetLine, rows)


def _reviews(apps: list[dict], jurors: list[int], rnd: random.Random) -> None:
    from aap.models import Review
    from workflows import get_workflow

    ranked = get_workflow().phase("ranked")
    at = _now()
    _insert(Review, [
        {"application_id": app["id"], "juror_id": juror, "submitted": True,
         "submitted_at": at, "total": Decimal(rnd.randint(5_000, 20_000)) / 1000,
         "comment": ""}
        for app in apps if app["state"] in ranked for juror in rnd.sample(jurors, 2)])


def _money_trail(apps: list[dict], rnd: random.Random) -> None:
    """Decisions, conventions, payments, repayments and reports along the states, and
    what each application commits (the grant; after closing, paid less repaid)."""
    from sqlalchemy import update

    from aap.extensions import db
    from aap.models import Application, Convention, Decision, Payment, Repayment, Report
    from aap.services.money import PROPOSED_STATE
    from workflows import get_workflow

    workflow = get_workflow()
    funded, paid_states = workflow.phase("funded"), workflow.phase("report")
    later = workflow.phase("justified")
    decisions, conventions, payments, repayments, reports, committed = [], [], [], [], [], []
    for app in apps:
        state, amount = app["state"], app["requested_cents"]
        if state == PROPOSED_STATE:
            committed.append({"id": app["id"], "proposed_cents": amount, "committed_cents": 0})
            continue
        if state not in funded:
            continue
        decisions.append({"application_id": app["id"], "body": "Bureau de la Métropole",
                          "reference": f"DEL-{YEAR}-{app['id'] % 40 + 100}",
                          "decided_on": date(YEAR, 10, 12), "amount_cents": amount})
        if amount > 23_000_00 or app["id"] % 2:
            conventions.append({"application_id": app["id"], "reference": f"CONV-{app['id']}",
                                "signed_on": date(YEAR, 10, 20), "schedule": []})
        paid = 0
        if state in paid_states or (state == "cancelled" and app["id"] % 2):
            advance = amount * 8 // 10
            payments.append(_payment(app, "advance", advance, date(YEAR, 11, 2)))
            paid = advance
            if state in later:
                payments.append(_payment(app, "balance", amount - advance, date(YEAR + 1, 3, 1)))
                paid = amount
        repaid = 0
        if state in later and app["id"] % 3 == 0:
            repaid = amount // 20
            repayments.append({"application_id": app["id"], "amount_cents": repaid,
                               "claimed_on": date(YEAR + 1, 9, 1), "reference": f"TR-{app['id']}",
                               "reason": "Sous-réalisation de l'action."})
        if state in paid_states - {"in_progress"}:
            reports.append({"application_id": app["id"], "beneficiaries_reached":
                            rnd.randint(5, 200), "narrative": "Actions menées.",
                            "gap_explanation": "" if app["id"] % 4 else "Un atelier annulé.",
                            "submitted_at": _now()})
        settled = state in workflow.phase("settled")
        committed.append({"id": app["id"], "proposed_cents": amount,
                          "committed_cents": paid - repaid if settled else amount})
    for model, rows in ((Decision, decisions), (Convention, conventions), (Payment, payments),
                        (Repayment, repayments), (Report, reports)):
        _insert(model, rows)
    db.session.execute(update(Application), committed)
    _report_lines(apps, rnd)


def _payment(app: dict, kind: str, cents: int, on: date) -> dict:
    return {"application_id": app["id"], "kind": kind, "amount_cents": cents, "paid_on": on,
            "mandate": f"M-{YEAR}-{app['id']:06d}-{kind[0]}"}


def _report_lines(apps: list[dict], rnd: random.Random) -> None:
    """What the reports realised: the forecast, give or take 30 % on line 64."""
    from sqlalchemy import select

    from aap.extensions import db
    from aap.models import Report, ReportLine

    asked = {a["id"]: a["requested_cents"] for a in apps}
    rows = []
    for report_id, application_id in db.session.execute(
            select(Report.id, Report.application_id)):
        spent = asked[application_id] + 2_000_00
        spent = spent * rnd.randint(70, 110) // 100
        total = 3_000_00 + spent
        rows += [{"report_id": report_id, "side": "charges", "code": "62",
                  "amount_cents": 3_000_00},
                 {"report_id": report_id, "side": "charges", "code": "64", "amount_cents": spent},
                 {"report_id": report_id, "side": "products", "code": "74_epci",
                  "amount_cents": min(asked[application_id], total)},
                 {"report_id": report_id, "side": "products", "code": "75",
                  "amount_cents": total - min(asked[application_id], total)}]
    _insert(ReportLine, rows)


# -- the measured exports (each run in a child process) -------------------------------------

def measure_balance(url: str, out: str, _plan: list | None) -> dict:
    """The balance-sheet workbook of the fiscal year (every call of it)."""
    from aap import create_app
    from aap.services.exports import balance

    app = create_app("test", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        calls = balance.every_call_of_year(YEAR)
        start, cpu = time.perf_counter(), time.process_time()
        balance.write_balance(out, calls)
        return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu}


def measure_floor(_url: str, out: str, plan: list) -> dict:
    """xlsxwriter in constant_memory mode writing ``plan``'s cells: per sheet, as many
    rows, cells and strings as the export wrote, with no format."""
    import xlsxwriter

    start, cpu = time.perf_counter(), time.process_time()
    book = xlsxwriter.Workbook(out, {"constant_memory": True})
    for name, rows, cells, strings in plan:
        sheet = book.add_worksheet(name)
        per_row = -(-cells // max(rows, 1))
        written = 0
        for row in range(rows):
            for col in range(min(per_row, cells - written)):
                if written < strings:
                    sheet.write_string(row, col, "Association Égalité n°12345")
                else:
                    sheet.write_number(row, col, row * 1.25)
                written += 1
    book.close()
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu}


def measure_scdl(url: str, out: str, _plan: list | None) -> dict:
    """The SCDL subventions CSV of the fiscal year (every call of it)."""
    from aap import create_app
    from aap.services.exports import balance, scdl

    app = create_app("test", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        calls = balance.every_call_of_year(YEAR)
        start, cpu = time.perf_counter(), time.process_time()
        scdl.write_scdl(out, calls)
        return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu}


MEASURES = {"balance": measure_balance, "floor": measure_floor, "scdl": measure_scdl}


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM is the high-water mark of the
    process's own memory since it was exec'd; ``ru_maxrss`` is the fallback elsewhere,
    but it may count the parent's memory (vfork shares it until the exec)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _child(name: str, url: str, out: str, plan_json: str) -> None:
    profile = os.environ.get("BENCH_PROFILE")  # a directory: one cProfile dump per measure
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(MEASURES[name], url, out, json.loads(plan_json))
        profiler.dump_stats(str(Path(profile) / f"{name}.prof"))
    else:
        result = MEASURES[name](url, out, json.loads(plan_json))
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


def run_measure(name: str, url: str, out: Path, plan: list | None = None) -> dict:
    """Run one measure in a fresh interpreter and read its figures back."""
    completed = subprocess.run(
        [sys.executable, __file__, "--child", name, "--url", url, "--out", str(out),
         "--plan", json.dumps(plan)], capture_output=True, text=True, check=False)
    if completed.returncode:
        raise SystemExit(f"{name} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def best(repeat: int, name: str, url: str, out: Path, plan: list | None = None) -> dict:
    runs = [run_measure(name, url, out, plan) for _ in range(max(repeat, 1))]
    return min(runs, key=lambda r: r["seconds"])


def cell_plan(path: Path) -> list[tuple[str, int, int, int]]:
    """Per sheet of a workbook: its name, rows, cells and text cells (read from the XML)."""
    with zipfile.ZipFile(path) as archive:
        names = _sheet_names(archive)
        plan = []
        for index, name in enumerate(names, start=1):
            rows = cells = strings = 0
            with archive.open(f"xl/worksheets/sheet{index}.xml") as xml:
                for chunk in iter(lambda: xml.read(1 << 20), b""):
                    rows += chunk.count(b"<row ")
                    cells += chunk.count(b"<c ")
                    strings += chunk.count(b't="inlineStr"')
            plan.append((name, rows, cells, strings))
    return plan


def _sheet_names(archive: zipfile.ZipFile) -> list[str]:
    import re

    workbook = archive.read("xl/workbook.xml").decode()
    return re.findall(r'<sheet name="([^"]+)"', workbook)


def report(label: str, result: dict) -> None:
    print(f"{label:<36} wall {result['seconds']:6.2f} s   CPU {result['cpu']:6.2f} s   "
          f"peak RSS {result['peak_rss_mb']:6.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", choices=sorted(MEASURES), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--plan", default="null", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.url, args.out, args.plan)
        return
    app = build_app(args.database_url)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):  # the throw-away database goes with the benchmark
        atexit.register(shutil.rmtree, Path(url[len("sqlite:///"):]).parent, True)
    start = time.perf_counter()
    build_year(app, args.applications)
    label = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(f"{label}: a fiscal year of {args.applications} applications built in "
          f"{time.perf_counter() - start:.0f} s")
    work = Path(tempfile.mkdtemp(prefix="aap-bench-exports-"))
    atexit.register(shutil.rmtree, work, True)
    balance = best(args.repeat, "balance", url, work / "bilan.xlsx")
    plan = cell_plan(work / "bilan.xlsx")
    cells = sum(p[2] for p in plan)
    report(f"balance workbook ({cells:,} cells)", balance)
    floor = best(args.repeat, "floor", url, work / "floor.xlsx", plan)
    report("floor (constant_memory, no format)", floor)
    print(f"ratio balance / floor: wall {balance['seconds'] / floor['seconds']:.2f}, "
          f"CPU {balance['cpu'] / floor['cpu']:.2f}  "
          f"(workbook {(work / 'bilan.xlsx').stat().st_size / 1e6:.1f} MB)")
    open_data = best(args.repeat, "scdl", url, work / "subventions.csv")
    report(f"SCDL CSV ({(work / 'subventions.csv').stat().st_size / 1e6:.1f} MB)", open_data)


if __name__ == "__main__":
    main()

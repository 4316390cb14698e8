"""A small world of fixed dates for the indicators' tests (services, export, pages): see
:func:`build` for the story and ``tests/services/test_indicators.py`` for its figures."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from aap.extensions import db
from aap.services import jury, reviews, workflow
from aap.services.calls import set_jury
from aap.timeutil import PARIS
from tests import factories

E = 100


class Clock:
    """The moment the workflow and the trail believe it is."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 1, 1, 12, tzinfo=PARIS)

    def set(self, day: str, hour: int = 10, minute: int = 0) -> None:
        self.moment = datetime.combine(date.fromisoformat(day), datetime.min.time(),
                                       tzinfo=PARIS).replace(hour=hour, minute=minute)

    def __call__(self) -> datetime:
        return self.moment


def install_clock(monkeypatch) -> Clock:
    """The workflow and the trail read this clock (set before each step)."""
    clock = Clock()
    monkeypatch.setattr("aap.services.workflow.now", clock)
    monkeypatch.setattr("aap.services.audit.now", clock)
    return clock


def _call(world, year: int, opens: str, title: str):
    opened = datetime.fromisoformat(f"{opens}T09:00").replace(tzinfo=PARIS)
    call = factories.make_call(world.fund, title=title, fiscal_year=year, opens_at=opened,
                               closes_at=opened + timedelta(days=120),
                               budget_cents=100_000 * E)
    set_jury(call, [world.users["juror"].id])
    db.session.commit()
    return call


class Story:
    def __init__(self, world, clock) -> None:
        self.world, self.clock = world, clock
        member = [world.users["applicant"]]
        self.old = factories.make_organisation(member, name="Ancienne")
        self.new1 = factories.make_organisation(member, name="Nouvelle 1")
        self.new2 = factories.make_organisation(member, name="Nouvelle 2")
        self.call_2025 = _call(world, 2025, "2025-03-01", "AAP 2025")
        self.call = _call(world, 2026, "2026-03-01", "AAP 2026")
        self.call_2 = _call(world, 2026, "2026-06-01", "AAP 2026 bis")

    def submitted(self, call, org, on: str, euros: int, hour: int = 10, minute: int = 0,
                  **fields):
        app = factories.make_application(call, org, requested_cents=euros * E, **fields)
        self.clock.set(on, hour, minute)
        return self.world.fire(app, "submit")

    def fire(self, app, trigger: str, on: str, data: dict | None = None):
        self.clock.set(on)
        return self.world.fire(app, trigger, data)

    def reviewed(self, app, on: str, scores: dict | None = None):
        """Eligible, reviewed by the jury (``scores``: juror key → {criterion: score};
        ``recused(scores)``: submitted, then recused by the instructor), then proposed."""
        app = self.fire(self.fire(app, "declare_eligible", on), "open_review", on)
        for juror, given in (scores or {}).items():
            user = self.world.users[juror]
            reviews.save_review(user, app, {"scores": given.get("scores", given),
                                            "submit": True})
            if "recused" in given:
                jury.record_conflict(self.world.users["instructor"], app, user,
                                     "Trésorier de l'association")
        for trigger in ("close_review", "propose"):
            app = self.fire(app, trigger, on)
        return app

    def grant(self, app, euros: int, decided: str, recorded: str):
        return self.fire(app, "grant", recorded, {
            "amount_cents": euros * E,
            "decision": {"body": "Bureau de la Métropole", "reference": "DEL", "date": decided}})

    def pay(self, app, euros: int, on: str):
        self.clock.set(on)
        return workflow.record_payment(app, self.world.users["finance"], {
            "kind": "advance", "amount_cents": euros * E, "paid_on": on, "mandate": "M"})


def recused(scores: dict[str, int]) -> dict:
    """A review submitted with these scores, then recused (a conflict recorded)."""
    return {"scores": scores, "recused": True}


def grid(pertinence: int, feasibility: int) -> dict[str, int]:
    """The factories' grid: pertinence (weight 2, /5) and feasibility (weight 1, /5), on
    20: total = (2 × pertinence + feasibility) / 15 × 20."""
    return {"pertinence": pertinence, "faisabilite": feasibility}


def build(world, monkeypatch) -> Story:
    """The story told in ``tests/services/test_indicators.py``'s docstring. The jury
    of the 2026 call n°1: Julie Jurée gives A 20, B 12 and D 12; Jules Juré gives A 16
    and D 10.667, and gave B 4 before the instructor recorded his conflict (a recusal
    never counts)."""
    s = Story(world, install_clock(monkeypatch))
    set_jury(s.call, [world.users["juror"].id, world.users["juror2"].id])
    db.session.commit()
    s.submitted(s.call_2025, s.old, "2025-03-10", 4_000)
    a = s.submitted(s.call, s.old, "2026-03-10", 10_000, hour=0, minute=30,
                    domains=["emploi", "logement"], grounds=["origine", "sexe"],
                    territories=["Marseille — QPV Frais Vallon", "Aix-en-Provence"],
                    beneficiaries=60)
    b = s.submitted(s.call, s.new1, "2026-03-12", 6_000, domains=["emploi"],
                    grounds=["origine"], territories=["Vitrolles"], beneficiaries=40)
    c = s.submitted(s.call, s.new2, "2026-03-15", 4_000, domains=["education"],
                    grounds=["handicap"], territories=["Quartier prioritaire Les Pins"],
                    beneficiaries=30)
    d = s.submitted(s.call, s.new1, "2026-03-16", 5_000, domains=["logement"],
                    grounds=["sexe"], territories=["Marseille — QPV Frais Vallon"],
                    beneficiaries=20)
    f = s.submitted(s.call, s.old, "2026-03-18", 3_000, domains=["citoyennete"],
                    grounds=["age"], territories=["Istres"], beneficiaries=10)
    factories.make_application(s.call, s.new2, requested_cents=9_000 * E)  # E, a draft
    s.submitted(s.call_2, s.new2, "2026-06-10", 2_000, domains=["emploi"],
                grounds=["origine"], territories=["Vitrolles"], beneficiaries=5)

    a = s.grant(s.reviewed(a, "2026-03-25", {"juror": grid(5, 5), "juror2": grid(4, 4)}),
                8_000, decided="2026-05-04",
                recorded="2026-05-07")
    a = s.pay(a, 5_000, "2026-05-14")
    a = s.pay(a, 3_000, "2026-06-01")
    s.fire(a, "submit_report", "2026-12-01", {
        "realised": a.budget(), "beneficiaries_reached": 55, "narrative": "Fait."})
    s.fire(s.reviewed(b, "2026-03-25", {"juror": grid(3, 3), "juror2": recused(grid(1, 1))}),
           "reject", "2026-05-20")
    s.fire(c, "declare_ineligible", "2026-03-25")
    d = s.grant(s.reviewed(d, "2026-03-25", {"juror": grid(4, 1), "juror2": grid(2, 4)}),
                5_000, decided="2026-05-06",
                recorded="2026-05-06")
    s.pay(d, 5_000, "2026-05-26")
    s.a, s.b, s.c, s.d, s.f = a, b, c, d, f
    f = s.fire(f, "declare_eligible", "2026-03-25")
    s.fire(f, "withdraw", "2026-04-01")
    db.session.commit()
    return s

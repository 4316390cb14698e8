"""Test data: valid objects by default, overridable field by field."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta

from aap.extensions import db
from aap.models import (
    Application,
    Authority,
    Call,
    Criterion,
    Envelope,
    Fund,
    Membership,
    Organisation,
)
from aap.services import accounts, workflow
from aap.timeutil import now
from workflows import get_workflow

PASSWORD = "Ateliers-du-samedi-2026"
VALID_SIRETS = ["73282932000074", "35600000000048", "44306184100047", "55210055400013",
                "40483304800022", "38012986600049"]
_counter = itertools.count(1)


def unique_siret(n: int) -> str:
    """A valid SIRET of its own for the n-th object (a SIRET belongs to one organisation).
    Its SIREN starts with 9, so it is none of VALID_SIRETS, which tests type in forms."""
    from stdnum import luhn

    siren = f"9{n % 10_000_000:07d}"
    siren += luhn.calc_check_digit(siren)
    nic = "0001"
    return siren + nic + luhn.calc_check_digit(siren + nic)


def make_user(roles: list[str], email: str | None = None, name: str = "",
              authority: Authority | None = None) -> object:
    """A user with ``roles``: platform-wide, or held in ``authority``."""
    n = next(_counter)
    user = accounts.create_user(email or f"user{n}@example.org", PASSWORD, roles,
                                name or f"Utilisatrice {n}",
                                authority_id=authority.id if authority else None)
    db.session.commit()
    return user


def make_authority(name: str | None = None, kind: str = "commune",
                   parent: Authority | None = None, **overrides) -> Authority:
    n = next(_counter)
    authority = Authority(name=name or f"Commune {n}", kind=kind,
                          siret=overrides.pop("siret", unique_siret(500_000 + n)),
                          parent_id=parent.id if parent else None, **overrides)
    db.session.add(authority)
    db.session.commit()
    return authority


def make_fund(**overrides) -> Fund:
    values = dict(name="Fonds d'initiative PMLCD", owner_name="Métropole Aix-Marseille-Provence",
                  owner_siret="20005478100022", imputation_chapter="65",
                  imputation_nature="65748", imputation_function="552",
                  imputation_subpolicy="D110", owner_product_line="74_epci")
    values.update(overrides)
    fund = Fund(**values)
    db.session.add(fund)
    db.session.commit()
    return fund


def make_call(fund: Fund, **overrides) -> Call:
    at = now()
    values = dict(
        fund=fund, title="Appel à projets 2026 — lutte contre les discriminations",
        fiscal_year=2026, opens_at=at - timedelta(days=10), closes_at=at + timedelta(days=20),
        budget_cents=100_000_00, min_request_cents=1_000_00, max_request_cents=30_000_00,
        max_share_of_cost=None, scale=20, min_reviews=1, overflow="partial",
    )
    envelopes = overrides.pop("envelopes", [])
    criteria = overrides.pop("criteria", [("pertinence", "Pertinence", 2, 5),
                                          ("faisabilite", "Faisabilité", 1, 5)])
    values.update(overrides)
    call = Call(**values)
    call.envelopes = [Envelope(key=k, label=label, budget_cents=c) for k, label, c in envelopes]
    call.criteria = [Criterion(key=k, label=label, weight=w, max_score=m, position=i)
                     for i, (k, label, w, m) in enumerate(criteria)]
    db.session.add(call)
    db.session.commit()
    return call


def make_organisation(members: list = (), **overrides) -> Organisation:
    n = next(_counter)
    values = dict(name=f"Association n°{n}", siret=unique_siret(n),
                  rna=f"W13{n:07d}", address="1 rue de la République", postcode="13001",
                  city="Marseille", legal_representative="Camille Martin",
                  iban="FR7630006000011234567890189", bic="AGRIFRPP")
    values.update(overrides)
    org = Organisation(**values)
    db.session.add(org)
    db.session.flush()
    for user in members:
        db.session.add(Membership(user_id=user.id, organisation_id=org.id))
    db.session.commit()
    return org


def complete_fields(requested_cents: int = 5_000_00) -> dict:
    return dict(
        title="Ateliers contre les discriminations à l'embauche",
        summary="Des ateliers de simulation d'entretien et de sensibilisation des employeurs.",
        objectives="Sensibiliser 20 employeurs ; accompagner 60 jeunes.",
        target_public="Jeunes de 16 à 25 ans des quartiers prioritaires",
        domains=["emploi"], grounds=["origine", "lieu_residence"],
        territories=["Marseille — QPV Frais Vallon"], beneficiaries=60,
        starts_on=date(2026, 9, 1), ends_on=date(2027, 6, 30),
        requested_cents=requested_cents,
    )


def balanced_budget(requested_cents: int) -> dict:
    return {"charges": {"62": 3_000_00, "64": requested_cents + 2_000_00},
            "products": {"74_epci": requested_cents, "74_state": 3_000_00, "75": 2_000_00}}


def make_application(call: Call, org: Organisation, *, requested_cents: int = 5_000_00,
                     **overrides) -> Application:
    values = complete_fields(requested_cents)
    budget = overrides.pop("budget", balanced_budget(requested_cents))
    values.update(overrides)
    app = Application(call=call, organisation=org, **values)
    app.set_budget(budget)
    db.session.add(app)
    db.session.commit()
    return app


_conventions = itertools.count(1)


def trigger_data(trigger: str, app: Application) -> dict:
    """Valid data for each trigger of the application workflow."""
    amount = app.proposed_cents or app.requested_cents
    granted = app.granted_cents
    return {
        "request_completion": {"comment": "Merci de joindre les statuts signés."},
        "declare_ineligible": {"comment": "Le porteur n'est pas une association."},
        "close_review": {"force": True, "comment": "Jury réuni, notes orales."},
        "propose": {"amount_cents": app.requested_cents},
        "promote": {"amount_cents": app.requested_cents},
        "grant": {"amount_cents": amount, "decision": {
            "body": "Bureau de la Métropole", "reference": "DEL-2026-117",
            "date": "2026-10-12"}},
        "sign_convention": {"convention": {
            "reference": f"CONV-2026-{next(_conventions):04d}", "signed_on": "2026-10-20",
            "schedule": [{"kind": "advance", "share": "0.8"},
                         {"kind": "balance", "share": "0.2"}]}},
        "pay": {"kind": "advance", "amount_cents": granted, "paid_on": "2026-11-02",
                "mandate": "M-2026-0457"},
        "submit_report": {"realised": app.budget(), "beneficiaries_reached": 55,
                          "narrative": "Douze ateliers menés avec 55 jeunes."},
        "request_report_changes": {"comment": "Détaillez la ligne 64."},
        "cancel": {"comment": "Le projet n'a pas pu démarrer."},
    }.get(trigger, {})


@dataclass
class World:
    fund: Fund
    call: Call
    org: Organisation
    other_org: Organisation
    users: dict[str, object] = field(default_factory=dict)

    @classmethod
    def build(cls) -> World:
        users = {
            "applicant": make_user(["applicant"], name="Awa Diallo"),
            "foreign_applicant": make_user(["applicant"], name="Jean Autre"),
            "instructor": make_user(["instructor"], name="Inès Instructrice"),
            "finance": make_user(["finance"], name="Fabien Finances"),
            "juror": make_user(["juror"], name="Julie Jurée"),
            "juror2": make_user(["juror"], name="Jules Juré"),
            "outside_juror": make_user(["juror"], name="Olga Horsjury"),
            "admin": make_user(["admin"], name="Adam Admin"),
        }
        fund = make_fund()
        call = make_call(fund)
        from aap.services.calls import set_jury

        set_jury(call, [users["juror"].id, users["juror2"].id])
        org = make_organisation([users["applicant"]])
        other_org = make_organisation([users["foreign_applicant"]])
        return cls(fund=fund, call=call, org=org, other_org=other_org, users=users)

    def actor_for(self, role: str):
        return self.users[{"applicant": "applicant", "instructor": "instructor",
                           "finance": "finance", "juror": "juror", "admin": "admin"}[role]]

    def application(self, **overrides) -> Application:
        return make_application(self.call, self.org, **overrides)

    def fire(self, app: Application, trigger: str, data: dict | None = None) -> Application:
        spec = next(s for s in get_workflow().specs if s.trigger == trigger)
        actor = self.actor_for(spec.roles[0])
        return workflow.fire(app, trigger, actor,
                             trigger_data(trigger, app) if data is None else data)

    def bring_to(self, app: Application, state: str) -> Application:
        for trigger in path_to(state):
            app = self.fire(app, trigger)
        assert app.state == state
        return app


def path_to(target: str, start: str = "draft") -> list[str]:
    """The shortest trigger path in the definition from ``start`` to ``target``."""
    specs = get_workflow().specs
    queue: deque[tuple[str, list[str]]] = deque([(start, [])])
    seen = {start}
    while queue:
        state, path = queue.popleft()
        if state == target:
            return path
        for spec in specs:
            if state in spec.source and spec.dest not in seen:
                seen.add(spec.dest)
                queue.append((spec.dest, [*path, spec.trigger]))
    raise ValueError(f"{target} unreachable from {start}")

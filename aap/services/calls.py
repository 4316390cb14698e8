"""Funds and calls: configuration, jury."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from aap.errors import ValidationFailed
from aap.extensions import db
from aap.models import Call, Criterion, Envelope, Fund, JuryMember, User
from aap.models.accounts import Role
from aap.services import identifiers


def create_fund(data: dict) -> Fund:
    try:
        siret = identifiers.clean_siret(data.get("owner_siret", ""))
    except ValueError as exc:
        raise ValidationFailed(str(exc), fields={"owner_siret": [str(exc)]}) from exc
    imputation = data.get("imputation") or {}
    fund = Fund(
        name=data["name"].strip(), owner_name=data["owner_name"].strip(), owner_siret=siret,
        imputation_chapter=imputation.get("chapter", "65"),
        imputation_nature=imputation.get("nature", "65748"),
        imputation_function=imputation.get("function", ""),
        imputation_subpolicy=imputation.get("subpolicy", ""),
        owner_product_line=data.get("owner_product_line") or "74_epci",
        notification_ue=bool(data.get("notification_ue", False)),
    )
    db.session.add(fund)
    db.session.commit()
    return fund


def _check_call(data: dict) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if data["closes_at"] <= data["opens_at"]:
        fields["closes_at"] = ["La clôture doit suivre l'ouverture."]
    envelopes = data.get("envelopes") or []
    if sum(e["budget_cents"] for e in envelopes) > data["budget_cents"]:
        fields["envelopes"] = ["Les enveloppes dépassent le budget de l'appel."]
    if len({e["key"] for e in envelopes}) != len(envelopes):
        fields.setdefault("envelopes", []).append("Clés d'enveloppe en double.")
    grid = data.get("grid") or []
    if len({c["key"] for c in grid}) != len(grid):
        fields["grid"] = ["Clés de critère en double."]
    rules = data.get("rules") or {}
    low, high = rules.get("min_request_cents"), rules.get("max_request_cents")
    if low is not None and high is not None and low > high:
        fields["rules"] = ["Le minimum dépasse le maximum."]
    return fields


def create_call(data: dict) -> Call:
    fund = db.session.get(Fund, data["fund_id"])
    if fund is None:
        raise ValidationFailed("Dispositif inconnu.", fields={"fund_id": ["Dispositif inconnu."]})
    if fields := _check_call(data):
        raise ValidationFailed("L'appel comporte des erreurs.", fields=fields)
    rules = data.get("rules") or {}
    call = Call(
        fund=fund, title=data["title"].strip(), description=data.get("description", ""),
        fiscal_year=data["fiscal_year"], opens_at=data["opens_at"], closes_at=data["closes_at"],
        budget_cents=data["budget_cents"],
        min_request_cents=rules.get("min_request_cents"),
        max_request_cents=rules.get("max_request_cents"),
        max_share_of_cost=rules.get("max_share_of_cost"),
        scale=data.get("scale", 20), min_total=Decimal(str(data.get("min_total", 0))),
        min_reviews=data.get("min_reviews", 1), overflow=data.get("overflow", "partial"),
        partial_min_share=Decimal(str(data.get("partial_min_share", "0.5"))),
        envelopes=[Envelope(**e) for e in data.get("envelopes") or []],
        criteria=[
            Criterion(key=c["key"], label=c["label"], weight=Decimal(str(c.get("weight", 1))),
                      max_score=c["max"], position=i)
            for i, c in enumerate(data.get("grid") or [])
        ],
    )
    db.session.add(call)
    db.session.commit()
    return call


def set_jury(call: Call, juror_ids: list[int]) -> list[JuryMember]:
    users = db.session.scalars(select(User).where(User.id.in_(juror_ids))).all()
    found = {u.id: u for u in users}
    bad = [i for i in juror_ids if i not in found or not found[i].has_role(Role.JUROR)]
    if bad:
        raise ValidationFailed(
            "Ces utilisateurs n'existent pas ou ne sont pas jurés.",
            fields={"juror_ids": [f"Non juré : {i}" for i in bad]},
        )
    wanted = set(juror_ids)
    call.jury = [m for m in call.jury if m.user_id in wanted]
    present = {m.user_id for m in call.jury}
    call.jury.extend(JuryMember(user_id=i) for i in juror_ids if i not in present)
    db.session.commit()
    return call.jury

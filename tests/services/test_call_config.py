"""Call configuration once applications exist: what is locked and why, what values are
refused, and cloning last year's call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from aap.errors import ValidationFailed
from aap.extensions import db
from aap.models import AuditEvent, Envelope
from aap.services import calls
from aap.timeutil import PARIS
from tests import factories


def locked(call) -> set[str]:
    return {name for name, reason in calls.editable_fields(call).items() if reason}


def refused(call, data) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        calls.update_call(call, data)
    db.session.rollback()
    return caught.value.fields


def test_everything_is_editable_without_applications(world):
    assert locked(world.call) == set()
    other_fund = factories.make_fund(name="Autre fonds")
    call = calls.update_call(world.call, {
        "fund_id": other_fund.id, "fiscal_year": 2027, "scale": 10,
        "grid": [{"key": "impact", "label": "Impact", "weight": 1, "max": 10}],
        "rules": {"min_request_cents": 0, "max_request_cents": None, "max_share_of_cost": "0.8"},
        "opens_at": world.call.opens_at - timedelta(days=1),
        "closes_at": world.call.closes_at - timedelta(days=1),
    })
    assert call.fiscal_year == 2027 and call.fund_id == other_fund.id and call.scale == 10
    assert [c.key for c in call.criteria] == ["impact"]
    assert call.max_share_of_cost == Decimal("0.8")


def test_a_draft_locks_fund_and_fiscal_year_only(world):
    world.application()
    assert locked(world.call) == {"fund_id", "fiscal_year"}
    fields = refused(world.call, {"fiscal_year": 2027})
    assert "exercice" in fields["fiscal_year"][0]


@pytest.mark.parametrize(("state", "expected"), [
    ("submitted", {"fund_id", "fiscal_year", "opens_at", "rules"}),
    ("in_review", {"fund_id", "fiscal_year", "opens_at", "rules", "grid", "scale"}),
    ("granted", {"fund_id", "fiscal_year", "opens_at", "rules", "grid", "scale", "min_total",
                 "min_reviews", "overflow", "partial_min_share", "disagreement_threshold"}),
])
def test_locks_grow_with_the_life_of_the_call(world, state, expected):
    world.bring_to(world.application(), state)
    assert locked(world.call) == expected
    # title, description, closing date, budget, envelopes and completion delay stay open
    assert not expected & {"title", "description", "closes_at", "budget_cents", "envelopes",
                           "completion_days"}


@pytest.mark.parametrize(("state", "data", "field"), [
    ("submitted", {"fiscal_year": 2027}, "fiscal_year"),
    ("submitted", {"opens_at": datetime(2026, 1, 1, tzinfo=UTC)}, "opens_at"),
    ("submitted", {"rules": {"min_request_cents": 0, "max_request_cents": 1,
                             "max_share_of_cost": None}}, "rules"),
    ("in_review", {"grid": [{"key": "x", "label": "X", "weight": 1, "max": 5}]}, "grid"),
    ("in_review", {"scale": 100}, "scale"),
    ("granted", {"min_total": 12}, "min_total"),
    ("granted", {"overflow": "stop"}, "overflow"),
])
def test_locked_fields_are_refused_with_their_reason(world, state, data, field):
    world.bring_to(world.application(), state)
    fields = refused(world.call, data)
    assert fields[field] == [calls.editable_fields(world.call)[field]]


def test_unchanged_locked_values_are_accepted(world):
    world.bring_to(world.application(), "in_review")
    same = calls.current_values(world.call)
    calls.update_call(world.call, {**same, "title": "Nouveau titre"})
    assert world.call.title == "Nouveau titre"


def test_safe_changes_once_submitted(world):
    world.bring_to(world.application(), "in_review")
    later = world.call.closes_at + timedelta(days=7)
    call = calls.update_call(world.call, {
        "title": "Appel prolongé", "description": "Nouvelle présentation",
        "closes_at": later, "budget_cents": world.call.budget_cents + 10_000_00,
        "envelopes": [{"key": "nord", "label": "Nord", "budget_cents": 10_000_00}],
        "completion_days": 30,
    }, actor=world.users["instructor"])
    assert call.closes_at == later and call.budget_cents == 110_000_00
    assert [e.key for e in call.envelopes] == ["nord"] and call.completion_days == 30
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "call")).one()
    assert event.actor_id == world.users["instructor"].id
    assert event.data["fields"] == ["budget_cents", "closes_at", "completion_days",
                                    "description", "envelopes", "title"]


def test_the_closing_date_can_only_be_extended_once_submitted(world):
    world.bring_to(world.application(), "submitted")
    fields = refused(world.call, {"closes_at": world.call.closes_at - timedelta(hours=1)})
    assert "prolongée" in fields["closes_at"][0]


def test_the_budget_never_falls_under_what_is_committed(world):
    app = world.bring_to(world.application(requested_cents=20_000_00), "granted")
    fields = refused(world.call, {"budget_cents": 19_999_99})
    assert "engagé" in fields["budget_cents"][0]
    calls.update_call(world.call, {"budget_cents": app.committed_cents})
    assert world.call.budget_cents == 20_000_00


def test_the_envelopes_sum_stays_within_the_budget(world):
    fields = refused(world.call, {"envelopes": [
        {"key": "a", "label": "A", "budget_cents": 60_000_00},
        {"key": "b", "label": "B", "budget_cents": 60_000_00}]})
    assert "dépassent" in fields["envelopes"][0]


def test_an_envelope_in_use_is_neither_removed_nor_cut_under_its_commitments(world):
    world.call.envelopes = [Envelope(key="nord", label="Nord", budget_cents=50_000_00),
                            Envelope(key="sud", label="Sud", budget_cents=50_000_00)]
    db.session.commit()
    nord = world.call.envelopes[0]
    world.bring_to(world.application(envelope_id=nord.id, requested_cents=8_000_00), "granted")
    fields = refused(world.call, {"envelopes": [
        {"key": "sud", "label": "Sud", "budget_cents": 50_000_00}]})
    assert "(nord)" in fields["envelopes"][0]
    fields = refused(world.call, {"envelopes": [
        {"key": "nord", "label": "Nord", "budget_cents": 7_000_00},
        {"key": "sud", "label": "Sud", "budget_cents": 50_000_00}]})
    assert "engagé" in fields["envelopes"][0]
    # renaming the label, adding one and removing the unused one are fine
    call = calls.update_call(world.call, {"envelopes": [
        {"key": "nord", "label": "Secteur nord", "budget_cents": 8_000_00},
        {"key": "est", "label": "Est", "budget_cents": 10_000_00}]})
    assert [(e.key, e.label) for e in call.envelopes] == [("nord", "Secteur nord"),
                                                           ("est", "Est")]
    assert call.envelopes[0].id == nord.id  # the same row: applications keep it


def test_the_grid_is_updated_in_place_before_reviews(world):
    first = world.call.criteria[0]
    call = calls.update_call(world.call, {"grid": [
        {"key": "pertinence", "label": "Pertinence du projet", "weight": 3, "max": 10},
        {"key": "impact", "label": "Impact", "weight": 1, "max": 5}]})
    assert [(c.key, c.position) for c in call.criteria] == [("pertinence", 0), ("impact", 1)]
    assert call.criteria[0].id == first.id and call.criteria[0].weight == 3


def test_clone_values_shift_a_year_in_paris_time(world):
    source = world.call
    source.title = "Appel à projets 2026"
    source.opens_at = datetime(2026, 3, 1, 9, 0, tzinfo=PARIS).astimezone(UTC)  # winter
    source.closes_at = datetime(2026, 6, 30, 12, 0, tzinfo=PARIS).astimezone(UTC)  # summer
    db.session.commit()
    values = calls.clone_values(source)
    assert values["fiscal_year"] == 2027 and values["title"] == "Appel à projets 2027"
    assert values["opens_at"].astimezone(PARIS) == datetime(2027, 3, 1, 9, 0, tzinfo=PARIS)
    assert values["closes_at"].astimezone(PARIS) == datetime(2027, 6, 30, 12, 0, tzinfo=PARIS)
    assert sorted(values["juror_ids"]) == sorted([world.users["juror"].id,
                                                  world.users["juror2"].id])
    clone = calls.create_call(values)
    assert clone.id != source.id and clone.budget_cents == source.budget_cents
    assert [c.key for c in clone.criteria] == [c.key for c in source.criteria]


def test_clone_of_a_29_february(world):
    world.call.opens_at = datetime(2028, 2, 29, 10, 0, tzinfo=PARIS).astimezone(UTC)
    world.call.closes_at = datetime(2028, 4, 1, 10, 0, tzinfo=PARIS).astimezone(UTC)
    db.session.commit()
    assert calls.clone_values(world.call)["opens_at"].astimezone(PARIS).date().isoformat() \
        == "2029-02-28"

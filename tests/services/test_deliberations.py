"""Decisions for many at once (SPEC 3, 4; issue 9, item 5): one deliberation grants a
selection of proposed applications at their proposed amounts, each through the engine and
its budget check, each refusal reported; freed money proposes the first waitlisted
application. Budgets and amounts are computed by hand in the comments."""

from __future__ import annotations

from datetime import date

import pytest

from aap.errors import Forbidden, ValidationFailed
from aap.extensions import db
from aap.models import AuditEvent, Decision
from aap.services import deliberations, reviews
from aap.services.calls import set_jury
from tests import factories

E = 100
DELIBERATION = {"body": "Bureau de la Métropole", "reference": "DEL-2026-117",
                "date": "2026-10-12"}


def reviewed(world, requested_euros: int, pertinence: int, faisabilite: int, **fields):
    """Brought to ``reviewed``, both jurors giving the same marks: total = (2 p + f) / 15
    × 20 on the default grid."""
    app = world.bring_to(world.application(requested_cents=requested_euros * E, **fields),
                         "in_review")
    for juror in (world.users["juror"], world.users["juror2"]):
        reviews.save_review(juror, app, {"scores": {"pertinence": pertinence,
                                                    "faisabilite": faisabilite},
                                         "submit": True})
    return world.fire(app, "close_review", {})


def proposed(world, requested_euros, pertinence, faisabilite, amount_euros=None, **fields):
    app = reviewed(world, requested_euros, pertinence, faisabilite, **fields)
    return world.fire(app, "propose", {"amount_cents": (amount_euros or requested_euros) * E})


def waitlisted(world, requested_euros, pertinence, faisabilite, **fields):
    return world.fire(reviewed(world, requested_euros, pertinence, faisabilite, **fields),
                      "waitlist", {})


def budget(world, euros: int) -> None:
    world.call.budget_cents = euros * E
    db.session.commit()


def state_of(app) -> tuple[str, int]:
    db.session.refresh(app)
    return app.state, app.committed_cents // E


# -- granting ---------------------------------------------------------------------------

def test_a_deliberation_grants_each_selected_application_at_its_proposed_amount(world):
    budget(world, 10_000)
    first = proposed(world, 4000, 5, 4)
    second = proposed(world, 5000, 4, 4, amount_euros=4500)  # a partial proposal
    outcome = deliberations.grant(world.call, world.users["instructor"], DELIBERATION,
                                  [first.id, second.id])
    assert [(g.application_id, g.amount_cents) for g in outcome.granted] == [
        (first.id, 4000 * E), (second.id, 4500 * E)]
    assert outcome.refused == [] and outcome.granted_cents == 8500 * E
    assert state_of(first) == ("granted", 4000) and state_of(second) == ("granted", 4500)
    decision = db.session.scalar(db.select(Decision).where(
        Decision.application_id == second.id))
    assert (decision.body, decision.reference, decision.decided_on, decision.amount_cents) == (
        "Bureau de la Métropole", "DEL-2026-117", date(2026, 10, 12), 4500 * E)
    event = db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.object_type == "call", AuditEvent.action == "deliberation"))
    assert event.data["reference"] == "DEL-2026-117"
    assert len(event.data["granted"]) == 2 and event.data["refused"] == []


def test_each_refusal_is_reported_and_the_others_go_through(world):
    """Budget 10 000 €. Proposed: A 4 000 € (rank 1), B 5 000 € (rank 2), C 3 000 €
    (rank 3): A and B take 9 000 €, C finds 1 000 € left. D is only reviewed, E belongs
    to another call, 999999 does not exist."""
    budget(world, 10_000)
    a = proposed(world, 4000, 5, 4)   # 18.667
    b = proposed(world, 5000, 4, 4)   # 16
    c = proposed(world, 3000, 3, 4)   # 13.333
    d = reviewed(world, 2000, 5, 5)
    other_call = factories.make_call(world.fund, title="Autre appel")
    e = world.bring_to(factories.make_application(other_call, world.org), "submitted")
    # listed worst first: the grants still go best rank first
    outcome = deliberations.grant(world.call, world.users["instructor"], DELIBERATION,
                                  [c.id, b.id, d.id, a.id, e.id, 999999])
    assert [(g.application_id, g.amount_cents // E) for g in outcome.granted] == [
        (b.id, 5000), (a.id, 4000)]
    refused = {r.application_id: (r.code, r.message) for r in outcome.refused}
    assert refused[c.id] == ("budget_exceeded", "Budget insuffisant : 3\u202f000,00\xa0€ "
                             "demandés, 1\u202f000,00\xa0€ disponibles sur l'appel.")
    assert refused[d.id][0] == "invalid_state"
    assert "Évalué" in refused[d.id][1]
    assert refused[e.id] == ("not_found", "Dossier introuvable dans cet appel.")
    assert refused[999999] == ("not_found", "Dossier introuvable dans cet appel.")
    assert [r.application_id for r in outcome.refused] == [c.id, d.id, e.id, 999999]
    assert state_of(a) == ("granted", 4000) and state_of(b) == ("granted", 5000)
    assert state_of(c) == ("proposed", 0) and state_of(d) == ("reviewed", 0)


def test_an_envelope_overrun_is_refused_while_the_call_has_room(world):
    """Envelope « Nord » 5 000 € in a 20 000 € call: 3 000 € then 2 500 € do not both
    fit in it (2 000 € left for the second)."""
    call = factories.make_call(world.fund, budget_cents=20_000 * E,
                               envelopes=[("nord", "Nord", 5_000 * E)])
    set_jury(call, [world.users["juror"].id, world.users["juror2"].id])
    world.call, nord = call, call.envelopes[0]
    first = proposed(world, 3000, 5, 5, envelope_id=nord.id)
    second = proposed(world, 2500, 4, 4, envelope_id=nord.id)
    outcome = deliberations.grant(call, world.users["instructor"], DELIBERATION,
                                  [first.id, second.id])
    assert [g.application_id for g in outcome.granted] == [first.id]
    assert [(r.application_id, r.code) for r in outcome.refused] == [
        (second.id, "budget_exceeded")]
    assert "Enveloppe « Nord » insuffisante" in outcome.refused[0].message
    assert "2\u202f000,00\xa0€ disponibles" in outcome.refused[0].message


def test_an_invalid_deliberation_grants_nothing_and_names_every_field(world):
    app = proposed(world, 4000, 5, 4)
    with pytest.raises(ValidationFailed) as refused:
        deliberations.grant(world.call, world.users["instructor"],
                            {"body": "  ", "reference": "", "date": "12/10/2026"}, [app.id])
    assert set(refused.value.fields) == {"body", "reference", "date"}
    assert refused.value.fields["date"] == ["Date attendue au format AAAA-MM-JJ."]
    with pytest.raises(ValidationFailed) as too_long:
        deliberations.grant(world.call, world.users["instructor"],
                            {**DELIBERATION, "body": "x" * 201}, [app.id])
    assert too_long.value.fields == {"body": ["200 caractères au maximum."]}
    with pytest.raises(ValidationFailed) as none:
        deliberations.grant(world.call, world.users["instructor"], DELIBERATION, [])
    assert "application_ids" in none.value.fields
    assert state_of(app) == ("proposed", 0)


def test_a_reference_names_one_deliberation_of_the_call(world):
    """Granting more under a reference already used needs the same body and date."""
    budget(world, 10_000)
    first = proposed(world, 4000, 5, 4)
    second = proposed(world, 3000, 4, 4)
    deliberations.grant(world.call, world.users["instructor"], DELIBERATION, [first.id])
    with pytest.raises(ValidationFailed) as refused:
        deliberations.grant(world.call, world.users["instructor"],
                            {**DELIBERATION, "date": "2026-10-13"}, [second.id])
    assert "reference" in refused.value.fields
    assert "12/10/2026" in refused.value.message
    outcome = deliberations.grant(world.call, world.users["instructor"], DELIBERATION,
                                  [second.id])
    assert [g.application_id for g in outcome.granted] == [second.id]
    assert [(r.reference, r.count, r.amount_cents // E)
            for r in deliberations.recorded(world.call)] == [("DEL-2026-117", 2, 7000)]


def test_only_an_instructor_records_a_deliberation(world):
    app = proposed(world, 4000, 5, 4)
    with pytest.raises(Forbidden):
        deliberations.grant(world.call, world.users["finance"], DELIBERATION, [app.id])
    assert state_of(app) == ("proposed", 0)


def test_the_proposals_are_listed_best_rank_first(world):
    third = proposed(world, 3000, 3, 4)   # 13.333
    first = proposed(world, 4000, 5, 4)   # 18.667
    second = proposed(world, 5000, 4, 4)  # 16
    reviewed(world, 1000, 5, 5)  # not proposed: not listed
    rows = deliberations.proposals(world.call)
    assert [(r.application.id, r.rank, str(r.score)) for r in rows] == [
        (first.id, 1, "18.667"), (second.id, 2, "16.000"), (third.id, 3, "13.333")]


# -- freed money proposes the waitlist ----------------------------------------------------

@pytest.fixture
def full(world):
    """Budget 10 000 €: A 4 000 € and B 5 000 € proposed (9 000 € held), C 3 000 €
    waitlisted (1 000 € left, under half of 3 000 €)."""
    budget(world, 10_000)
    a = proposed(world, 4000, 5, 4)   # 18.667
    b = proposed(world, 5000, 4, 4)   # 16
    c = waitlisted(world, 3000, 3, 4)  # 13.333
    return a, b, c


def test_nothing_is_proposed_while_the_waitlist_does_not_fit(world, full):
    assert deliberations.promotion_candidate(world.call) is None


def test_a_withdrawn_proposal_frees_its_money_for_the_first_waitlisted(world, full):
    _a, b, c = full
    world.fire(b, "withdraw", {})
    # 10 000 - 4 000 held = 6 000 € left: C's 3 000 € fit whole
    promotion = deliberations.promotion_candidate(world.call)
    assert (promotion.application.id, promotion.amount_cents) == (c.id, 3000 * E)
    application, amount = promotion  # a plain (application, amount) pair
    assert application.id == c.id and amount == 3000 * E


def test_a_cancelled_grant_frees_its_unpaid_part(world, full):
    a, b, c = full
    deliberations.grant(world.call, world.users["instructor"], DELIBERATION, [a.id, b.id])
    assert deliberations.promotion_candidate(world.call) is None
    world.fire(b, "cancel", {"comment": "Le projet n'a pas pu démarrer."})
    # B paid nothing: its 5 000 € are freed, 10 000 - 4 000 = 6 000 € left
    promotion = deliberations.promotion_candidate(world.call)
    assert (promotion.application.id, promotion.amount_cents) == (c.id, 3000 * E)
    assert deliberations.room(world.call).call_cents == 6000 * E


def test_the_partial_share_is_proposed_when_the_whole_request_does_not_fit(world, full):
    *_, c = full
    budget(world, 11_000)
    # 11 000 - 9 000 = 2 000 € left; 2 000 ≥ 50 % of 3 000: C for 2 000 €
    promotion = deliberations.promotion_candidate(world.call)
    assert (promotion.application.id, promotion.amount_cents) == (c.id, 2000 * E)
    budget(world, 10_400)  # 1 400 € < 1 500 €
    assert deliberations.promotion_candidate(world.call) is None


def test_the_call_rule_decides_past_the_first_waitlisted(world, full):
    """2 000 € left; C (3 000 €, rank 1 of the waitlist) then D (1 000 €, rank 2)."""
    *_, c = full
    d = waitlisted(world, 1000, 3, 3)  # 12
    budget(world, 11_000)
    world.call.overflow = "skip"
    db.session.commit()
    promotion = deliberations.promotion_candidate(world.call)
    assert (promotion.application.id, promotion.amount_cents) == (d.id, 1000 * E)
    world.call.overflow = "stop"
    db.session.commit()
    assert deliberations.promotion_candidate(world.call) is None
    world.call.overflow = "partial"
    db.session.commit()
    assert deliberations.promotion_candidate(world.call).application.id == c.id


def test_the_envelope_must_have_room_too(world):
    """Call 10 000 €, envelopes « Nord » 3 000 € and « Sud » 5 000 €: N1 3 000 €
    proposed in Nord, W 2 000 € waitlisted in Nord, V 1 500 € waitlisted in Sud. The call
    has 7 000 € left but Nord nothing: W is passed over (skip rule), V is proposed."""
    call = factories.make_call(world.fund, budget_cents=10_000 * E, overflow="skip",
                               envelopes=[("nord", "Nord", 3_000 * E),
                                          ("sud", "Sud", 5_000 * E)])
    set_jury(call, [world.users["juror"].id, world.users["juror2"].id])
    world.call, nord = call, call.envelopes[0]
    proposed(world, 3000, 5, 5, envelope_id=nord.id)
    w = waitlisted(world, 2000, 5, 4, envelope_id=nord.id)  # 18.667
    v = waitlisted(world, 1500, 4, 4, envelope_id=call.envelopes[1].id)  # 16
    promotion = deliberations.promotion_candidate(call)
    assert (promotion.application.id, promotion.amount_cents) == (v.id, 1500 * E)
    nord.budget_cents = 5_000 * E  # Nord now has 2 000 € left: W first
    db.session.commit()
    promotion = deliberations.promotion_candidate(call)
    assert (promotion.application.id, promotion.amount_cents) == (w.id, 2000 * E)
    room = deliberations.room(call)
    assert (room.call_cents, room.envelopes[nord.id]) == (7000 * E, 2000 * E)


def test_the_promotion_goes_through_the_promote_trigger(world, full):
    _a, b, c = full
    world.fire(b, "withdraw", {})
    application, amount = deliberations.promotion_candidate(world.call)
    world.fire(application, "promote", {"amount_cents": amount})
    db.session.refresh(c)
    assert (c.state, c.proposed_cents) == ("proposed", 3000 * E)
    assert deliberations.promotion_candidate(world.call) is None

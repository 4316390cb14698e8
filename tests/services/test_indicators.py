"""The plan's indicators (SPEC 1 and 6, the Nantes table: « nombre de projets déposés
dans les AAP », per domain, territory and public), against figures computed by hand.

The world (``tests/services/indicators_world.py``; fixed dates, Paris time: the clock of
the workflow and of the trail is set for each step):

- 2025 call (opened 01/03/2025): « Ancienne » submits G on 10/03/2025.
- 2026 call n°1 (opened 01/03/2026):
  - A (Ancienne) emploi + logement, origine + sexe, « Marseille — QPV Frais Vallon » and
    « Aix-en-Provence », 60 beneficiaries, asks 10 000 €; submitted 10/03/2026 at 00:30
    Paris (still 09/03 in UTC); eligible; granted 8 000 € by the deliberation of
    04/05/2026 (recorded on 07/05); paid 5 000 € on 14/05 and 3 000 € on 01/06; its
    report reached 55 beneficiaries.
  - B (Nouvelle 1) emploi, origine, « Vitrolles », 40, 6 000 €; submitted 12/03;
    eligible; refused on 20/05.
  - C (Nouvelle 2) éducation, handicap, « Quartier prioritaire Les Pins », 30, 4 000 €;
    submitted 15/03; declared ineligible.
  - D (Nouvelle 1) logement, sexe, « Marseille — QPV Frais Vallon », 20, 5 000 €;
    submitted 16/03; eligible; granted 5 000 € on 06/05; paid 5 000 € on 26/05.
  - F (Ancienne) citoyenneté, âge, « Istres », 10, 3 000 €; submitted 18/03; eligible;
    withdrawn.
  - E (Nouvelle 2) a draft never submitted: it counts nowhere.
- 2026 call n°2 (opened 01/06/2026): H (Nouvelle 2) emploi, origine, « Vitrolles », 5,
  2 000 €; submitted 10/06/2026.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aap.extensions import db
from aap.models import Call
from aap.services import indicators, money
from aap.services.calls import set_jury
from tests import factories
from tests.helpers import count_queries
from tests.services import indicators_world

E = 100


@pytest.fixture
def story(world, monkeypatch):
    return indicators_world.build(world, monkeypatch)


def _groups(groups) -> dict[str, tuple[int, int, int, int, int, int]]:
    return {g.key: (g.tally.submitted, g.tally.eligible, g.tally.funded,
                    g.tally.requested_cents // E, g.tally.granted_cents // E,
                    g.tally.paid_cents // E) for g in groups}


def test_counts_and_amounts_of_a_call(story):
    ind = indicators.for_call(story.call)
    t = ind.tally
    # A, B, C, D, F submitted (not the draft E); A, B, D, F eligible; A and D granted
    assert (t.submitted, t.eligible, t.funded) == (5, 4, 2)
    assert (t.requested_cents, t.granted_cents, t.paid_cents) == (
        28_000 * E, 13_000 * E, 13_000 * E)


def test_the_amounts_reconcile_with_the_money_figures(story):
    figures = money.for_call(story.call)
    t = indicators.for_call(story.call).tally
    assert (t.granted_cents, t.paid_cents) == (figures.granted_cents, figures.paid_cents)


def test_per_domain_an_application_counts_under_each_of_its_domains(story):
    by_domain = _groups(indicators.for_call(story.call).by_domain)
    assert by_domain == {
        "emploi": (2, 2, 1, 16_000, 8_000, 8_000),          # A, B
        "logement": (2, 2, 2, 15_000, 13_000, 13_000),      # A, D
        "education": (1, 0, 0, 4_000, 0, 0),                # C
        "citoyennete": (1, 1, 0, 3_000, 0, 0),              # F
    }
    # the vocabulary's order, and the rows overlap: 6 > 5 applications
    assert list(by_domain) == ["emploi", "logement", "education", "citoyennete"]
    assert sum(v[0] for v in by_domain.values()) == 6


def test_per_ground(story):
    assert _groups(indicators.for_call(story.call).by_ground) == {
        "origine": (2, 2, 1, 16_000, 8_000, 8_000),          # A, B
        "sexe": (2, 2, 2, 15_000, 13_000, 13_000),          # A, D
        "handicap": (1, 0, 0, 4_000, 0, 0),                 # C
        "age": (1, 1, 0, 3_000, 0, 0),                      # F
    }


def test_per_territory_and_in_or_outside_a_qpv(story):
    ind = indicators.for_call(story.call)
    assert _groups(ind.by_territory) == {
        "Marseille — QPV Frais Vallon": (2, 2, 2, 15_000, 13_000, 13_000),  # A, D
        "Aix-en-Provence": (1, 1, 1, 10_000, 8_000, 8_000),                 # A
        "Istres": (1, 1, 0, 3_000, 0, 0),                                   # F
        "Quartier prioritaire Les Pins": (1, 0, 0, 4_000, 0, 0),            # C
        "Vitrolles": (1, 1, 0, 6_000, 0, 0),                                # B
    }
    assert ind.by_territory[0].key == "Marseille — QPV Frais Vallon"  # most submitted
    # A (one of its two territories), C (« quartier prioritaire ») and D are in a QPV
    assert _groups(ind.by_qpv) == {"qpv": (3, 2, 2, 19_000, 13_000, 13_000),
                                   "hors_qpv": (2, 2, 0, 9_000, 0, 0)}


@pytest.mark.parametrize(("label", "qpv"), [
    ("Marseille — QPV Frais Vallon", True), ("qpv La Castellane", True),
    ("Quartier prioritaire Les Pins", True), ("Quartiers prioritaires de Miramas", True),
    ("Aix-en-Provence", False), ("Quartier de l'Opéra", False), ("Marseille 13e", False),
])
def test_a_territory_names_a_qpv(label, qpv):
    assert indicators.names_a_qpv(label) is qpv


def test_beneficiaries_expected_and_reached(story):
    ind = indicators.for_call(story.call)
    assert ind.beneficiaries_expected == 60 + 20   # the funded A and D
    assert (ind.beneficiaries_reached, ind.reports) == (55, 1)  # A's report


def test_first_time_applicants(story):
    sheet = indicators.compute([story.call_2025, story.call, story.call_2])
    first = sheet.by_call[story.call.id]
    # Ancienne applied to the 2025 call; Nouvelle 1 and 2 never applied before
    assert (first.applicants, first.first_time) == (3, 2)
    assert first.first_time_share == pytest.approx(2 / 3)
    # call n°2: Nouvelle 2 had applied to call n°1, opened earlier
    second = sheet.by_call[story.call_2.id]
    assert (second.applicants, second.first_time) == (1, 0)
    # 2025: Ancienne's first call
    assert (sheet.by_call[story.call_2025.id].applicants,
            sheet.by_call[story.call_2025.id].first_time) == (1, 1)


def test_the_year_counts_each_organisation_once(story):
    year = indicators.compute([story.call, story.call_2]).total
    assert (year.applicants, year.first_time) == (3, 2)
    assert (year.tally.submitted, year.tally.eligible, year.tally.funded) == (6, 4, 2)
    assert year.tally.requested_cents == 30_000 * E
    assert _groups(year.by_domain)["emploi"] == (3, 2, 1, 18_000, 8_000, 8_000)  # A, B, H


def test_durations_in_days(story):
    ind = indicators.for_call(story.call)
    # A: 10/03 (Paris) → the deliberation of 04/05 = 55 days (not the 07/05 recording);
    # B: 12/03 → refused 20/05 = 69; D: 16/03 → 06/05 = 51. C's ineligibility and F's
    # withdrawal are no decision.
    assert (ind.to_decision.count, ind.to_decision.median_days) == (3, 55)
    assert ind.to_decision.mean_days == pytest.approx((55 + 69 + 51) / 3)
    # A: 04/05 → 14/05 = 10 days; D: 06/05 → 26/05 = 20 days
    assert (ind.to_payment.count, ind.to_payment.median_days,
            ind.to_payment.mean_days) == (2, 15, 15)


def test_states(story):
    states = dict(indicators.for_call(story.call).states)
    assert states == {"ineligible": 1, "rejected": 1, "in_progress": 1,
                      "report_submitted": 1, "withdrawn": 1}


def test_juror_scores_never_count_a_recusal(story):
    jurors = indicators.juror_scores([story.call], named=True)[story.call.id]
    by_name = {j.name: j for j in jurors}
    assert list(by_name) == ["Jules Juré", "Julie Jurée"]
    julie, jules = by_name["Julie Jurée"], by_name["Jules Juré"]
    # Julie: A (5, 5) = 20, B (3, 3) = 12, D (4, 1) = 9/15 × 20 = 12
    assert julie.totals == [12, 12, 20]
    # Jules: A (4, 4) = 16, D (2, 4) = 8/15 × 20 = 10.667; his 4 on B, recused, never counts
    assert jules.totals == [10.667, 16]
    assert julie.quartiles == (12, 12, 16)  # inclusive quartiles of 12, 12, 20
    assert jules.quartiles == pytest.approx((12.00025, 13.3335, 14.66675))  # ¼, ½, ¾
    # least squares offsets: A and D, scored by both, differ by 4 and 1.333 → ± 1.333
    assert julie.offset == pytest.approx(1.33325) and jules.offset == pytest.approx(-1.33325)


def test_juror_scores_without_names(story):
    jurors = indicators.juror_scores([story.call, story.call_2], named=False)
    assert [(j.number, j.name, len(j.totals)) for j in jurors[story.call.id]] == [
        (1, None, 3), (2, None, 2)]  # in the order of the juror ids: Julie, then Jules
    assert jurors[story.call_2.id] == []


def test_a_call_without_applications(world):
    ind = indicators.for_call(world.call)
    assert (ind.tally.submitted, ind.applicants, ind.first_time_share) == (0, 0, None)
    assert ind.to_decision == indicators.Durations()
    assert [g.tally.submitted for g in ind.by_qpv] == [0, 0]
    assert indicators.compute([]).total.tally.submitted == 0


def test_only_the_calls_the_user_may_export(story):
    world = story.world
    assert indicators.fiscal_years(world.users["finance"]) == [2026, 2025]
    calls = indicators.calls_of_year(world.users["instructor"], 2026)
    assert {c.id for c in calls} == {story.call.id, story.call_2.id, world.call.id}
    assert [c.opens_at for c in calls] == sorted((c.opens_at for c in calls), reverse=True)
    assert indicators.fiscal_years(world.users["applicant"]) == []
    assert indicators.calls_of_year(world.users["juror"], 2026) == []


def _granted_world(world, n: int) -> list:
    calls = []
    for i in range(n):
        call = factories.make_call(world.fund, title=f"Appel {i}")
        set_jury(call, [world.users["juror"].id])
        org = factories.make_organisation([world.users["applicant"]])
        app = world.bring_to(factories.make_application(call, org), "in_progress")
        world.fire(app, "submit_report")
        calls.append(call)
    db.session.commit()
    return calls


def test_constant_number_of_queries(world):
    """3 then 12 applications, each in its own call and organisation, with a decision,
    a payment and a report: the same number of queries."""
    counts = []
    for n in (3, 12):
        ids = [c.id for c in _granted_world(world, n)]
        db.session.expire_all()
        calls = list(db.session.scalars(select(Call).where(Call.id.in_(ids))).unique())
        with count_queries() as statements:
            sheet = indicators.compute(calls)
        assert sheet.total.tally.funded == n
        counts.append(len(statements))
    assert counts[0] == counts[1]

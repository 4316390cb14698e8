"""Hand-computed allocations, one per rule and one per cap (SPEC 5). The expected rows are
written out by hand; amounts in euros for reading, converted to cents."""

from __future__ import annotations

import hashlib
from decimal import Decimal as D
from fractions import Fraction

import pytest

from aap.allocation import Candidate, Envelope, Parameters, allocate, digest, rows_bytes
from aap.allocation.engine import canonical_inputs

E = 100  # cents per euro


def cands(*rows) -> list[Candidate]:
    """rows: (score, requested €, envelope, organisation, project cost €)."""
    out = []
    for i, row in enumerate(rows, start=1):
        score, euros, envelope, org, cost = (*row, None, None, None)[:5]
        out.append(Candidate(i, f"AAP-2026-{i:04d}", None if score is None else D(str(score)),
                             euros * E, org or i, (cost or euros * 2) * E, envelope))
    return out


def table(result) -> list[tuple]:
    """(application id, outcome, proposed €) by rank, then the unranked."""
    return [(r.application_id, r.outcome, r.proposed_cents // E) for r in result.rows]


def test_partial_gives_the_remainder_when_it_is_enough():
    result = allocate(cands((18, 4000), (16, 3000), (15, 5000), (12, 2000), (9, 1000)),
                      Parameters(budget_cents=10_000 * E, seed="s", min_total=D(10)))
    # 4000 + 3000 leave 3000: 3000 >= 50 % of 5000, so #3 gets 3000; nothing is left
    assert table(result) == [(1, "funded", 4000), (2, "funded", 3000), (3, "partial", 3000),
                             (4, "waitlisted", 0), (5, "rejected", 0)]
    assert [r.rank for r in result.rows] == [1, 2, 3, 4, None]
    assert result.total_proposed_cents == 10_000 * E


def test_partial_below_the_minimum_share_waitlists_and_goes_on():
    result = allocate(cands((18, 4000), (16, 5000), (15, 3000)),
                      Parameters(budget_cents=8_000 * E, seed="s",
                                 partial_min_share=D("0.9")))
    # 4000 left < 90 % of 5000: waitlisted; the next (3000) fits
    assert table(result) == [(1, "funded", 4000), (2, "waitlisted", 0), (3, "funded", 3000)]


def test_skip_goes_on_to_the_next_that_fits():
    result = allocate(cands((18, 4000), (16, 5000), (15, 3000), (14, 2000)),
                      Parameters(budget_cents=8_000 * E, seed="s", overflow="skip"))
    assert table(result) == [(1, "funded", 4000), (2, "waitlisted", 0), (3, "funded", 3000),
                             (4, "waitlisted", 0)]


def test_stop_funds_nothing_after_the_first_that_does_not_fit():
    result = allocate(cands((18, 4000), (16, 5000), (15, 3000), (14, 2000)),
                      Parameters(budget_cents=8_000 * E, seed="s", overflow="stop"))
    assert table(result) == [(1, "funded", 4000), (2, "waitlisted", 0), (3, "waitlisted", 0),
                             (4, "waitlisted", 0)]
    assert "rien n'est financé après le rang 2" in result.rows[2].reason


ENVELOPES = (Envelope("A", "Pays d'Aix", 5_000 * E), Envelope("B", "Istres-Ouest", 5_000 * E))
ENVELOPE_CANDIDATES = ((18, 4000, "A"), (17, 3000, "A"), (16, 2000, "B"), (15, 4000, "B"))


def test_each_envelope_funds_its_own_applications():
    result = allocate(cands(*ENVELOPE_CANDIDATES),
                      Parameters(budget_cents=10_000 * E, seed="s", overflow="skip",
                                 envelopes=ENVELOPES))
    # A: 4000 then 1000 left < 3000; B: 2000 then 3000 left < 4000
    assert table(result) == [(1, "funded", 4000), (2, "waitlisted", 0), (3, "funded", 2000),
                             (4, "waitlisted", 0)]
    assert "l'enveloppe Pays d'Aix" in result.rows[1].reason


def test_leftovers_pool_funds_the_best_remaining_in_rank_order():
    result = allocate(cands(*ENVELOPE_CANDIDATES),
                      Parameters(budget_cents=10_000 * E, seed="s", overflow="skip",
                                 envelopes=ENVELOPES, pool_leftovers=True))
    # pool = 1000 (A) + 3000 (B) = 4000: #2 (3000, rank 2) first, then 1000 < 4000 for #4
    assert table(result) == [(1, "funded", 4000), (2, "funded", 3000), (3, "funded", 2000),
                             (4, "waitlisted", 0)]
    assert result.rows[1].pooled_cents == 3000 * E
    assert "reliquat commun" in result.rows[1].reason


def test_the_call_budget_binds_even_when_the_envelope_has_room():
    result = allocate(cands((18, 4000, "A"), (17, 3000, "B")),
                      Parameters(budget_cents=5_000 * E, seed="s", overflow="skip",
                                 envelopes=ENVELOPES))
    assert table(result) == [(1, "funded", 4000), (2, "waitlisted", 0)]


def test_cap_per_application_in_euros():
    result = allocate(cands((18, 4000), (16, 2000)),
                      Parameters(budget_cents=10_000 * E, seed="s",
                                 cap_per_application_cents=2_500 * E))
    assert table(result) == [(1, "partial", 2500), (2, "funded", 2000)]
    assert "plafond de 2\u202f500\xa0€ par dossier" in result.rows[0].reason


def test_cap_in_share_of_the_project_cost():
    # 80 % of 5 500 € = 4 400 €
    result = allocate(cands((18, 5000, None, 1, 5500)),
                      Parameters(budget_cents=10_000 * E, seed="s",
                                 cap_share_of_cost=D("0.8")))
    assert table(result) == [(1, "partial", 4400)]
    assert "80 % du coût du projet" in result.rows[0].reason


def test_cap_per_organisation_over_the_call():
    result = allocate(cands((18, 4000, None, 7), (17, 3000, None, 7), (16, 3000, None, 8)),
                      Parameters(budget_cents=20_000 * E, seed="s",
                                 cap_per_organisation_cents=5_000 * E))
    assert table(result) == [(1, "funded", 4000), (2, "partial", 1000), (3, "funded", 3000)]


def test_no_score_or_a_score_under_the_minimum_is_rejected():
    result = allocate(cands((None, 1000), (9.999, 1000), (10, 1000)),
                      Parameters(budget_cents=10_000 * E, seed="s", min_total=D(10)))
    # the scored one first (closest to the line), then the unscored
    assert table(result) == [(3, "funded", 1000), (2, "rejected", 0), (1, "rejected", 0)]
    assert "sous le minimum de 10,0/20" in result.rows[1].reason
    assert "évaluations en nombre insuffisant" in result.rows[2].reason


def _draw(seed: str, reference: str) -> str:
    return hashlib.sha256((seed + reference).encode()).hexdigest()


@pytest.mark.parametrize("seed", ["2026-10-12", "loto 4 12 19 33 41", "0"])
def test_ties_are_ordered_by_sha256_of_seed_and_reference(seed):
    candidates = cands((15, 3000), (15, 3000), (15, 3000), (14, 3000))
    result = allocate(candidates, Parameters(budget_cents=6_000 * E, seed=seed,
                                             overflow="skip"))
    expected = sorted(candidates[:3], key=lambda c: _draw(seed, c.reference))
    ranked = [r.application_id for r in result.rows]
    assert ranked == [c.application_id for c in expected] + [4]
    assert [r.proposed_cents // E for r in result.rows] == [3000, 3000, 0, 0]
    assert all(r.drawn for r in result.rows[:3]) and not result.rows[3].drawn
    assert "départagée par tirage" in result.rows[0].reason


def test_grey_zone_draws_the_scores_near_the_funding_line():
    candidates = cands((15.0, 3000), (14.9, 3000), (14.8, 3000), (12, 3000))
    seed = "grey"
    # without grey zone: #1 and #2 funded, the line is at 14.9
    plain = allocate(candidates, Parameters(budget_cents=6_000 * E, seed=seed))
    assert [r.application_id for r in plain.rows if r.proposed_cents] == [1, 2]
    # zone [14.7, 15.1]: #1, #2, #3 drawn; #4 (12) stays last
    result = allocate(candidates, Parameters(budget_cents=6_000 * E, seed=seed,
                                             grey_zone=D("0.2")))
    drawn = sorted(candidates[:3], key=lambda c: _draw(seed, c.reference))
    assert [r.application_id for r in result.rows] == [c.application_id for c in drawn] + [4]
    assert [r.proposed_cents for r in result.rows] == [3000 * E, 3000 * E, 0, 0]


def test_the_reason_reads_as_the_specification_example():
    result = allocate([Candidate(12, "AAP-2026-0012", D("14.2"), 6_000 * E, 1, 20_000 * E,
                                 "aix")],
                      Parameters(budget_cents=100_000 * E, seed="s",
                                 envelopes=(Envelope("aix", "Pays d'Aix", 5_000 * E),)))
    assert result.rows[0].reason == (
        "rang 1, 14,2/20, 5\u202f000\xa0€ sur 6\u202f000\xa0€ demandés : "
        "reliquat de l'enveloppe Pays d'Aix")


def test_a_zero_budget_funds_nobody():
    result = allocate(cands((18, 1000)), Parameters(budget_cents=0, seed="s"))
    assert table(result) == [(1, "waitlisted", 0)]


def test_an_unknown_overflow_rule_is_refused():
    with pytest.raises(ValueError, match="overflow"):
        allocate(cands((18, 1000)), Parameters(budget_cents=0, seed="s", overflow="knapsack"))


def test_the_pool_never_exceeds_what_the_call_has_left():
    # A: 4000, B: 2000 leave the call 0 while the envelopes still hold 1000 + 3000
    result = allocate(cands((18, 4000, "A"), (17, 2000, "B"), (16, 3000, "A")),
                      Parameters(budget_cents=6_000 * E, seed="s", overflow="skip",
                                 envelopes=ENVELOPES, pool_leftovers=True))
    assert table(result) == [(1, "funded", 4000), (2, "funded", 2000), (3, "waitlisted", 0)]


def test_grey_zone_draw_can_change_who_is_funded():
    """Seed « tirage » draws #3 first (SHA-256 order, computed below): #3 and #1 are
    funded, #2 (14.9, funded without the grey zone) is waitlisted."""
    candidates = cands((15.0, 3000), (14.9, 3000), (14.8, 3000), (12, 3000))
    drawn = sorted(candidates[:3], key=lambda c: _draw("tirage", c.reference))
    assert [c.application_id for c in drawn] == [3, 1, 2]  # the oracle's own draw
    result = allocate(candidates, Parameters(budget_cents=6_000 * E, seed="tirage",
                                             grey_zone=D("0.2")))
    assert table(result) == [(3, "funded", 3000), (1, "funded", 3000),
                             (2, "waitlisted", 0), (4, "waitlisted", 0)]
    assert [r.drawn for r in result.rows] == [True, True, True, False]


def test_a_grey_zone_below_the_line_only_reaches_down_to_it():
    """Line at 14.9 (#2); zone 0.05: [14.85, 14.95] holds #2 alone: nothing moves."""
    candidates = cands((15.0, 3000), (14.9, 3000), (14.8, 3000))
    result = allocate(candidates, Parameters(budget_cents=6_000 * E, seed="tirage",
                                             grey_zone=D("0.05")))
    assert table(result) == [(1, "funded", 3000), (2, "funded", 3000), (3, "waitlisted", 0)]


def test_after_the_call_is_spent_every_row_says_so():
    result = allocate(cands((18, 4000, "aix"), (16, 6000, "aix"), (15, 2500, "istres"),
                            (14, 1000)),
                      Parameters(budget_cents=10_000 * E, seed="s"))
    assert table(result) == [(1, "funded", 4000), (2, "funded", 6000),
                             (3, "waitlisted", 0), (4, "waitlisted", 0)]
    third, fourth = result.rows[2], result.rows[3]
    assert (third.rank, third.requested_cents, third.envelope, third.reason) == (
        3, 2_500 * E, "istres",
        "rang 3, 15,0/20, 0\xa0€ sur 2\u202f500\xa0€ demandés : budget de l'appel épuisé")
    assert (fourth.rank, fourth.envelope, fourth.reason) == (
        4, None, "rang 4, 14,0/20, 0\xa0€ sur 1\u202f000\xa0€ demandés : "
                 "budget de l'appel épuisé")


def test_rows_as_bytes_are_compact_utf8_json():
    result = allocate([Candidate(7, "AAP-2026-0007", D("12.50"), 1_000_00, 1, 0, None)],
                      Parameters(budget_cents=500_00, seed="s"))
    assert rows_bytes(result.rows) == (
        '[[7,1,"12.5",100000,50000,"partial",'
        '"rang 1, 12,5/20, 500\xa0€ sur 1\u202f000\xa0€ demandés : reliquat de l\'appel",0]]'
    ).encode("utf-8")


# -- the common pool of the envelopes' leftovers (pool_leftovers) -----------------------

def pooled(budget_euros: int, envelopes: dict[str, float], **params) -> Parameters:
    return Parameters(budget_cents=budget_euros * E, seed="s", pool_leftovers=True,
                      envelopes=tuple(Envelope(k, k.upper(), round(v * E))
                                      for k, v in envelopes.items()), **params)


def test_the_pool_gives_a_partial_remainder_with_its_reason():
    """A (3000) is spent by #1; #3 leaves 3000 in B: the pool is 3000, which is 75 % of
    #2's 4000 (at least the 50 % minimum): #2 gets 3000 from the pool."""
    result = allocate(cands((18, 3000, "a"), (16, 4000, "a"), (15, 2000, "b")),
                      pooled(8000, {"a": 3000, "b": 5000}))
    assert table(result) == [(1, "funded", 3000), (2, "partial", 3000), (3, "funded", 2000)]
    second = result.rows[1]
    assert (second.rank, second.pooled_cents, second.envelope) == (2, 3000 * E, "a")
    assert second.reason == (
        "rang 2, 16,0/20, 3\u202f000\xa0€ sur 4\u202f000\xa0€ demandés : reliquat du fonds "
        "commun ; financé sur le reliquat commun des enveloppes")
    assert [r.pooled_cents for r in result.rows] == [0, 3000 * E, 0]


def test_the_pool_skips_what_it_cannot_fund_whole_and_goes_on():
    """Skip: the pool (B's 3000 left; the call has 4000) cannot fund #2's 4000 whole, so
    #2 stays waitlisted; #3 (1000) and #5 (1500) are funded from it, 500 € remain, too
    little for #6 (500,01 €)."""
    candidates = cands((18, 3000, "a"), (17, 4000, "a"), (16, 1000, "a"), (15, 2000, "b"),
                       (14, 1500, "a"))
    candidates.append(Candidate(6, "AAP-2026-0006", D(13), 500_01, 6, 2_000_00, "a"))
    result = allocate(candidates, pooled(9000, {"a": 3000, "b": 5000}, overflow="skip"))
    assert [(r.application_id, r.outcome, r.proposed_cents) for r in result.rows] == [
        (1, "funded", 3000 * E), (2, "waitlisted", 0), (3, "funded", 1000 * E),
        (4, "funded", 2000 * E), (5, "funded", 1500 * E), (6, "waitlisted", 0)]
    assert [r.pooled_cents // E for r in result.rows] == [0, 0, 1000, 0, 1500, 0]
    assert result.rows[2].reason == (
        "rang 3, 16,0/20, 1\u202f000\xa0€ sur 1\u202f000\xa0€ demandés : "
        "financé sur le reliquat commun des enveloppes")


def test_after_a_stop_the_pool_reaches_the_stopping_row_not_beyond():
    """Stop at #2 (A spent); the pool (B's 5000) funds #2, never #3 after the stop."""
    result = allocate(cands((18, 3000, "a"), (17, 2000, "a"), (16, 1000, "b")),
                      pooled(8000, {"a": 3000, "b": 5000}, overflow="stop"))
    assert table(result) == [(1, "funded", 3000), (2, "funded", 2000), (3, "waitlisted", 0)]


def test_a_pool_of_one_cent_funds_a_request_of_one_cent():
    candidates = [Candidate(1, "AAP-2026-0001", D(18), 1000 * E, 1, 0, "a"),
                  Candidate(2, "AAP-2026-0002", D(17), 1, 2, 0, "a")]
    result = allocate(candidates, pooled(2000, {"a": 1000, "b": 0.01}))
    assert [(r.outcome, r.proposed_cents, r.pooled_cents) for r in result.rows] == [
        ("funded", 1000 * E, 0), ("funded", 1, 1)]


def test_an_organisation_at_its_cap_gets_nothing_from_the_pool():
    """#2 is #1's organisation, already at its 3000 € cap: the pool leaves it waitlisted."""
    result = allocate(cands((18, 3000, "a", 1), (17, 1000, "a", 1)),
                      pooled(8000, {"a": 3000, "b": 5000},
                             cap_per_organisation_cents=3000 * E))
    assert table(result) == [(1, "funded", 3000), (2, "waitlisted", 0)]
    assert result.rows[1].reason.endswith("plafond de 3\u202f000\xa0€ par organisation")


# -- why an application waits (each reason written out) ---------------------------------

NB, NN = "\xa0", "\u202f"  # before €, between thousands


@pytest.mark.parametrize(("overflow", "share", "why"), [
    ("partial", "0.3325", "moins de 33,3 % du montant"),  # 33,25 rounded half up
    ("skip", "0.5", "insuffisant"),
])
def test_what_is_left_is_not_enough(overflow, share, why):
    """10 000 € ; #1 takes 8 000; #2 asks 7 000: 2 000 left, 28,6 % of it."""
    result = allocate(cands((18, 8000), (16, 7000, "nord")),
                      Parameters(budget_cents=10_000 * E, seed="s", overflow=overflow,
                                 partial_min_share=D(share)))
    second = result.rows[1]
    assert (second.outcome, second.reference, second.envelope) == (
        "waitlisted", "AAP-2026-0002", "nord")
    assert second.reason == (f"rang 2, 16,0/20, 0{NB}€ sur 7{NN}000{NB}€ demandés : "
                             f"reste 2{NN}000{NB}€ sur l'appel, {why}")


def test_one_cent_left_is_not_a_spent_budget():
    result = allocate(cands((18, 8000), (16, 1000)),
                      Parameters(budget_cents=8_000 * E + 1, seed="s"))
    assert result.rows[1].reason == (f"rang 2, 16,0/20, 0{NB}€ sur 1{NN}000{NB}€ demandés : "
                                     f"reste 0,01{NB}€ sur l'appel, moins de 50 % du montant")


def test_a_spent_envelope_is_named():
    result = allocate(cands((18, 3000, "a"), (16, 1000, "a")),
                      Parameters(budget_cents=10_000 * E, seed="s",
                                 envelopes=(Envelope("a", "Pays d'Aix", 3_000 * E),)))
    assert result.rows[1].reason == (f"rang 2, 16,0/20, 0{NB}€ sur 1{NN}000{NB}€ demandés : "
                                     "budget de l'enveloppe Pays d'Aix épuisé")


def test_a_request_equal_to_the_cap_is_not_capped():
    result = allocate(cands((18, 5000)), Parameters(budget_cents=10_000 * E, seed="s",
                                                    cap_per_application_cents=5_000 * E))
    assert result.rows[0].reason == (
        f"rang 1, 18,0/20, 5{NN}000{NB}€ sur 5{NN}000{NB}€ demandés : financé")


def test_the_funding_line_is_the_last_funded_not_the_last_row():
    """Skip leaves 500 € unspent, so every row is examined: the line is still #2's 14,9
    (the last funded), and the zone [14,7 ; 15,1] is drawn as with a spent budget."""
    candidates = cands((15.0, 3000), (14.9, 3000), (14.8, 3000), (12, 3000))
    result = allocate(candidates, Parameters(budget_cents=6_500 * E, seed="tirage",
                                             overflow="skip", grey_zone=D("0.2")))
    assert table(result) == [(3, "funded", 3000), (1, "funded", 3000),
                             (2, "waitlisted", 0), (4, "waitlisted", 0)]


def test_the_grey_zone_includes_both_of_its_bounds():
    """Line 14,9, zone 0,2: 15,1 and 14,7 are on the bounds and drawn with it."""
    candidates = cands((15.1, 3000), (14.9, 3000), (14.7, 3000))
    drawn = sorted(candidates, key=lambda c: _draw("tirage", c.reference))
    result = allocate(candidates, Parameters(budget_cents=6_000 * E, seed="tirage",
                                             grey_zone=D("0.2")))
    assert [r.application_id for r in result.rows] == [c.application_id
                                                       for c in drawn] == [3, 1, 2]


@pytest.mark.parametrize("params", [
    dict(cap_share_of_cost=D("0.5")),  # 5 000 is exactly half of the 10 000 € project
    dict(cap_per_organisation_cents=5_000 * E),  # exactly what the organisation may get
])
def test_a_request_exactly_at_a_cap_is_not_capped(params):
    result = allocate(cands((18, 5000, None, 1, 10_000)),
                      Parameters(budget_cents=10_000 * E, seed="s", **params))
    assert result.rows[0].reason == (
        f"rang 1, 18,0/20, 5{NN}000{NB}€ sur 5{NN}000{NB}€ demandés : financé")


def test_an_envelope_with_as_much_left_as_the_call_names_the_call():
    result = allocate(cands((18, 6000, "a")),
                      Parameters(budget_cents=5_000 * E, seed="s",
                                 envelopes=(Envelope("a", "Pays d'Aix", 5_000 * E),)))
    assert result.rows[0].reason == (
        f"rang 1, 18,0/20, 5{NN}000{NB}€ sur 6{NN}000{NB}€ demandés : reliquat de l'appel")


def test_stop_on_a_spent_call_keeps_the_ranks():
    result = allocate(cands((18, 5000), (16, 1000), (15, 1000)),
                      Parameters(budget_cents=5_000 * E, seed="s", overflow="stop"))
    assert [(r.rank, r.reason) for r in result.rows[1:]] == [
        (2, f"rang 2, 16,0/20, 0{NB}€ sur 1{NN}000{NB}€ demandés : budget de l'appel épuisé"),
        (3, f"rang 3, 15,0/20, 0{NB}€ sur 1{NN}000{NB}€ demandés : règle « arrêt » : rien "
            "n'est financé après le rang 2")]


def test_the_pool_gives_a_capped_amount_with_its_cap():
    """Cap 2 000 € per application, minimum share 60 %: #1 gets 2 000 from A (1 000 left);
    #2's 1 000 from A is under 60 % of 2 000: waitlisted; then the pool (A's 1 000 and
    B's 5 000) gives #2 its capped 2 000."""
    result = allocate(cands((18, 3000, "a"), (16, 3000, "a")),
                      pooled(9000, {"a": 3000, "b": 5000}, partial_min_share=D("0.6"),
                             cap_per_application_cents=2_000 * E))
    assert table(result) == [(1, "partial", 2000), (2, "partial", 2000)]
    assert result.rows[1].pooled_cents == 2_000 * E
    assert result.rows[1].reason == (
        f"rang 2, 16,0/20, 2{NN}000{NB}€ sur 3{NN}000{NB}€ demandés : plafond de "
        f"2{NN}000{NB}€ par dossier ; financé sur le reliquat commun des enveloppes")


def test_rejected_rows_best_score_first_then_the_unscored():
    candidates = [Candidate(1, "AAP-2026-0001", None, 2_000 * E, 1, 0, "nord"),
                  Candidate(2, "AAP-2026-0002", D("6.5"), 3_000 * E, 2, 0, "sud"),
                  Candidate(3, "AAP-2026-0003", D("9"), 1_000 * E, 3, 0, None)]
    rows = allocate(candidates, Parameters(budget_cents=10_000 * E, seed="s",
                                           min_total=D(10))).rows
    assert [(r.application_id, r.reference, r.rank, r.score, r.requested_cents,
             r.proposed_cents, r.outcome, r.envelope) for r in rows] == [
        (3, "AAP-2026-0003", None, D(9), 1_000 * E, 0, "rejected", None),
        (2, "AAP-2026-0002", None, D("6.5"), 3_000 * E, 0, "rejected", "sud"),
        (1, "AAP-2026-0001", None, None, 2_000 * E, 0, "rejected", "nord")]
    assert [r.reason for r in rows] == [
        f"non classé, 9,0/20, 1{NN}000{NB}€ demandés : note sous le minimum de 10,0/20",
        f"non classé, 6,5/20, 3{NN}000{NB}€ demandés : note sous le minimum de 10,0/20",
        f"non classé, 2{NN}000{NB}€ demandés : pas de note : évaluations en nombre "
        "insuffisant"]


def test_a_tie_of_two_is_drawn_and_says_so():
    rows = allocate(cands((15, 1000), (15, 1000), (14, 1000)),
                    Parameters(budget_cents=10_000 * E, seed="s")).rows
    by_id = {r.application_id: r for r in rows}
    assert (by_id[1].drawn, by_id[2].drawn, by_id[3].drawn) == (True, True, False)
    assert by_id[3].reason == f"rang 3, 14,0/20, 1{NN}000{NB}€ sur 1{NN}000{NB}€ demandés : financé"
    assert by_id[1].reason.endswith(" : financé ; place départagée par tirage")


def test_a_negative_envelope_budget_is_refused():
    with pytest.raises(ValueError) as refused:
        allocate([], Parameters(budget_cents=1_000, seed="s",
                                envelopes=(Envelope("a", "A", -1),)))
    assert str(refused.value) == "budgets cannot be negative"


def test_only_decimal_scores_enter_the_canonical_inputs():
    with pytest.raises(TypeError) as refused:
        digest([Candidate(1, "R", Fraction(25, 2), 100, 1)],
               Parameters(budget_cents=100, seed="s"))
    assert str(refused.value) == "Fraction is not part of the canonical inputs"


def test_the_canonical_inputs_byte_for_byte():
    """The stored form a replay hashes: sorted keys, no spaces, UTF-8 as is."""
    data = canonical_inputs([Candidate(1, "AAP-é", D("12.50"), 100, 7, 0, "a")],
                            Parameters(budget_cents=100, seed="s",
                                       envelopes=(Envelope("a", "Aix-é", 100),)))
    assert data == (
        '{"applications":[[1,"AAP-é","12.5",100,7,0,"a"]],"parameters":{'
        '"aggregation":"mean","budget_cents":100,"cap_per_application_cents":null,'
        '"cap_per_organisation_cents":null,"cap_share_of_cost":null,'
        '"envelopes":[["a","Aix-é",100]],"grey_zone":"0","min_total":"0",'
        '"overflow":"partial","partial_min_share":"0.5","pool_leftovers":false,'
        '"scale":20,"seed":"s"}}').encode()


def test_an_organisation_cap_counts_every_grant_of_the_organisation():
    """Cap 5 000 € per organisation: 2 000 + 2 000, then only 1 000 for the third."""
    result = allocate(cands((18, 2000, None, 1), (17, 2000, None, 1), (16, 2000, None, 1)),
                      Parameters(budget_cents=10_000 * E, seed="s",
                                 cap_per_organisation_cents=5_000 * E))
    assert table(result) == [(1, "funded", 2000), (2, "funded", 2000), (3, "partial", 1000)]
    assert [r.reference for r in result.rows] == [
        "AAP-2026-0001", "AAP-2026-0002", "AAP-2026-0003"]


def test_a_capped_remainder_names_both():
    """Cap 3 000 € per application: #2 gets its capped 3 000 when 3 000 are left, and
    the 2 000 left otherwise (at least half of the capped 3 000)."""
    capped = allocate(cands((18, 3000), (16, 5000)),
                      Parameters(budget_cents=6_000 * E, seed="s",
                                 cap_per_application_cents=3_000 * E))
    assert capped.rows[1].reason == (
        f"rang 2, 16,0/20, 3{NN}000{NB}€ sur 5{NN}000{NB}€ demandés : plafond de "
        f"3{NN}000{NB}€ par dossier")
    left = allocate(cands((18, 3000), (16, 5000)),
                    Parameters(budget_cents=5_000 * E, seed="s",
                               cap_per_application_cents=3_000 * E))
    assert left.rows[1].reason == (
        f"rang 2, 16,0/20, 2{NN}000{NB}€ sur 5{NN}000{NB}€ demandés : plafond de "
        f"3{NN}000{NB}€ par dossier ; reliquat de l'appel")


def test_amounts_of_nothing_and_of_one_cent():
    result = allocate([Candidate(1, "AAP-2026-0001", D(18), 0, 1),
                       Candidate(2, "AAP-2026-0002", D(17), 1, 2)],
                      Parameters(budget_cents=10, seed="s"))
    assert [(r.outcome, r.proposed_cents) for r in result.rows] == [
        ("waitlisted", 0), ("funded", 1)]
    assert result.rows[0].reason.endswith(" : montant nul")


def test_with_no_minimum_share_an_empty_envelope_still_gives_nothing():
    result = allocate(cands((18, 3000, "a"), (16, 1000, "a")),
                      Parameters(budget_cents=10_000 * E, seed="s", partial_min_share=D(0),
                                 envelopes=(Envelope("a", "A", 3_000 * E),)))
    assert table(result) == [(1, "funded", 3000), (2, "waitlisted", 0)]
    one_cent = allocate(cands((18, 3000, "a"), (16, 1000, "a")),
                        Parameters(budget_cents=10_000 * E, seed="s",
                                   partial_min_share=D(0),
                                   envelopes=(Envelope("a", "A", 3_000 * E + 1),)))
    assert [(r.outcome, r.proposed_cents) for r in one_cent.rows] == [
        ("funded", 3_000 * E), ("partial", 1)]

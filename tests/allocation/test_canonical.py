"""The canonical inputs a run stores, and the draw.

A run stores its inputs as a canonical document so that ``aap allocate --replay`` can
recompute it: reading the document back must give every input as it was, field by
field (each one below differs from its default, so a field dropped or swapped shows).
The draw is SHA-256 of the seed followed by the reference (SPEC 5), computed here with
hashlib itself.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from aap.allocation import engine
from aap.allocation.engine import Candidate, Envelope, Parameters

PARAMS = Parameters(
    budget_cents=123_456_78, seed="Loto 7 12 25", scale=10,
    envelopes=(Envelope("sud", "Pays d'Aubagne", 40_000_00),
               Envelope("aix", "Pays d'Aix", 60_000_01)),
    pool_leftovers=True, min_total=Decimal("7.5"), overflow="stop",
    partial_min_share=Decimal("0.333"), cap_per_application_cents=25_000_00,
    cap_share_of_cost=Decimal("0.8"), cap_per_organisation_cents=50_000_00,
    grey_zone=Decimal("0.25"), aggregation="median")

CANDIDATES = [
    Candidate(application_id=42, reference="AAP-2026-0042", score=Decimal("14.125"),
              requested_cents=12_000_50, organisation_id=7, project_cost_cents=30_000_00,
              envelope="aix"),
    Candidate(application_id=5, reference="AAP-2026-0005", score=None,
              requested_cents=3_000_00, organisation_id=8, project_cost_cents=0,
              envelope=None),
]


def test_the_document_gives_back_every_input():
    candidates, params = engine.from_canonical(engine.canonical_document(CANDIDATES, PARAMS))
    assert params == Parameters(
        budget_cents=123_456_78, seed="Loto 7 12 25", scale=10,
        # the document lists the envelopes by key
        envelopes=(Envelope("aix", "Pays d'Aix", 60_000_01),
                   Envelope("sud", "Pays d'Aubagne", 40_000_00)),
        pool_leftovers=True, min_total=Decimal("7.5"), overflow="stop",
        partial_min_share=Decimal("0.333"), cap_per_application_cents=25_000_00,
        cap_share_of_cost=Decimal("0.8"), cap_per_organisation_cents=50_000_00,
        grey_zone=Decimal("0.25"), aggregation="median")
    assert candidates == sorted(CANDIDATES, key=lambda c: c.application_id)  # by id


def test_caps_left_unset_stay_unset():
    bare = Parameters(budget_cents=1_000_00, seed="s")
    _candidates, params = engine.from_canonical(engine.canonical_document([], bare))
    assert params == bare
    assert (params.cap_per_application_cents, params.cap_share_of_cost,
            params.cap_per_organisation_cents) == (None, None, None)


def test_the_document_writes_decimals_as_plain_text():
    document = engine.canonical_document(CANDIDATES, PARAMS)
    assert document["applications"] == [
        [5, "AAP-2026-0005", None, 3_000_00, 8, 0, None],
        [42, "AAP-2026-0042", "14.125", 12_000_50, 7, 30_000_00, "aix"]]
    assert (document["parameters"]["min_total"], document["parameters"]["grey_zone"]) == (
        "7.5", "0.25")


def test_the_draw_is_sha256_of_seed_then_reference():
    assert engine.draw_key("Loto 7", "AAP-2026-0001") == hashlib.sha256(
        b"Loto 7AAP-2026-0001").hexdigest()
    assert engine.draw_key("é", "ü") == hashlib.sha256("éü".encode()).hexdigest()


def test_equal_scores_are_ordered_by_the_draw():
    references = [f"AAP-2026-{i:04d}" for i in range(1, 40)]
    tied = [Candidate(application_id=i, reference=ref, score=Decimal(12),
                      requested_cents=100, organisation_id=i)
            for i, ref in enumerate(references, start=1)]
    rows = engine.allocate(tied, Parameters(budget_cents=0, seed="tirage")).rows
    by_draw = sorted(references, key=lambda ref: hashlib.sha256(
        f"tirage{ref}".encode()).hexdigest())
    assert [r.reference for r in rows] == by_draw
    assert all(r.drawn for r in rows)

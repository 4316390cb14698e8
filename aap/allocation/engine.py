"""The allocation engine (SPEC 5): pure, with no Flask and no database.

Greedy by rank, never a knapsack: maximising the sum of scores under the budget funds
cheap weak projects. The steps:

1. Applications with no score (fewer reviews than required) or a score under the minimum
   total are rejected.
2. The others are ranked by score. Ties, and the optional grey zone of scores within a
   margin of the funding line, are ordered by SHA-256(seed ‖ reference): a draw anyone
   can replay (the modified lottery of the SNSF and the British Academy).
3. In rank order each application gets its request, within the caps (per application in
   euros and in share of the project's cost, per organisation over the call), if both its
   envelope and the call have room. At the first that does not fit, the call's overflow
   rule decides: ``partial`` funds it with what is left when that is at least
   ``partial_min_share`` of its amount (else it is waitlisted and the run goes on),
   ``skip`` goes on to the next, ``stop`` funds nothing after it.
4. With ``pool_leftovers``, what the envelopes leave forms a common pool that funds the
   best remaining applications in a second pass, in global rank order.

The inputs are canonicalised and hashed: the same inputs give the same digest and
byte-identical rows.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from operator import attrgetter
from typing import NamedTuple

from aap.memory import cycle_collector_paused

OVERFLOW_RULES = ("partial", "skip", "stop")
OUTCOMES = ("funded", "partial", "waitlisted", "rejected")
SCORE_PLACES = Decimal("0.001")


@dataclass(frozen=True)
class Candidate:
    """A reviewed application as the engine sees it."""

    application_id: int
    reference: str
    score: Decimal | None
    requested_cents: int
    organisation_id: int
    project_cost_cents: int = 0
    envelope: str | None = None


@dataclass(frozen=True)
class Envelope:
    key: str
    label: str
    budget_cents: int


@dataclass(frozen=True)
class Parameters:
    budget_cents: int
    seed: str
    scale: int = 20
    envelopes: tuple[Envelope, ...] = ()
    pool_leftovers: bool = False
    min_total: Decimal = Decimal(0)
    overflow: str = "partial"
    partial_min_share: Decimal = Decimal("0.5")
    cap_per_application_cents: int | None = None
    cap_share_of_cost: Decimal | None = None
    cap_per_organisation_cents: int | None = None
    grey_zone: Decimal = Decimal(0)
    aggregation: str = "mean"


class Row(NamedTuple):
    """One application's outcome (a named tuple: a run makes hundreds of thousands)."""

    application_id: int
    reference: str
    rank: int | None
    score: Decimal | None
    requested_cents: int
    proposed_cents: int
    outcome: str
    reason: str
    envelope: str | None = None
    pooled_cents: int = 0
    drawn: bool = False  # its place was decided by the draw (tie or grey zone)


@dataclass(frozen=True)
class Result:
    rows: tuple[Row, ...]
    digest: str

    @property
    def total_proposed_cents(self) -> int:
        return sum(r.proposed_cents for r in self.rows)


# -- canonical inputs ---------------------------------------------------------------

@lru_cache(maxsize=65536)
def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(Decimal(value).normalize(), "f")


# one application in the canonical inputs (a tuple is written as a JSON array)
_CANONICAL_FIELDS = attrgetter("application_id", "reference", "score", "requested_cents",
                               "organisation_id", "project_cost_cents", "envelope")
_BY_ID = attrgetter("application_id")
_SCORE = attrgetter("score")
_REFERENCE = attrgetter("reference")


def _decimal_as_text(value: object) -> str | None:
    """``json.dumps``'s hook for the scores: a Decimal as its plain normalised text."""
    if isinstance(value, Decimal):
        return _dec(value)
    raise TypeError(f"{type(value).__name__} is not part of the canonical inputs")


def canonical_inputs(candidates: Iterable[Candidate], params: Parameters) -> bytes:
    """The inputs as canonical JSON: sorted keys and rows, decimals as plain strings."""
    document = {
        "parameters": {
            "budget_cents": params.budget_cents, "seed": params.seed, "scale": params.scale,
            "envelopes": [[e.key, e.label, e.budget_cents]
                          for e in sorted(params.envelopes, key=lambda e: e.key)],
            "pool_leftovers": params.pool_leftovers, "min_total": _dec(params.min_total),
            "overflow": params.overflow, "partial_min_share": _dec(params.partial_min_share),
            "cap_per_application_cents": params.cap_per_application_cents,
            "cap_share_of_cost": _dec(params.cap_share_of_cost),
            "cap_per_organisation_cents": params.cap_per_organisation_cents,
            "grey_zone": _dec(params.grey_zone), "aggregation": params.aggregation,
        },
        # attrgetter and the encoder's hook keep the hundred thousand rows out of Python
        "applications": list(map(_CANONICAL_FIELDS, sorted(candidates, key=_BY_ID))),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_decimal_as_text).encode()


def canonical_document(candidates: Iterable[Candidate], params: Parameters) -> dict:
    """The canonical inputs as a JSON-ready document (what a run stores to be replayed)."""
    return json.loads(canonical_inputs(candidates, params))


def from_canonical(document: dict) -> tuple[list[Candidate], Parameters]:
    """The inputs back from :func:`canonical_document`: replaying them gives the run."""
    p = document["parameters"]

    def dec(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    params = Parameters(
        budget_cents=p["budget_cents"], seed=p["seed"], scale=p["scale"],
        envelopes=tuple(Envelope(k, label, cents) for k, label, cents in p["envelopes"]),
        pool_leftovers=p["pool_leftovers"], min_total=dec(p["min_total"]),
        overflow=p["overflow"], partial_min_share=dec(p["partial_min_share"]),
        cap_per_application_cents=p["cap_per_application_cents"],
        cap_share_of_cost=dec(p["cap_share_of_cost"]),
        cap_per_organisation_cents=p["cap_per_organisation_cents"],
        grey_zone=dec(p["grey_zone"]), aggregation=p["aggregation"])
    candidates = [Candidate(application_id=a[0], reference=a[1], score=dec(a[2]),
                            requested_cents=a[3], organisation_id=a[4],
                            project_cost_cents=a[5], envelope=a[6])
                  for a in document["applications"]]
    return candidates, params


def digest(candidates: Iterable[Candidate], params: Parameters) -> str:
    return hashlib.sha256(canonical_inputs(candidates, params)).hexdigest()


def draw_key(seed: str, reference: str) -> str:
    """The replayable draw: SHA-256 of the seed followed by the reference."""
    return hashlib.sha256(f"{seed}{reference}".encode()).hexdigest()


def _draw_order(seed: str):
    """A sort key in the order of :func:`draw_key` (raw digests sort as their hex)."""
    sha256, prefix = hashlib.sha256, seed.encode()
    return lambda c: sha256(prefix + c.reference.encode()).digest()


def rows_bytes(rows: Sequence[Row]) -> bytes:
    """The rows as canonical JSON, to compare two runs byte for byte."""
    return json.dumps([[r.application_id, r.rank, _dec(r.score), r.requested_cents,
                        r.proposed_cents, r.outcome, r.reason, r.pooled_cents]
                       for r in rows], separators=(",", ":"), ensure_ascii=False).encode()


# -- the run -----------------------------------------------------------------------

def allocate(candidates: Sequence[Candidate], params: Parameters) -> Result:
    """Rank and fund ``candidates`` under ``params``; see the module doc."""
    _check(params)
    with cycle_collector_paused():
        fundable, rejected = _split(candidates, params)
        ordered, drawn = _order(fundable, params)
        if params.grey_zone > 0 and ordered:
            ordered, drawn = _grey_zone_order(ordered, drawn, params)
        funded = _Greedy(params).run(ordered, drawn)
        rows = tuple(funded + _rejected_rows(rejected, params))
        return Result(rows=rows, digest=digest(candidates, params))


def _check(params: Parameters) -> None:
    if params.overflow not in OVERFLOW_RULES:
        raise ValueError(f"unknown overflow rule {params.overflow!r}")
    if params.budget_cents < 0 or any(e.budget_cents < 0 for e in params.envelopes):
        raise ValueError("budgets cannot be negative")


def _split(candidates: Sequence[Candidate], params: Parameters
           ) -> tuple[list[Candidate], list[Candidate]]:
    low = params.min_total
    fundable = [c for c in candidates if c.score is not None and c.score >= low]
    rejected = [c for c in candidates if c.score is None or c.score < low]
    # best score first, the unscored last, then by reference: stable sorts on C keys
    rejected.sort(key=_REFERENCE)
    scored = [c for c in rejected if c.score is not None]
    scored.sort(key=_SCORE, reverse=True)
    return fundable, scored + [c for c in rejected if c.score is None]


def _order(fundable: list[Candidate], params: Parameters
           ) -> tuple[list[Candidate], set[int]]:
    """By score, best first; equal scores by the draw. Returns who was drawn."""
    # two stable sorts (the second keeps the draw's order among equal scores): cheaper
    # than one on (-score, draw) for a hundred thousand rows
    ordered = sorted(fundable, key=_draw_order(params.seed))
    ordered.sort(key=_SCORE, reverse=True)
    counts = Counter(map(_SCORE, ordered))
    return ordered, {c.application_id for c in ordered if counts[c.score] > 1}


def _grey_zone_order(ordered: list[Candidate], drawn: set[int], params: Parameters
                     ) -> tuple[list[Candidate], set[int]]:
    """Reorder by the draw the block of scores within ``grey_zone`` of the funding line
    (the score of the last application a run without grey zone funds)."""
    first = _Greedy(params, explain=False).run(ordered, drawn)
    funded_scores = [r.score for r in first if r.proposed_cents > 0]
    if not funded_scores:
        return ordered, drawn
    line = funded_scores[-1]
    low, high = line - params.grey_zone, line + params.grey_zone
    inside = [i for i, score in enumerate(map(_SCORE, ordered)) if low <= score <= high]
    block = sorted((ordered[i] for i in inside), key=_draw_order(params.seed))
    reordered = list(ordered)
    for i, c in zip(inside, block, strict=True):
        reordered[i] = c
    return reordered, drawn | {c.application_id for c in block}


@dataclass
class _Greedy:
    params: Parameters
    explain: bool = True  # False: amounts only (the grey zone's first pass)
    left_call: int = 0
    left_envelope: dict[str, int] = field(default_factory=dict)
    given_organisation: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.left_call = self.params.budget_cents
        self.left_envelope = {e.key: e.budget_cents for e in self.params.envelopes}
        self.sources = {e.key: f"l'enveloppe {e.label}" for e in self.params.envelopes}
        # exact integer ratios: no Decimal arithmetic per row
        self.min_share = Decimal(self.params.partial_min_share).as_integer_ratio()
        share = self.params.cap_share_of_cost
        self.cost_share = Decimal(share).as_integer_ratio() if share is not None else (1, 1)

    def _enough(self, amount: int, wanted: int) -> bool:
        """At least ``partial_min_share`` of what was wanted."""
        numerator, denominator = self.min_share
        return amount * denominator >= numerator * wanted

    def run(self, ordered: list[Candidate], drawn: set[int]) -> list[Row]:
        rows: list[Row] = []
        stopped_at: int | None = None
        for rank, c in enumerate(ordered, start=1):
            if self.left_call <= 0 and stopped_at is None and self.params.overflow != "stop":
                # the common case of a long list: nothing is left for the rest (and no pool)
                if self.explain:
                    rows += self._spent(ordered, rank, drawn)
                return rows
            if stopped_at is not None:
                rows.append(self._waitlisted(c, rank, drawn, self._after_stop(stopped_at)))
                continue
            row = self._fund(c, rank, drawn)
            if row.proposed_cents == 0 and self.params.overflow == "stop":
                stopped_at = rank
            rows.append(row)
        if self.params.pool_leftovers and self.params.envelopes:
            rows = self._pool_pass(rows, ordered, drawn, stopped_at)
        return rows

    def _spent(self, ordered: list[Candidate], first_rank: int, drawn: set[int]
               ) -> list[Row]:
        """The rows from ``first_rank`` on, once the call's budget is spent."""
        why, params = ["budget de l'appel épuisé"], self.params
        return [Row(c.application_id, c.reference, rank, c.score, c.requested_cents, 0,
                    "waitlisted", _reason(c, rank, params, 0, why, drawn), c.envelope, 0,
                    c.application_id in drawn)
                for rank, c in enumerate(ordered[first_rank - 1:], start=first_rank)]

    # one application --------------------------------------------------------------
    def _wanted(self, c: Candidate) -> tuple[int, str | None]:
        """The amount within the caps, and the cap that bound it (if any)."""
        p, amount, why = self.params, c.requested_cents, None
        if p.cap_per_application_cents is not None and amount > p.cap_per_application_cents:
            amount, why = p.cap_per_application_cents, (
                f"plafond de {format_eur(p.cap_per_application_cents)} par dossier")
        if p.cap_share_of_cost is not None:
            numerator, denominator = self.cost_share
            share_cap = c.project_cost_cents * numerator // denominator
            if amount > share_cap:
                amount, why = share_cap, (
                    f"plafond de {_percent(p.cap_share_of_cost)} du coût du projet")
        if p.cap_per_organisation_cents is not None:
            left = p.cap_per_organisation_cents - self.given_organisation.get(
                c.organisation_id, 0)
            if amount > left:
                amount, why = max(left, 0), (
                    f"plafond de {format_eur(p.cap_per_organisation_cents)} par organisation")
        return amount, why

    def _room(self, c: Candidate) -> tuple[int, str]:
        """What both the call and the application's envelope have left, and where from."""
        if c.envelope in self.left_envelope:
            left = self.left_envelope[c.envelope]
            if left < self.left_call:
                return left, self.sources[c.envelope]
        return self.left_call, "l'appel"

    def _fund(self, c: Candidate, rank: int, drawn: set[int]) -> Row:
        if self.left_call <= 0:  # the common case of a long list: nothing is left
            return self._waitlisted(c, rank, drawn, "budget de l'appel épuisé")
        if not self.explain and self._room(c)[0] <= 0:
            return self._waitlisted(c, rank, drawn, "")  # no room: whatever it wants
        wanted, cap = self._wanted(c)
        if wanted <= 0:
            return self._waitlisted(c, rank, drawn, cap or "montant nul")
        room, source = self._room(c)
        if wanted <= room:
            return self._give(c, rank, drawn, wanted, cap, None)
        if self.params.overflow == "partial" and room > 0 and self._enough(room, wanted):
            return self._give(c, rank, drawn, room, cap, f"reliquat de {source}")
        why = _no_room(source, room, self.params, wanted) if self.explain else ""
        return self._waitlisted(c, rank, drawn, why)

    def _give(self, c: Candidate, rank: int, drawn: set[int], amount: int, cap: str | None,
              remainder: str | None, pooled: bool = False) -> Row:
        self.left_call -= amount
        if c.envelope in self.left_envelope and not pooled:
            self.left_envelope[c.envelope] -= amount
        self.given_organisation[c.organisation_id] = \
            self.given_organisation.get(c.organisation_id, 0) + amount
        outcome = "funded" if amount == c.requested_cents else "partial"
        why = [w for w in (cap, remainder) if w]
        if pooled:
            why.append("financé sur le reliquat commun des enveloppes")
        reason = _reason(c, rank, self.params, amount, why or ["financé"], drawn) \
            if self.explain else ""
        return Row(c.application_id, c.reference, rank, c.score, c.requested_cents, amount,
                   outcome, reason, c.envelope, amount if pooled else 0,
                   c.application_id in drawn)

    def _waitlisted(self, c: Candidate, rank: int, drawn: set[int], why: str) -> Row:
        reason = _reason(c, rank, self.params, 0, [why], drawn) if self.explain else ""
        return Row(c.application_id, c.reference, rank, c.score, c.requested_cents, 0,
                   "waitlisted", reason, c.envelope, 0, c.application_id in drawn)

    @staticmethod
    @lru_cache(maxsize=64)
    def _after_stop(stopped_at: int) -> str:
        return f"règle « arrêt » : rien n'est financé après le rang {stopped_at}"

    # the common pool ----------------------------------------------------------------
    def _pool_pass(self, rows: list[Row], ordered: list[Candidate], drawn: set[int],
                   stopped_at: int | None) -> list[Row]:
        pool = min(sum(max(v, 0) for v in self.left_envelope.values()), self.left_call)
        if pool <= 0:
            return rows
        out = []
        for row, c in zip(rows, ordered, strict=True):  # rows are in rank order
            eligible = (row.outcome == "waitlisted" and pool > 0
                        and (stopped_at is None or row.rank <= stopped_at)
                        and c.envelope in self.left_envelope)
            if not eligible:
                out.append(row)
                continue
            wanted, cap = self._wanted(c)
            amount = min(wanted, pool)
            enough = amount == wanted or (self.params.overflow == "partial"
                                          and self._enough(amount, wanted))
            if amount <= 0 or not enough:
                out.append(row)
                continue
            pool -= amount
            given = self._give(c, row.rank, drawn, amount, cap,
                               None if amount == wanted else "reliquat du fonds commun",
                               pooled=True)
            out.append(given)
        return out


def _rejected_rows(rejected: list[Candidate], params: Parameters) -> list[Row]:
    scale = params.scale
    below = f"note sous le minimum de {_score(params.min_total)}/{scale}"
    return [Row(c.application_id, c.reference, None, c.score, c.requested_cents, 0,
                "rejected",
                f"non classé, {format_eur(c.requested_cents)} demandés : pas de note : "
                "évaluations en nombre insuffisant" if c.score is None else
                f"non classé, {_score(c.score)}/{scale}, {format_eur(c.requested_cents)} "
                f"demandés : {below}", c.envelope)
            for c in rejected]


def _no_room(source: str, room: int, params: Parameters, wanted: int) -> str:
    if room <= 0:
        return f"budget de {source} épuisé"
    if params.overflow == "partial":
        return (f"reste {format_eur(room)} sur {source}, moins de "
                f"{_percent(params.partial_min_share)} du montant")
    return f"reste {format_eur(room)} sur {source}, insuffisant"


def _reason(c: Candidate, rank: int, params: Parameters, amount: int, why: list[str],
            drawn: set[int]) -> str:
    """« rang 12, 14,2/20, 5 000 € sur 6 000 € demandés : reliquat de l'enveloppe X »."""
    head = (f"rang {rank}, {_score(c.score)}/{params.scale}, "
            f"{format_eur(amount)} sur {format_eur(c.requested_cents)} demandés")
    if c.application_id in drawn:
        why = [*why, "place départagée par tirage"]
    return f"{head} : {' ; '.join(why)}"


@lru_cache(maxsize=65536)
def format_eur(cents: int) -> str:
    """Euros as a reason shows them, as babel writes fr_FR (« 5 000 € », « 5 000,50 € »)
    without its cost: a run writes hundreds of thousands of them."""
    sign, cents = ("-", -cents) if cents < 0 else ("", cents)
    euros, rest = divmod(cents, 100)
    text = f"{euros:,}".replace(",", "\u202f")
    return f"{sign}{text}{f',{rest:02d}' if rest else ''}\xa0€"


@lru_cache(maxsize=65536)
def _score(value: Decimal) -> str:
    text = format(Decimal(value).quantize(Decimal("0.1"), ROUND_HALF_UP), "f")
    return text.replace(".", ",")


def _percent(share: Decimal) -> str:
    value = (Decimal(share) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP).normalize()
    return f"{format(value, 'f').replace('.', ',')} %"

"""A jury panel scored through the services, with its aggregates computed by hand.

The call's grid (``tests.factories.make_call``): pertinence (weight 2, out of 5) and
faisabilité (weight 1, out of 5), on a scale of 20, so a juror's total is
(2 × pertinence + faisabilité) / 15 × 20. Three jurors A, B, C; at least two scores per
application (``min_reviews``); disagreement above a spread (sample standard deviation of
the counted totals) of 4. Recused jurors' scores never count, whenever the recusal comes.

(scores as pertinence,faisabilité → total; r = recused, d = draft)

| app      | A            | B        | C             | n | mean   | med | min–max | spread | flag |
|----------|--------------|----------|---------------|---|--------|-----|---------|--------|------|
| agree    | 4,4 → 16     | 5,2 → 16 | 3,3 → 12      | 3 | 14.667 | 16  | 12–16   | 2.309  | no   |
| recused  | 5,5 → 20, r  | 2,2 → 8  | 3,3 → 12      | 2 | 10     | 10  | 8–12    | 2.828  | no   |
| disagree | 5,5 → 20     | 1,1 → 4  | d 5,5, then r | 2 | 12     | 12  | 4–20    | 11.314 | yes  |
| boundary | 2,2 → 8      | 3,3 → 12 | 4,4 → 16      | 3 | 12     | 12  | 8–16    | 4.000  | no   |
| single   | 5,5 → 20     | d 1,1    | —             | 1 | none   | 20  | 20–20   | none   | no   |

On "recused", A submitted 20 and the instructor then recorded a conflict; on "disagree", C
kept a draft and then declared a conflict itself. "boundary" is not flagged: 4 is not
above 4. "single" has no score: one counted total, and two are required.

Spreads by hand: sd(16, 16, 12) = √(((4/3)² · 2 + (8/3)²) / 2) = √(16/3) = 2.309;
sd(8, 12) = √8 = 2.828; sd(20, 4) = √128 = 11.314; sd(8, 12, 16) = 4 exactly.
Were A's recused 20 counted on "recused": n 3, mean 13.333, spread 6.110, flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from aap.extensions import db
from aap.models import Application
from aap.services import jury, reviews
from aap.services.calls import set_jury
from tests import factories

D = Decimal


@dataclass(frozen=True)
class Expected:
    n: int
    score: Decimal | None
    median: Decimal | None
    minimum: Decimal | None
    maximum: Decimal | None
    spread: Decimal | None
    flagged: bool


EXPECTED = {
    "agree": Expected(3, D("14.667"), D("16.000"), D("12.000"), D("16.000"), D("2.309"),
                      False),
    "recused": Expected(2, D("10.000"), D("10.000"), D("8.000"), D("12.000"), D("2.828"),
                        False),
    "disagree": Expected(2, D("12.000"), D("12.000"), D("4.000"), D("20.000"), D("11.314"),
                         True),
    "boundary": Expected(3, D("12.000"), D("12.000"), D("8.000"), D("16.000"), D("4.000"),
                         False),
    "single": Expected(1, None, D("20.000"), D("20.000"), D("20.000"), None, False),
}
# the mean ranking, best first; ties (12) by reference
RANKING = ["agree", "disagree", "boundary", "recused", "single"]


@dataclass
class Panel:
    apps: dict[str, Application]
    jurors: dict[str, object]

    def id(self, name: str) -> int:
        return self.apps[name].id


def _score(juror, app, pertinence, faisabilite, submit=True):
    reviews.save_review(juror, app, {
        "scores": {"pertinence": pertinence, "faisabilite": faisabilite}, "submit": submit})


def build(world) -> Panel:
    call = world.call
    third = factories.make_user(["juror"], name="Chloé Jurée")
    a, b, c = world.users["juror"], world.users["juror2"], third
    set_jury(call, [a.id, b.id, c.id])
    call.min_reviews = 2
    call.disagreement_threshold = D(4)
    db.session.commit()
    apps = {name: world.bring_to(world.application(title=f"Projet {name}"), "in_review")
            for name in EXPECTED}  # created in this order: AAP-2026-0001 is "agree", ...

    _score(a, apps["agree"], 4, 4)
    _score(b, apps["agree"], 5, 2)
    _score(c, apps["agree"], 3, 3)

    _score(a, apps["recused"], 5, 5)
    _score(b, apps["recused"], 2, 2)
    _score(c, apps["recused"], 3, 3)
    # A scored and submitted, then the instructor learns of a conflict: A is recused
    jury.record_conflict(world.users["instructor"], apps["recused"], a,
                         "Trésorier de l'association porteuse.")

    _score(a, apps["disagree"], 5, 5)
    _score(b, apps["disagree"], 1, 1)
    # C scores a draft, then declares a conflict itself
    _score(c, apps["disagree"], 5, 5, submit=False)
    reviews.save_review(c, apps["disagree"], {"conflict": True, "comment": "Ancien salarié."})

    _score(a, apps["boundary"], 2, 2)
    _score(b, apps["boundary"], 3, 3)
    _score(c, apps["boundary"], 4, 4)

    _score(a, apps["single"], 5, 5)
    _score(b, apps["single"], 1, 1, submit=False)
    db.session.commit()
    return Panel(apps=apps, jurors={"A": a, "B": b, "C": c})

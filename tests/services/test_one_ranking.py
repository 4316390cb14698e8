"""One ranking: the ranking page, the jury workbook and the search (service and
back-office list) order a call's applications the same way, the allocation engine's
(SPEC 5): by aggregated score, ties by SHA-256(seed ‖ reference), where the seed is the
one of the run in force, else « appel-{call id} ». The expected orders are computed here
by hand with hashlib, from scores worked out by hand."""

from __future__ import annotations

import hashlib
import html
import io
import re
from decimal import Decimal

import pandas as pd
import pytest

from aap.extensions import db
from aap.services import allocation, reviews, search
from aap.services.exports import jury as jury_export
from tests import factories
from tests.helpers import count_queries
from tests.web.conftest import IsolatedClient, login

# The call's grid: pertinence (weight 2, out of 5) and faisabilité (weight 1, out of 5),
# on /20: total = (2 p + f) / 15 × 20. Marks of the two jurors per application, and the
# mean of their totals by hand.
MARKS = {
    "best": [(5, 5), (5, 5)],            # 20 and 20 → 20
    "tie_a": [(4, 4), (3, 3)],           # 16 and 12 → 14
    "tie_b": [(3, 3), (4, 4)],           # 12 and 16 → 14
    "tie_c": [(4, 4), (3, 3)],           # 16 and 12 → 14
    "low_a": [(3, 2), (3, 2)],           # 10.667 and 10.667 → 10.667
    "low_b": [(2, 4), (3, 2)],           # 10.667 and 10.667 → 10.667
    "unscored": [],                      # no review submitted: no score, last
}
SCORES = {"best": Decimal(20), "tie_a": Decimal(14), "tie_b": Decimal(14),
          "tie_c": Decimal(14), "low_a": Decimal("10.667"), "low_b": Decimal("10.667")}
PUBLIC_SEEDS = ["Loto 2026-10-03 : 7 12 25 33 41", "Loto 2026-10-07 : 3 9 18 27 44",
                "Loto 2026-10-10 : 1 5 22 36 48"]


def _draw(seed: str, reference: str) -> str:
    return hashlib.sha256(f"{seed}{reference}".encode()).hexdigest()


def expected_order(apps: dict, seed: str) -> list[str]:
    """SPEC 5 by hand: score descending, equal scores by SHA-256(seed ‖ reference), the
    unscored last."""
    scored = sorted((n for n in SCORES if n in apps),
                    key=lambda n: (-SCORES[n], _draw(seed, apps[n].reference)))
    return [*scored, *(["unscored"] if "unscored" in apps else [])]


def _score(world, apps: dict) -> None:
    jurors = [world.users["juror"], world.users["juror2"]]
    for name, application in apps.items():
        for juror, (p, f) in zip(jurors, MARKS[name], strict=False):
            reviews.save_review(juror, application, {
                "scores": {"pertinence": p, "faisabilite": f}, "submit": True})


@pytest.fixture
def ranked(world) -> dict:
    """Seven applications of the world's call in review, created in an order unrelated
    to their rank (the references are given at submission)."""
    names = ["low_b", "tie_c", "unscored", "best", "tie_a", "low_a", "tie_b"]
    apps = {n: world.bring_to(world.application(title=f"Projet {n}"), "in_review")
            for n in names}
    _score(world, apps)
    return apps


def _names(apps: dict) -> dict[int, str]:
    return {a.id: n for n, a in apps.items()}


def ranking_page(app, world, apps: dict) -> tuple[list[str], dict[str, str]]:
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    assert login(client, world.users["instructor"]).status_code == 302
    page = html.unescape(client.get(
        f"/instruction/appels/{world.call.id}/jury/classement").get_data(as_text=True))
    table = page.split('id="ranking-caption"')[1].split("</table>")[0]
    ids = [int(i) for i in re.findall(r'<tr id="rang-(\d+)"', table)]
    names = _names(apps)
    ranks = {}
    for app_id in ids:
        row = table.split(f'<tr id="rang-{app_id}"')[1].split("</tr>")[0]
        first = re.search(r"<td[^>]*>(.*?)</td>", row, re.S).group(1)
        ranks[names[app_id]] = " ".join(re.sub(r"<[^>]+>", " ", first).split())
    return [names[i] for i in ids], ranks, page


def workbook(world, apps: dict) -> tuple[list[str], dict[str, object]]:
    frame = pd.read_excel(io.BytesIO(jury_export.build(world.call)), sheet_name="Dossiers")
    by_reference = {a.reference: n for n, a in apps.items()}
    order = [by_reference[r] for r in frame["Référence"]]
    ranks = {by_reference[r]: (None if pd.isna(k) else int(k))
             for r, k in zip(frame["Référence"], frame["Rang"], strict=True)}
    return order, ranks


def search_order(world, apps: dict, *, descending: bool = True, call_id=-1) -> list[str]:
    names = _names(apps)
    filters = search.Filters(call_id=world.call.id if call_id == -1 else call_id,
                             sort="score", descending=descending)
    page = search.search(world.users["instructor"], filters, per_page=100)
    return [names[a.id] for a in page.items if a.id in names]


def back_office_order(app, world, apps: dict) -> list[str]:
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    login(client, world.users["instructor"])
    page = client.get(f"/instruction/appels/{world.call.id}?sort=score&order=desc").text
    links = re.findall(r'href="/dossiers/(\d+)"', page.split("<tbody>")[1])
    names = _names(apps)
    return [names[int(i)] for i in dict.fromkeys(links) if int(i) in names]


def _assert_one_ranking(app, world, apps: dict, seed: str) -> None:
    expected = expected_order(apps, seed)
    ranks = {n: i for i, n in enumerate(expected[:-1], start=1)}

    page_order, page_ranks, page = ranking_page(app, world, apps)
    assert page_order == expected
    assert page_ranks == {**{n: str(r) + (" tirage" if n.startswith(("tie", "low")) else "")
                             for n, r in ranks.items()}, "unscored": "—"}
    assert f"« {seed} »" in page

    book_order, book_ranks = workbook(world, apps)
    assert book_order == expected
    assert book_ranks == {**ranks, "unscored": None}

    assert search_order(world, apps) == expected
    assert search_order(world, apps, descending=False) == [*expected[-2::-1], "unscored"]
    assert back_office_order(app, world, apps) == expected

    assert allocation.ranking(world.call, [a.id for a in apps.values()]) == {
        apps[n].id: ranks.get(n) for n in apps}


def test_the_three_surfaces_rank_alike_with_the_call_s_seed(app, world, ranked):
    _assert_one_ranking(app, world, ranked, f"appel-{world.call.id}")


def test_the_seed_of_the_run_in_force_orders_the_ties(app, world, ranked):
    default = expected_order(ranked, f"appel-{world.call.id}")
    seed = next(s for s in PUBLIC_SEEDS if expected_order(ranked, s) != default)
    for application in ranked.values():
        world.fire(application, "close_review", {"force": True, "comment": "Jury réuni."})
    run = allocation.commit(world.call, world.users["instructor"], seed=seed)
    assert run.seed == seed and allocation.run_in_force(world.call).id == run.id
    db.session.expire_all()
    _assert_one_ranking(app, world, ranked, seed)


def test_across_calls_each_call_keeps_its_own_ranking(world, ranked):
    """The list of every call merges the calls' rankings by score: within a call, the
    order is still the engine's."""
    other_call = factories.make_call(world.fund, title="Appel à projets 2026 — second appel")
    from aap.services.calls import set_jury

    set_jury(other_call, [world.users["juror"].id, world.users["juror2"].id])
    others = {n: world.bring_to(factories.make_application(other_call, world.org,
                                                           title=f"Autre {n}"), "in_review")
              for n in ("tie_a", "tie_b", "best")}
    _score(world, others)
    everything = search_order(world, {**ranked, **{f"other_{n}": a
                                                   for n, a in others.items()}}, call_id=None)
    mine = [n for n in everything if not n.startswith("other_")]
    assert mine == expected_order(ranked, f"appel-{world.call.id}")
    theirs = [n.removeprefix("other_") for n in everything if n.startswith("other_")]
    assert theirs == expected_order(others, f"appel-{other_call.id}")
    # by score across calls: the two 20s first, the 14s before the 10.667s
    assert everything[:2] in (["best", "other_best"], ["other_best", "best"])


def test_the_sort_by_score_costs_the_same_whatever_the_rows(world):
    def scored(n: int) -> None:
        apps = {name: world.bring_to(world.application(title=f"Projet {name} {i}"),
                                     "in_review")
                for i in range(n) for name in ("tie_a", "low_a")}
        for name, application in apps.items():
            reviews.save_review(world.users["juror"], application, {
                "scores": {"pertinence": MARKS[name][0][0],
                           "faisabilite": MARKS[name][0][1]}, "submit": True})

    def cost() -> int:
        db.session.expire_all()
        with count_queries() as statements:
            page = search.search(world.users["instructor"], search.Filters(
                call_id=world.call.id, sort="score"))
            for application in page.items:
                _ = (application.organisation.name, application.call.title,
                     page.scores[application.id].score)
        return len(statements)

    scored(2)
    few = cost()
    scored(6)
    assert cost() == few

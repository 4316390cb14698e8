"""The balance workbook of an authority and its children (SPEC 6, 7.1): every call of the
year that the caller may read, narrowed to that authority and its descendants, grouped by
authority in *Synthèse*; an authority the caller does not read is 404. The same through
the API (``GET /exports/balance.xlsx?fiscal_year=&authority_id=``), the CLI (``aap export
balance --year --authority``) and the background job. Hand figures: the tree of
``tests/services/test_consolidation.py``."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from aap.errors import NotFound
from aap.extensions import db
from aap.services import jobs
from aap.services.exports import balance
from tests import factories
from tests.api.helpers import ApiClient, assert_error
from tests.services.test_consolidation import E, build_tree
from tests.web.conftest import IsolatedClient

METROPOLE_TREE = ["metropole", "vitrolles", "istres_council", "istres", "marseille_council"]


@pytest.fixture
def tree(world):
    return build_tree(world)


def ids(tree, *names: str) -> set[int]:
    return {tree.calls[name].id for name in names}


def rows(data: bytes, sheet: str) -> list[dict]:
    book = load_workbook(io.BytesIO(data), data_only=True)[sheet]
    values = list(book.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def cents(value) -> int:
    return round(value * 100)


# -- which calls ------------------------------------------------------------------------------

@pytest.mark.parametrize(("held_in", "target", "expected"), [
    (None, None, [*METROPOLE_TREE, "lille", "platform"]),
    (None, "metropole", METROPOLE_TREE),
    (None, "istres_council", ["istres_council", "istres"]),
    ("metropole", None, METROPOLE_TREE),
    ("metropole", "metropole", METROPOLE_TREE),
    ("metropole", "vitrolles", ["vitrolles"]),
    ("istres_council", None, ["istres_council", "istres"]),
    ("istres_council", "istres", ["istres"]),
    ("lille", "lille", ["lille"]),
])
def test_the_calls_of_the_year_under_the_authority(world, tree, held_in, target, expected):
    user = factories.make_user(["finance"], authority=getattr(tree, held_in) if held_in
                               else None)
    calls = balance.calls_for_year(user, 2026, getattr(tree, target).id if target else None)
    wanted = {world.call.id if name == "platform" else tree.calls[name].id for name in expected}
    assert {c.id for c in calls} == wanted


@pytest.mark.parametrize(("held_in", "target"), [
    ("istres_council", "metropole"),  # a parent
    ("istres_council", "marseille_council"),  # a sibling
    ("lille", "metropole"), ("metropole", "lille"), ("vitrolles", "istres"),
])
def test_an_authority_the_user_does_not_read_is_not_found(tree, held_in, target):
    user = factories.make_user(["instructor"], authority=getattr(tree, held_in))
    with pytest.raises(NotFound):
        balance.calls_for_year(user, 2026, getattr(tree, target).id)


def test_the_operator_takes_every_call_under_the_authority(tree):
    assert {c.id for c in balance.every_call_of_year(2026, tree.metropole.id)} == ids(
        tree, *METROPOLE_TREE)
    assert {c.id for c in balance.every_call_of_year(2025, tree.metropole.id)} == ids(
        tree, "metropole_2025")


# -- the Synthèse, grouped by authority ----------------------------------------------------------

def test_the_synthesis_groups_the_calls_by_authority(tree):
    calls = balance.every_call_of_year(2026, tree.metropole.id)
    synthesis = rows(balance.build_balance(calls), "Synthèse")
    m, v, ic, i, mc = ("Métropole Aix-Marseille-Provence", "Commune de Vitrolles",
                       "Conseil de territoire Istres Ouest Provence", "Commune d'Istres",
                       "Conseil de territoire Marseille Provence")
    assert [(r["Niveau"], r["Attribuant"]) for r in synthesis] == [
        ("Appel", m), ("Appel", v), ("Appel", ic), ("Appel", i), ("Appel", mc),
        ("Total du dispositif", m), ("Total de la collectivité", m),
        ("Total du dispositif", v), ("Total de la collectivité", v),
        ("Total du dispositif", ic), ("Total de la collectivité", ic),
        ("Total du dispositif", i), ("Total de la collectivité", i),
        ("Total du dispositif", mc), ("Total de la collectivité", mc),
        ("Total de l'exercice 2026", None)]
    sirets = {r["Attribuant"]: r["SIRET de l'attribuant"] for r in synthesis if r["Attribuant"]}
    assert (sirets[m], sirets[v], sirets[i]) == ("20005478100022", "21130117100016",
                                                 tree.istres.siret)
    by_authority = {r["Attribuant"]: r for r in synthesis
                    if r["Niveau"] == "Total de la collectivité"}
    # (budget, granted, paid, available) by hand, each authority's own call
    assert {name: tuple(cents(r[h]) // E for h in ("Budget (€)", "Montant accordé (€)",
                                                   "Versé (€)", "Disponible (€)"))
            for name, r in by_authority.items()} == {
        m: (100_000, 5_000, 4_000, 95_000), v: (20_000, 3_000, 1_000, 19_000),
        ic: (40_000, 10_000, 0, 30_000), i: (10_000, 2_000, 2_000, 8_000),
        mc: (30_000, 0, 0, 30_000)}
    year = synthesis[-1]
    assert (cents(year["Budget (€)"]), cents(year["Montant accordé (€)"]),
            cents(year["Versé (€)"]), cents(year["Disponible (€)"])) == (
        200_000 * E, 20_000 * E, 7_000 * E, 182_000 * E)


def test_platform_wide_funds_have_no_authority_total(world, tree):
    synthesis = rows(balance.build_balance([world.call, tree.calls["lille"]]), "Synthèse")
    assert [(r["Niveau"], r["Attribuant"]) for r in synthesis] == [
        ("Appel", "Métropole Aix-Marseille-Provence"),  # the platform fund's owner, first
        ("Appel", "Métropole Européenne de Lille"),
        ("Total du dispositif", "Métropole Aix-Marseille-Provence"),
        ("Total du dispositif", "Métropole Européenne de Lille"),
        ("Total de la collectivité", "Métropole Européenne de Lille"),
        ("Total de l'exercice 2026", None)]


# -- the API, the CLI and the background job ----------------------------------------------------

@pytest.fixture
def api(app, db) -> ApiClient:
    return ApiClient(IsolatedClient(app, app.response_class))


def _references(data: bytes) -> set[str]:
    return {r["Référence"] for r in rows(data, "Attributions")
            if r["Appel"] not in (None, "Total")}


def test_the_api_workbook_of_an_authority(api, tree):
    reader = factories.make_user(["finance"], authority=tree.metropole)
    response = api.get(f"/exports/balance.xlsx?fiscal_year=2026&authority_id="
                       f"{tree.istres_council.id}", as_=reader)
    assert response.status_code == 200, response.get_data(True)
    assert (f"filename=bilan-2026-collectivite-{tree.istres_council.id}.xlsx"
            in response.headers["Content-Disposition"])
    assert _references(response.data) == {tree.grants["istres_council"].reference,
                                          tree.grants["istres"].reference}


@pytest.mark.parametrize(("roles", "held_in", "target", "status"), [
    (["instructor"], "istres_council", "metropole", 404),
    (["finance"], "lille", "istres", 404),
    (["finance"], None, "lille", 200),
    (["juror"], "metropole", "metropole", 403),  # no export role
    (["manager"], "metropole", "metropole", 403),
])
def test_the_api_statuses(api, tree, roles, held_in, target, status):
    user = factories.make_user(roles, authority=getattr(tree, held_in) if held_in else None)
    response = api.get(f"/exports/balance.xlsx?fiscal_year=2026&authority_id="
                       f"{getattr(tree, target).id}", as_=user)
    if status == 200:
        assert response.status_code == 200
    else:
        assert_error(response, status)


def test_an_unknown_authority_is_404(api, tree):
    user = factories.make_user(["finance"])
    assert_error(api.get(f"/exports/balance.xlsx?fiscal_year=2026&authority_id="
                         f"{tree.lille.id + 1000}", as_=user), 404, "not_found")


def test_the_cli_takes_an_authority(app, tree, tmp_path):
    out = tmp_path / "bilan.xlsx"
    result = app.test_cli_runner().invoke(args=[
        "export", "balance", "--year", "2026", "--authority", str(tree.istres_council.id),
        "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 call(s)" in result.output
    assert _references(out.read_bytes()) == {tree.grants["istres_council"].reference,
                                             tree.grants["istres"].reference}


@pytest.mark.parametrize(("args", "message"), [
    (["--call", "1", "--authority", "1"], "--authority goes with --year"),
    (["--year", "2026", "--authority", "999999"], "no authority with id 999999"),
])
def test_the_cli_refuses(app, tree, tmp_path, args, message):
    result = app.test_cli_runner().invoke(args=[
        "export", "balance", *args, "--out", str(tmp_path / "x.xlsx")])
    assert result.exit_code != 0 and message in result.output


def test_the_job_carries_the_authority(tree):
    user = factories.make_user(["finance"], authority=tree.metropole)
    kind = jobs.KINDS["balance_year"]
    params = kind.authorize(user, {"fiscal_year": "2026",
                                   "authority_id": str(tree.vitrolles.id)})
    assert params == {"fiscal_year": 2026, "authority_id": tree.vitrolles.id}
    assert kind.filename(params) == f"bilan-exercice-2026-collectivite-{tree.vitrolles.id}.xlsx"
    assert kind.describe(params, {}) == ("Bilan de l'exercice 2026 — Commune de Vitrolles et "
                                         "ses collectivités rattachées")
    buffer = io.BytesIO()
    kind.write(buffer, params, user, lambda done, total: None)
    assert _references(buffer.getvalue()) == {tree.grants["vitrolles"].reference}
    assert kind.authorize(user, {"fiscal_year": 2026, "authority_id": ""}) == {
        "fiscal_year": 2026}
    db.session.rollback()
    outsider = factories.make_user(["finance"], authority=tree.lille)
    with pytest.raises(NotFound):
        kind.authorize(outsider, {"fiscal_year": 2026, "authority_id": tree.vitrolles.id})

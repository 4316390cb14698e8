"""The attribuant of the exports (SPEC 3 and 6): a fund run by an authority is granted by
that authority, so the SCDL file names it (``nomAttribuant``, ``idAttribuant``), and so do
the balance workbook and the decision annex; a platform-wide fund keeps the owner typed
on the fund. The files stay valid against the official schema and its custom checks."""

from __future__ import annotations

import pytest

from aap.services import open_data
from aap.services.exports import annex, attribuant, scdl
from tests import factories
from tests.services.test_consolidation import build_tree
from tests.services.test_scdl_export import frictionless_errors, parse


@pytest.fixture
def tree(world):
    return build_tree(world)


@pytest.fixture
def platform_grant(world):
    """A grant of the world's platform-wide fund (owner: the fund's own fields)."""
    return world.bring_to(world.application(), "granted")


#: Per call of the tree: the attribuant the file must name (by hand, from the module of
#: the tree: the authorities' names and SIRETs, never the funds' « Ancien nom »).
EXPECTED = {
    "metropole": ("Métropole Aix-Marseille-Provence", "20005478100022"),
    "vitrolles": ("Commune de Vitrolles", "21130117100016"),
    "lille": ("Métropole Européenne de Lille", "24590041000011"),
}


@pytest.mark.parametrize("call", sorted(EXPECTED))
def test_the_authority_is_the_attribuant(tree, call):
    rows = parse(scdl.build_scdl([tree.calls[call]]))
    assert [(r["nomAttribuant"], r["idAttribuant"]) for r in rows] == [EXPECTED[call]]


def test_a_platform_wide_fund_keeps_its_owner(world, platform_grant):
    rows = parse(scdl.build_scdl([world.call]))
    assert [(r["nomAttribuant"], r["idAttribuant"]) for r in rows] == [
        ("Métropole Aix-Marseille-Provence", "20005478100022")]  # make_fund's owner fields


def test_a_file_of_several_authorities_names_each(world, tree, platform_grant):
    calls = [tree.calls[name] for name in ("metropole", "vitrolles", "istres", "lille")]
    data = scdl.build_scdl([*calls, world.call])
    rows = parse(data)
    assert sorted({(r["nomAttribuant"], r["idAttribuant"]) for r in rows}) == sorted({
        *EXPECTED.values(), ("Commune d'Istres", tree.istres.siret)})
    assert frictionless_errors(data) == []
    assert scdl.check_scdl(data) == []


def test_an_invalid_authority_siret_is_caught_by_the_custom_checks(world, tree):
    """The attribuant's SIRET passes through the schema's Luhn check like any other."""
    from aap.extensions import db

    tree.vitrolles.siret = "21130117100017"  # one digit off
    db.session.commit()
    data = scdl.build_scdl([tree.calls["vitrolles"]])
    assert scdl.check_scdl(data) == [
        "ligne 2 : idAttribuant « 21130117100017 » n'est pas un SIRET valide."]


def test_the_public_file_names_the_authority(tree):
    rows = parse(open_data.build_public_scdl())
    names = {r["nomAttribuant"] for r in rows}
    assert "Commune de Vitrolles" in names
    assert not any(name.startswith("Ancien nom") for name in names)


def test_the_decision_annex_names_the_authority(tree):
    grant = tree.grants["vitrolles"]
    _heading, subtitle, _total = annex.title(tree.calls["vitrolles"],
                                             grant.decision.reference)
    assert "(Commune de Vitrolles, SIRET 21130117100016)" in subtitle


@pytest.mark.parametrize(("with_authority", "expected"), [
    (True, ("Commune n°1", "21130117100016")),
    (False, ("Métropole Aix-Marseille-Provence", "20005478100022")),
])
def test_the_rule_on_a_fund(db, with_authority, expected):
    authority = factories.make_authority("Commune n°1", siret="21130117100016") \
        if with_authority else None
    fund = factories.make_fund(authority_id=authority.id if authority else None)
    assert attribuant.of_fund(fund) == attribuant.Attribuant(*expected)

"""The CLI of SPEC 7: `aap authorities create NAME --kind KIND --siret SIRET [--parent ID]`,
`aap authorities list`, and `aap users create ... --authority ID`."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aap.models import Authority, User
from tests.factories import unique_siret

PASSWORD = "Longue-phrase-42"




@pytest.fixture
def run(app, db):
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=list(args))

    return invoke


def _create(run, name: str, kind: str, siret: str, *more: str):
    return run("authorities", "create", name, "--kind", kind, "--siret", siret, *more)


def test_create_prints_the_id_and_stores_the_authority(run, db):
    result = _create(run, "Métropole Aix-Marseille-Provence", "metropole",
                     "200 054 781 00022")
    assert result.exit_code == 0, result.output
    amp = db.session.get(Authority, int(result.output.strip()))
    assert (amp.name, amp.kind, amp.siret, amp.parent_id) == (
        "Métropole Aix-Marseille-Provence", "metropole", "20005478100022", None)
    child = _create(run, "Vitrolles", "commune", unique_siret(13117), "--parent", str(amp.id))
    assert child.exit_code == 0, child.output
    assert db.session.get(Authority, int(child.output.strip())).parent_id == amp.id


@pytest.mark.parametrize(("args", "message"), [
    (("Nulle part", "metropole", "20005478100023"), "siret"),      # bad Luhn key
    (("Nulle part", "commune", unique_siret(1), "--parent", "999999"), "parent_id"),
    (("", "commune", unique_siret(2)), "name"),
])
def test_create_refuses_invalid_data_with_the_field_named(run, db, args, message):
    result = _create(run, *args)
    assert result.exit_code == 1
    assert result.output.startswith(f"{message}: "), result.output
    assert db.session.scalars(select(Authority)).all() == []


def test_create_refuses_an_unknown_kind_and_a_siret_taken(run, db):
    unknown = _create(run, "Ville", "city", unique_siret(3))
    assert unknown.exit_code == 2 and "city" in unknown.output
    assert _create(run, "Lille", "metropole", unique_siret(4)).exit_code == 0
    taken = _create(run, "Lille bis", "metropole", unique_siret(4))
    assert taken.exit_code == 1 and "siret: Une collectivité avec ce SIRET existe déjà." in \
        taken.output


def test_list_draws_the_tree_by_name(run, db):
    amp = _create(run, "Métropole AMP", "metropole", unique_siret(10)).output.strip()
    vitrolles = _create(run, "Vitrolles", "commune", unique_siret(11), "--parent", amp)
    council = _create(run, "Conseil Marseille Provence", "council", unique_siret(12),
                      "--parent", amp)
    lille = _create(run, "Lille", "metropole", unique_siret(13)).output.strip()
    result = run("authorities", "list")
    assert result.exit_code == 0, result.output
    lines = [line.split("\t")[:3] for line in result.output.splitlines()]
    assert lines == [
        [lille, "Lille", "metropole"],
        [amp, "Métropole AMP", "metropole"],
        [f"  {council.output.strip()}", "Conseil Marseille Provence", "council"],
        [f"  {vitrolles.output.strip()}", "Vitrolles", "commune"],
    ]


def test_users_create_holds_the_roles_in_the_authority(run, db):
    vitrolles = _create(run, "Vitrolles", "commune", unique_siret(20)).output.strip()
    result = run("users", "create", "agent@vitrolles.example.org", "--password", PASSWORD,
                 "--role", "instructor", "--role", "juror", "--authority", vitrolles)
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "agent@vitrolles.example.org"))
    assert {(r.authority_id, r.role) for r in user.role_rows} == {
        (int(vitrolles), "instructor"), (int(vitrolles), "juror")}
    platform = run("users", "create", "chef@example.org", "--password", PASSWORD,
                   "--role", "instructor")
    assert platform.exit_code == 0
    chef = db.session.scalar(select(User).where(User.email == "chef@example.org"))
    assert [r.authority_id for r in chef.role_rows] == [None]


@pytest.mark.parametrize("role", ["applicant", "admin"])
def test_users_create_refuses_a_role_that_is_not_held_in_an_authority(run, db, role):
    vitrolles = _create(run, "Vitrolles", "commune", unique_siret(21)).output.strip()
    result = run("users", "create", "x@example.org", "--password", PASSWORD,
                 "--role", role, "--authority", vitrolles)
    assert result.exit_code == 1
    assert "roles: Rôles tenus dans une collectivité" in result.output
    assert f"(pas {role})" in result.output
    assert db.session.scalar(select(User).where(User.email == "x@example.org")) is None


def test_users_create_refuses_an_unknown_authority(run, db):
    result = run("users", "create", "y@example.org", "--password", PASSWORD,
                 "--role", "juror", "--authority", "999999")
    assert result.exit_code == 1
    assert "authority: Collectivité inconnue." in result.output

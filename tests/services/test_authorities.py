"""Authorities: created and edited by an admin (or the CLI operator); their staff roles set
by an admin or by a manager of that very authority (SPEC 2, 3); funds created in the
authority an instructor acts for (SPEC 7.1, POST /funds)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aap.errors import Forbidden, NotFound, ValidationFailed
from aap.extensions import db
from aap.models import AuditEvent, Authority, User
from aap.services import authorities, calls, policies
from tests import factories
from tests.factories import make_authority, make_user, unique_siret
from tests.helpers import count_queries

AMP_SIRET = "20005478100022"  # Métropole Aix-Marseille-Provence (valid Luhn key)
FUND = {"name": "Fonds d'initiative", "owner_name": "Métropole", "owner_siret": AMP_SIRET}


def valid(**changes) -> dict:
    data = {"name": "Métropole Aix-Marseille-Provence", "kind": "metropole",
            "siret": "200 054 781 00022", "parent_id": None}
    data.update(changes)
    return data




@pytest.fixture
def admin(db):
    return make_user(["admin"])


@pytest.fixture
def tree(db):
    """AMP (métropole) > Marseille Provence (council) > Vitrolles-like commune; Lille apart."""
    amp = make_authority("Métropole AMP", kind="metropole")
    council = make_authority("Conseil de territoire Marseille Provence", kind="council",
                             parent=amp)
    commune = make_authority("Commune du conseil", kind="commune", parent=council)
    lille = make_authority("Métropole européenne de Lille", kind="metropole")
    return {"amp": amp, "council": council, "commune": commune, "lille": lille}


# -- creating ---------------------------------------------------------------------------

def test_an_admin_creates_an_authority_with_its_siret_compacted(admin):
    created = authorities.create_authority(admin, valid())
    db.session.expire_all()
    stored = db.session.get(Authority, created.id)
    assert (stored.name, stored.kind, stored.siret, stored.parent_id) == (
        "Métropole Aix-Marseille-Provence", "metropole", "20005478100022", None)


def test_the_cli_operator_creates_a_child_authority(db):
    parent = make_authority("Métropole AMP", kind="metropole")
    child = authorities.create_authority(
        None, valid(name="  Conseil Istres-Ouest Provence  ", kind="council",
                    siret=unique_siret(70), parent_id=parent.id))
    assert (child.name, child.parent_id) == ("Conseil Istres-Ouest Provence", parent.id)
    assert policies.with_descendants(frozenset({parent.id})) == {parent.id, child.id}


@pytest.mark.parametrize("roles", [["instructor"], ["finance"], ["juror"], ["manager"],
                                   ["applicant"]])
def test_only_an_admin_creates_an_authority(db, roles):
    with pytest.raises(Forbidden):
        authorities.create_authority(make_user(roles), valid())
    assert db.session.scalars(select(Authority)).all() == []


BAD = [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": None}, "name"),
    ({"kind": "city"}, "kind"),
    ({"kind": "Metropole"}, "kind"),
    ({"siret": "20005478100023"}, "siret"),  # bad Luhn key
    ({"siret": "1234"}, "siret"),
    ({"siret": ""}, "siret"),
    ({"parent_id": 10**6}, "parent_id"),
]


@pytest.mark.parametrize(("changes", "field"), BAD)
def test_invalid_data_is_refused_with_a_french_message_on_its_field(admin, changes, field):
    with pytest.raises(ValidationFailed) as refused:
        authorities.create_authority(admin, valid(**changes))
    assert set(refused.value.fields) == {field}
    assert refused.value.status == 422
    db.session.rollback()
    assert db.session.scalars(select(Authority)).all() == []


def test_a_name_of_200_characters_is_accepted(admin):
    assert len(authorities.create_authority(admin, valid(name="é" * 200)).name) == 200


def test_a_siret_taken_by_another_authority_is_refused(admin):
    authorities.create_authority(admin, valid())
    with pytest.raises(ValidationFailed) as refused:
        authorities.create_authority(admin, valid(name="Doublon", siret="20005478100022"))
    assert refused.value.code == "siret_taken"
    assert "existe déjà" in refused.value.fields["siret"][0]
    db.session.rollback()
    assert len(authorities.list_authorities()) == 1


# -- editing ----------------------------------------------------------------------------

def test_an_admin_renames_and_moves_an_authority(admin, tree):
    moved = authorities.update_authority(admin, tree["commune"].id,
                                         {"name": "Vitrolles", "parent_id": tree["amp"].id})
    assert (moved.name, moved.parent_id, moved.kind) == ("Vitrolles", tree["amp"].id,
                                                        "commune")
    assert tree["commune"].id not in policies.with_descendants(
        frozenset({tree["council"].id}))


def test_an_authority_keeps_its_own_siret_on_update(admin, tree):
    same = authorities.update_authority(admin, tree["lille"].id,
                                        {"siret": tree["lille"].siret, "kind": "other"})
    assert same.kind == "other"


def test_an_update_to_another_authoritys_siret_is_refused(admin, tree):
    with pytest.raises(ValidationFailed) as refused:
        authorities.update_authority(admin, tree["lille"].id, {"siret": tree["amp"].siret})
    assert refused.value.code == "siret_taken"


@pytest.mark.parametrize(("moved", "new_parent"), [
    ("amp", "amp"),          # its own parent
    ("amp", "council"),      # its child
    ("amp", "commune"),      # its grandchild
    ("council", "commune"),  # its child
])
def test_a_parent_that_makes_a_cycle_is_refused(admin, tree, moved, new_parent):
    with pytest.raises(ValidationFailed) as refused:
        authorities.update_authority(admin, tree[moved].id,
                                     {"parent_id": tree[new_parent].id})
    assert set(refused.value.fields) == {"parent_id"}
    db.session.rollback()
    assert db.session.get(Authority, tree["amp"].id).parent_id is None
    assert db.session.get(Authority, tree["council"].id).parent_id == tree["amp"].id


def test_only_an_admin_edits_and_unknown_authorities_are_404(admin, tree):
    manager = make_user(["manager"], authority=tree["lille"])
    with pytest.raises(Forbidden):
        authorities.update_authority(manager, tree["lille"].id, {"name": "Lille"})
    with pytest.raises(NotFound):
        authorities.update_authority(admin, 10**6, {"name": "Nulle part"})
    with pytest.raises(NotFound):
        authorities.get_authority(10**6)


# -- reading ----------------------------------------------------------------------------

def test_list_is_by_name(tree):
    assert [a.name for a in authorities.list_authorities()] == [
        "Commune du conseil", "Conseil de territoire Marseille Provence", "Métropole AMP",
        "Métropole européenne de Lille"]


def test_members_are_the_users_holding_roles_there_with_those_roles(tree):
    ines = make_user(["instructor", "juror"], name="Inès", authority=tree["amp"])
    ines.set_roles(["finance"], tree["lille"].id)  # elsewhere: not listed under AMP
    ines.set_roles(["admin"])  # platform-wide: not listed either
    make_user(["manager"], name="Alain", authority=tree["amp"])
    make_user(["instructor"], name="Zoé", authority=tree["council"])  # a child's staff
    make_user(["instructor"], name="Bruno")  # platform-wide
    db.session.commit()
    listed = [(user.name, roles) for user, roles in authorities.members(tree["amp"].id)]
    assert listed == [("Alain", ["manager"]), ("Inès", ["instructor", "juror"])]
    with pytest.raises(NotFound):
        authorities.members(10**6)


def test_members_cost_the_same_queries_whatever_their_number(tree):
    def queries() -> int:
        db.session.expire_all()
        with count_queries() as statements:
            for user, _roles in authorities.members(tree["amp"].id):
                assert user.roles  # what a members page shows
        return len(statements)

    make_user(["instructor"], authority=tree["amp"])
    few = queries()
    for _ in range(6):
        make_user(["juror", "finance"], authority=tree["amp"])
    assert queries() == few


# -- members' roles ---------------------------------------------------------------------

def test_an_admin_sets_roles_in_any_authority(admin, tree):
    user = make_user(["applicant"])
    assert authorities.set_member_roles(admin, tree["lille"].id, user.id,
                                        ["juror", "instructor", "juror"]) == [
        "instructor", "juror"]
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.roles_in(tree["lille"].id) == ["instructor", "juror"]
    assert user.roles_in(None) == ["applicant"]  # the applicant account stays one


def test_a_manager_sets_roles_in_its_own_authority(tree):
    manager = make_user(["manager"], authority=tree["council"])
    user = make_user(["applicant"])
    assert authorities.set_member_roles(manager, tree["council"].id, user.id,
                                        ["instructor"]) == ["instructor"]
    assert policies.can_act_on_fund(
        db.session.get(User, user.id),
        factories.make_fund(authority_id=tree["council"].id), "instructor")


@pytest.mark.parametrize(("manager_in", "target"), [
    ("lille", "amp"),        # another authority
    ("amp", "council"),      # its child: a parent's manager only reads
    ("amp", "commune"),      # its grandchild
    ("council", "amp"),      # its parent
])
def test_a_manager_sets_no_roles_outside_its_own_authority(tree, manager_in, target):
    manager = make_user(["manager"], authority=tree[manager_in])
    user = make_user(["applicant"])
    with pytest.raises(Forbidden):
        authorities.set_member_roles(manager, tree[target].id, user.id, ["instructor"])
    db.session.rollback()
    assert db.session.get(User, user.id).roles == ["applicant"]


@pytest.mark.parametrize("roles", [["instructor"], ["finance"], ["juror"], ["applicant"]])
def test_other_staff_set_no_roles(tree, roles):
    actor = make_user(roles, authority=None if roles == ["applicant"] else tree["amp"])
    with pytest.raises(Forbidden):
        authorities.set_member_roles(actor, tree["amp"].id, actor.id, ["manager"])


@pytest.mark.parametrize("roles", [["admin"], ["applicant"], ["boss"], ["instructor", "admin"]])
def test_roles_outside_the_staff_roles_are_refused(admin, tree, roles):
    manager = make_user(["manager"], authority=tree["amp"])
    for actor in (admin, manager):
        with pytest.raises(ValidationFailed) as refused:
            authorities.set_member_roles(actor, tree["amp"].id, manager.id, roles)
        assert refused.value.status == 422
        assert "collectivité" in refused.value.fields["roles"][0]
        db.session.rollback()
    assert db.session.get(User, manager.id).roles == ["manager"]


def test_unknown_authority_or_user_is_404(admin, tree):
    user = make_user(["applicant"])
    with pytest.raises(NotFound):
        authorities.set_member_roles(admin, 10**6, user.id, ["juror"])
    with pytest.raises(NotFound):
        authorities.set_member_roles(admin, tree["amp"].id, 10**6, ["juror"])


def test_an_empty_list_removes_the_roles_there_only(admin, tree):
    user = make_user(["instructor"], authority=tree["amp"])
    user.set_roles(["juror"], tree["lille"].id)
    user.set_roles(["finance"])
    db.session.commit()
    assert authorities.set_member_roles(admin, tree["amp"].id, user.id, []) == []
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert {(r.authority_id, r.role) for r in user.role_rows} == {
        (tree["lille"].id, "juror"), (None, "finance")}
    assert authorities.members(tree["amp"].id) == []


def test_who_changed_which_roles_is_audited(tree):
    manager = make_user(["manager"], authority=tree["amp"])
    user = make_user(["instructor"], authority=tree["amp"])
    authorities.set_member_roles(manager, tree["amp"].id, user.id, ["juror", "finance"])
    authorities.set_member_roles(manager, tree["amp"].id, user.id, ["finance", "juror"])
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "authority", AuditEvent.action == "roles_changed")).all()
    assert [(e.actor_id, e.object_id, e.data) for e in events] == [
        (manager.id, tree["amp"].id,
         {"user_id": user.id, "from": ["instructor"], "to": ["finance", "juror"]})]


# -- funds of an authority --------------------------------------------------------------

FUND_CASES = [
    # (the creator's roles: where, the fund's authority, expected outcome)
    (None, None, "created"),             # a platform-wide instructor, a platform-wide fund
    (None, "amp", "created"),            # a platform-wide instructor acts everywhere
    ("amp", "amp", "created"),
    ("amp", None, "authority_required"),
    ("amp", "council", "forbidden"),     # a parent's instructor only reads its children
    ("council", "amp", "forbidden"),
    ("lille", "amp", "forbidden"),
    ("amp", "unknown", "unknown"),
]


@pytest.mark.parametrize(("held_in", "fund_in", "outcome"), FUND_CASES)
def test_an_instructor_creates_funds_in_its_own_authority(tree, held_in, fund_in, outcome):
    instructor = make_user(["instructor"], authority=tree.get(held_in))
    authority_id = 10**6 if fund_in == "unknown" else getattr(tree.get(fund_in), "id", None)
    data = {**FUND, "authority_id": authority_id}
    if outcome == "created":
        fund = calls.create_fund(data, actor=instructor)
        assert fund.authority_id == authority_id
    elif outcome == "forbidden":
        with pytest.raises(Forbidden):
            calls.create_fund(data, actor=instructor)
    else:
        with pytest.raises(ValidationFailed) as refused:
            calls.create_fund(data, actor=instructor)
        assert set(refused.value.fields) == {"authority_id"}


def test_the_operator_creates_a_fund_in_any_authority(tree):
    assert calls.create_fund({**FUND, "authority_id": tree["lille"].id}).authority_id == \
        tree["lille"].id
    assert calls.create_fund(FUND).authority_id is None

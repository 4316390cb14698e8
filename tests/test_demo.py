"""The demo (``aap demo``) loads a coherent world, through the services and the engine.

Loading takes seconds, so it is loaded once for the module and the tests only read it
(each one queries afresh: the reload test replaces the rows with identical ones)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from click import ClickException
from sqlalchemy import func, select
from stdnum import iban
from stdnum.fr import siret

from aap.demo import (
    DEMO_PASSWORD,
    LILLE_PROGRAMME,
    VITROLLES_PROGRAMME,
    demo_call,
    empty_database,
    load_demo,
    login_table,
)
from aap.extensions import db as _db
from aap.models import (
    Application,
    Authority,
    Call,
    Decision,
    Fund,
    Organisation,
    Review,
    User,
)
from aap.models.accounts import ROLES
from aap.services import (
    accounts,
    allocation,
    audit,
    budget,
    deliberations,
    policies,
    scoring,
)
from aap.services.validation import submission_problems
from aap.timeutil import now
from workflows.application import PHASES, STATES

Logins = list[tuple[str, str, str]]


@pytest.fixture(scope="module")
def demo(app):
    """The demo, loaded once; the tables are emptied afterwards like the ``db`` fixture
    does (authorities below others included), so the next tests start from an empty
    database."""
    with app.app_context():
        try:
            yield load_demo()
        finally:
            empty_database()
            _db.session.remove()


@pytest.fixture
def db(demo):
    """This module's ``db`` is the loaded demo (the global one would empty it)."""
    return _db


def _applications(db) -> list[Application]:
    return list(db.session.scalars(select(Application).order_by(Application.id)))


def _granted_cents(db, call: Call, envelope_id: int | None = None) -> int:
    query = (select(func.coalesce(func.sum(Decision.amount_cents), 0))
             .join(Application, Decision.application_id == Application.id)
             .where(Application.call_id == call.id))
    if envelope_id is not None:
        query = query.where(Application.envelope_id == envelope_id)
    return int(db.session.scalar(query))


def _fingerprint(db) -> list[tuple]:
    return [
        (a.reference, a.state, a.title, a.requested_cents, a.granted_cents, a.paid_cents,
         a.organisation.siret, a.organisation.iban, a.budget(),
         sorted(str(r.total) for r in a.reviews))
        for a in _applications(db)
    ]


def test_demo_covers_the_workflow_within_the_budget(db):
    call = demo_call()
    apps = _applications(db)
    assert call is not None and call.is_open(now())
    assert len(apps) >= 40
    states = Counter(a.state for a in apps)
    assert set(states) == {s["name"] for s in STATES}, states

    assert call.budget_cents == 10_000_000
    assert sum(e.budget_cents for e in call.envelopes) <= call.budget_cents
    assert len(call.envelopes) == 6 and len(call.jury) == 5
    assert _granted_cents(db, call) <= call.budget_cents
    assert budget.available_cents(call) >= 0
    for envelope in call.envelopes:
        assert _granted_cents(db, call, envelope.id) <= envelope.budget_cents, envelope.key
        assert budget.available_cents(call, envelope.id) >= 0, envelope.key

    for app in apps:
        assert audit.replay(audit.trail(app.id)) == app.state, app.reference
        if app.state not in ("draft", "incomplete"):
            assert submission_problems(app) == {}, app.reference


def test_demo_identifiers_reviews_and_logins(db, demo: Logins):
    logins = demo
    organisations = list(db.session.scalars(select(Organisation)))
    assert len(organisations) >= 36
    assert all(siret.is_valid(o.siret) for o in organisations)
    assert all(iban.is_valid(o.iban) and o.iban.startswith("FR") for o in organisations)
    assert len({o.siret for o in organisations}) == len(organisations)

    reviews = list(db.session.scalars(select(Review)))
    assert any(r.conflict for r in reviews)
    assert any(r.submitted for r in reviews) and any(not r.submitted for r in reviews)
    rejected = [a for a in _applications(db) if a.state == "rejected"]
    assert rejected and all(scoring.aggregate(a) < demo_call().min_total for a in rejected)

    assert {role for role, _, _ in logins} == set(ROLES)
    for role in ROLES:
        email = next(e for r, e, _ in logins if r == role)
        user = accounts.authenticate(email, DEMO_PASSWORD)
        assert user is not None and user.has_role(role)
    applicant = accounts.find_by_email(next(e for r, e, _ in logins if r == "applicant"))
    organisation_id = applicant.memberships[0].organisation_id
    own = {a.state for a in _applications(db) if a.organisation_id == organisation_id}
    assert len(own) >= 3


def test_demo_reloads_identically_and_refuses_to_load_twice(db, is_postgres):
    if is_postgres:
        pytest.skip("the demo is SQLite's zero-configuration data; one reload check suffices")
    first = _fingerprint(db)
    users = db.session.scalar(select(func.count(User.id)))

    load_demo(reset=True)
    assert _fingerprint(db) == first
    assert db.session.scalar(select(func.count(User.id))) == users

    with pytest.raises(ClickException):
        load_demo(reset=False)


# What a committed run fires for each outcome (SPEC 5: propose / waitlist / reject).
FIRED_BY_RUN = {"funded": "propose", "partial": "propose", "waitlisted": "waitlist",
                "rejected": "reject"}


def test_demo_allocates_through_committed_runs_then_deliberations(db):
    """No proposal, waitlist or refusal by hand: committed allocation runs seeded by a
    public draw, the earlier one superseded; what-if simulations left to compare; grants
    by deliberation at the proposed amounts; a promotion once a withdrawal freed money."""
    call = demo_call()
    runs = allocation.runs_of(call)
    committed = sorted((r for r in runs if r.committed), key=lambda r: r.id)
    simulations = [r for r in runs if not r.committed]
    in_force = allocation.run_in_force(call)
    assert len(committed) == 2 and in_force.id == committed[-1].id
    assert committed[0].superseded_at is not None and in_force.superseded_at is None
    for run in committed:
        assert re.fullmatch(r"Loto \d{4}-\d{2}-\d{2} : (\d{1,2} ){4}\d{1,2}", run.seed)
    assert len(simulations) == 2
    assert {(s.overflow, s.budget_cents < in_force.budget_cents) for s in simulations} == {
        ("skip", False), ("partial", True)}
    for simulation in simulations:
        changes = allocation.compare(in_force, simulation)
        assert any(c.outcome_changed for c in changes), simulation.id
    assert all(allocation.replay(run).matches for run in runs)

    rows = {r.application_id: r for run in committed for r in allocation.rows_of(run)}
    decided_by_runs = 0
    apps = [a for a in _applications(db) if a.call_id == call.id]
    for app in apps:
        events = [e for e in audit.trail(app.id) if e.trigger in FIRED_BY_RUN.values()]
        if app.state in PHASES["allocated"] or events:
            row = rows[app.id]  # every allocated application went through a run
            assert [e.trigger for e in events] == [FIRED_BY_RUN[row.outcome]], app.reference
            assert events[0].comment == row.reason
            decided_by_runs += 1
        if app.decision is not None:
            assert app.decision.amount_cents == rows[app.id].proposed_cents > 0, app.reference
    assert decided_by_runs == sum(len(allocation.rows_of(run)) for run in committed)

    recorded = deliberations.recorded(call)
    assert len(recorded) == 2 and {r.body for r in recorded} == {
        "Bureau de la Métropole Aix-Marseille-Provence"}
    assert sum(r.count for r in recorded) == sum(1 for a in apps if a.decision is not None)

    promoted = [a for a in apps if any(e.trigger == "promote" for e in audit.trail(a.id))]
    assert len(promoted) == 1 and promoted[0].state == "proposed"
    assert rows[promoted[0].id].outcome == "waitlisted"
    withdrawn = [a for a in apps if a.state == "withdrawn"
                 and rows.get(a.id) is not None and rows[a.id].outcome == "funded"]
    assert len(withdrawn) == 1 and withdrawn[0].envelope_id == promoted[0].envelope_id
    assert withdrawn[0].reference in audit.trail(promoted[0].id)[-1].comment


def test_the_demo_exports_a_valid_scdl_file(db):
    """The demo's grants of both sessions (paid, reported, closed, one cancelled): their
    SCDL file passes the official schema and the custom checks."""
    from aap.services.exports import scdl
    from tests.services.test_scdl_export import frictionless_errors, parse

    data = scdl.build_scdl([demo_call()])
    assert frictionless_errors(data) == []
    assert scdl.check_scdl(data) == []
    rows = parse(data)
    assert len(rows) == scdl.count([demo_call()]) >= 10
    assert {r["conditionsVersement"] for r in rows} <= {"unique", "échelonné"}


# -- several authorities (SPEC 2 and 3), by hand from the plans in shared/seeds ----------

METROPOLE = "Métropole Aix-Marseille-Provence"
VITROLLES = "Ville de Vitrolles"
LILLE = "Métropole Européenne de Lille"
AUTHORITIES = {  # name: (kind, parent)
    METROPOLE: ("metropole", None),
    "Conseil de Territoire Marseille Provence": ("council", METROPOLE),
    "Conseil de Territoire du Pays d'Aix": ("council", METROPOLE),
    "Conseil de Territoire du Pays d'Aubagne et de l'Étoile": ("council", METROPOLE),
    "Conseil de Territoire Istres-Ouest Provence": ("council", METROPOLE),
    "Conseil de Territoire du Pays de Martigues": ("council", METROPOLE),
    "Conseil de Territoire du Pays Salonais": ("council", METROPOLE),
    VITROLLES: ("commune", METROPOLE),
    LILLE: ("metropole", None),
}
# Each authority's staff: e-mail -> the roles it holds there (and nowhere else).
STAFF_OF = {
    METROPOLE: {
        "sophie.marchetti@metropole.example.org": ["instructor"],
        "karim.belkacem@metropole.example.org": ["instructor"],
        "nathalie.roux@metropole.example.org": ["finance"],
        "julien.esposito@metropole.example.org": ["finance"],
        "f.zerrouki@defenseur.example.org": ["juror"],
        "pa.giraud@prefecture13.example.org": ["juror"],
        "a.mansouri@conseil-citoyen.example.org": ["juror"],
        "l.bernard@caf13.example.org": ["juror"],
        "o.santini@metropole.example.org": ["juror"],
        "h.castagnoli@metropole.example.org": ["manager"],
    },
    VITROLLES: {
        "m.ricci@ville-vitrolles.example.org": ["instructor"],
        "s.girard@ville-vitrolles.example.org": ["finance"],
        "r.aitali@ville-vitrolles.example.org": ["juror"],
        "jm.morel@defenseur.example.org": ["juror"],
        "f.lemaire@ville-vitrolles.example.org": ["manager"],
    },
    LILLE: {
        "c.delattre@lillemetropole.example.org": ["instructor"],
        "b.vandamme@lillemetropole.example.org": ["finance"],
        "n.lefebvre@irev.example.org": ["juror"],
        "k.haddouche@defenseur59.example.org": ["juror"],
        "s.wattebled@lillemetropole.example.org": ["manager"],
    },
}
# What the demo builds, counted by hand from its dossiers: the métropole's call has 46
# dossiers of which 3 drafts (staff never see a draft), Vitrolles' 10, Lille's 8.
METROPOLE_SUBMITTED, VITROLLES_COUNT, LILLE_COUNT = 43, 10, 8


def _authority(db, name: str) -> Authority:
    return db.session.scalars(select(Authority).where(Authority.name == name)).one()


def _call_of(db, authority_name: str) -> Call:
    authority = _authority(db, authority_name)
    return db.session.scalars(
        select(Call).join(Fund, Call.fund_id == Fund.id)
        .where(Fund.authority_id == authority.id, Call.fiscal_year == 2026)).one()


def _ids(db, query) -> set[int]:
    return set(db.session.scalars(query.with_only_columns(Application.id)))


def _call_ids(db, call: Call) -> set[int]:
    return set(db.session.scalars(select(Application.id).where(
        Application.call_id == call.id, Application.state != "draft")))


def test_the_authorities_their_kinds_parents_and_sirets(db):
    found = {a.name: a for a in db.session.scalars(select(Authority))}
    assert {name: (a.kind, a.parent.name if a.parent else None)
            for name, a in found.items()} == AUTHORITIES
    assert found[METROPOLE].siret == "20005478100022"
    assert all(siret.is_valid(a.siret) for a in found.values())
    assert len({a.siret for a in found.values()}) == len(found)


@pytest.mark.parametrize(("fund", "authority"), [
    ("Fonds d'initiative du Plan métropolitain de lutte contre les discriminations",
     METROPOLE),
    ("Appel à projets du Plan local de lutte contre les discriminations, le racisme et "
     "l'antisémitisme (PLCDRA)", VITROLLES),
    ("Appel à projets Prévention et lutte contre les discriminations (PTLCD)", LILLE),
])
def test_each_fund_belongs_to_its_authority(db, fund, authority):
    found = db.session.scalars(select(Fund).where(Fund.name == fund)).one()
    assert found.authority.name == authority
    assert found.authority.siret == found.owner_siret  # the attribuant of its exports


def test_the_local_calls_and_their_juries(db):
    vitrolles, lille = _call_of(db, VITROLLES), _call_of(db, LILLE)
    assert demo_call(VITROLLES_PROGRAMME).id == vitrolles.id
    assert demo_call(LILLE_PROGRAMME).id == lille.id
    assert len(_call_ids(db, vitrolles)) == VITROLLES_COUNT
    assert len(_call_ids(db, lille)) == LILLE_COUNT
    for call, authority in ((vitrolles, VITROLLES), (lille, LILLE)):
        jurors = {e for e, roles in STAFF_OF[authority].items() if "juror" in roles}
        assert {m.user.email for m in call.jury} == jurors
        reviewers = set(db.session.scalars(
            select(User.email).join(Review, Review.juror_id == User.id)
            .join(Application, Review.application_id == Application.id)
            .where(Application.call_id == call.id)))
        assert reviewers == jurors


def test_the_local_calls_have_grants_and_payments(db):
    """Not empty dashboards: Vitrolles granted 5 of its 10 (two paid an 80 % advance);
    Lille granted its 8 selected projects (three paid an advance)."""
    expected = {VITROLLES: (5, 2, 15_000_00, (3_000_00 + 4_000_00) * 8 // 10),
                LILLE: (8, 3, 86_000_00, (15_000_00 + 12_000_00 + 8_000_00) * 8 // 10)}
    for authority, (granted, paid, granted_cents, paid_cents) in expected.items():
        apps = [a for a in _applications(db) if a.call_id == _call_of(db, authority).id]
        assert sum(1 for a in apps if a.granted_cents) == granted, authority
        assert sum(1 for a in apps if a.paid_cents) == paid, authority
        assert sum(a.granted_cents or 0 for a in apps) == granted_cents, authority
        assert sum(a.paid_cents or 0 for a in apps) == paid_cents, authority
        for app in apps:
            assert audit.replay(audit.trail(app.id)) == app.state, app.reference
            assert submission_problems(app) == {}, app.reference


def test_vitrolles_requests_are_on_the_commune_line(db):
    for app in _applications(db):
        if app.call_id == _call_of(db, VITROLLES).id:
            products = app.budget()["products"]
            assert products["74_commune"] == app.requested_cents, app.reference


@pytest.mark.parametrize(("email", "sees", "acts_on"), [
    ("m.ricci@ville-vitrolles.example.org", {VITROLLES}, {VITROLLES}),
    ("c.delattre@lillemetropole.example.org", {LILLE}, {LILLE}),
    # The métropole reads Vitrolles' (a child) and acts on its own only.
    ("sophie.marchetti@metropole.example.org", {METROPOLE, VITROLLES}, {METROPOLE}),
])
def test_instructors_see_their_authority_and_its_children(db, email, sees, acts_on):
    user = accounts.find_by_email(email)
    expected = set().union(*(_call_ids(db, _call_of(db, name)) for name in sees))
    counts = {METROPOLE: METROPOLE_SUBMITTED, VITROLLES: VITROLLES_COUNT,
              LILLE: LILLE_COUNT}
    visible = _ids(db, policies.visible_applications(user))
    assert len(visible) == sum(counts[name] for name in sees)
    assert visible == expected
    for name in (METROPOLE, VITROLLES, LILLE):
        app = db.session.get(Application, min(_call_ids(db, _call_of(db, name))))
        assert policies.can_see_application(user, app) is (name in sees), name
        assert policies.acts_as(user, app, "instructor") is (name in acts_on), name


def test_each_authority_s_staff_hold_their_roles_there_only(db):
    ids = {name: _authority(db, name).id for name in STAFF_OF}
    for authority, staff in STAFF_OF.items():
        for email, roles in staff.items():
            user = accounts.find_by_email(email)
            assert user.role_authorities(*ROLES) == {ids[authority]}, email
            assert user.roles_in(ids[authority]) == roles, email
    admin = accounts.find_by_email("administration@metropole.example.org")
    assert admin.role_authorities(*ROLES) == {None}


def test_associations_apply_to_two_authorities_calls(db):
    """Applicants are platform-wide: one organisation, several authorities' calls."""
    funds_by_org: dict[str, set[str]] = {}
    for app in _applications(db):
        funds_by_org.setdefault(app.organisation.name, set()).add(
            app.call.fund.authority.name)
    assert funds_by_org["Ondes citoyennes de Vitrolles"] == {METROPOLE, VITROLLES}
    assert funds_by_org["Une Clé pour Tous"] == {METROPOLE, LILLE}
    for user in db.session.scalars(select(User)):
        if user.has_role("applicant"):
            assert user.role_authorities("applicant") == {None}, user.email


def test_the_printed_logins_work_in_their_authority(db, demo: Logins):
    """Every login ``aap demo`` prints signs in and holds its role where its heading
    says: one per role and authority, the platform's first."""
    ids = {a.name: a.id for a in db.session.scalars(select(Authority))}
    where: int | None = None
    seen: list[tuple[str, int | None]] = []
    for line in login_table(demo).splitlines()[1:]:
        if not line.strip():
            continue
        if not line.startswith("  "):
            name = line.split(" (")[0]
            where = None if line.startswith("Platform-wide") else ids[name]
            continue
        role, email, password = line.split()
        user = accounts.authenticate(email, password)
        assert user is not None and password == DEMO_PASSWORD, email
        assert where in user.role_authorities(role), (email, role)
        seen.append((role, where))
    staff = [(r, ids[a]) for a in (METROPOLE, VITROLLES, LILLE)
             for r in ("instructor", "finance", "juror", "manager")]
    assert seen == [("admin", None), ("applicant", None), ("applicant", None), *staff]


def test_the_scdl_names_each_authority_as_attribuant(db):
    from aap.services.exports import scdl
    from tests.services.test_scdl_export import parse

    for name, siret_ in ((VITROLLES, "21139117200015"), (LILLE, "24590042800013")):
        rows = parse(scdl.build_scdl([_call_of(db, name)]))
        assert rows and {(r["nomAttribuant"], r["idAttribuant"]) for r in rows} == {
            (name, siret_)}


def test_the_readme_lists_the_printed_logins(demo: Logins):
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The demo\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| [^|]+ \| [^|]+ \| `([^`]+)` \|$", section, re.MULTILINE)
    assert listed == [email for _, email, _ in demo]
    assert f"`{DEMO_PASSWORD}`" in section

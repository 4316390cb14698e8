"""Migration 0007 (authorities) on a database filled at revision 0006, on SQLite or on
PostgreSQL (``TEST_DATABASE_URL``): every row is kept, the existing funds and roles become
platform-wide (``authority_id`` NULL) and keep working, and the new uniqueness holds: one
platform-wide row per (user, role), any number of authorities each with its own row. The
downgrade back to 0006 keeps the data too."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from aap.extensions import db
from tests.old_revision import MIGRATIONS, database_at

AT = "'2026-01-01 00:00:00+00:00'"
TABLES = ("user_account", "user_role", "organisation", "membership", "fund", "call",
          "application")
#: (user id, e-mail, roles) written at revision 0006, when roles had no authority
USERS = [(1, "instructrice@example.org", ("instructor", "finance")),
         (2, "admin@example.org", ("admin",)),
         (3, "porteur@example.org", ("applicant",)),
         (4, "jure@example.org", ("juror",))]


@pytest.fixture
def database_at_0006(app, tmp_path):
    """An app on a database of its own at revision 0006, filled as that revision knows it."""
    with database_at("0006", tmp_path) as old:
        _fill()
        yield old


def _fill() -> None:
    """Users with their roles, an organisation and its member, a fund, a call and an
    application, written in SQL as revision 0006 knows them."""
    with db.engine.begin() as conn:
        role_id = 0
        for user_id, email, roles in USERS:
            conn.execute(text(
                "INSERT INTO user_account (id, email, name, password_hash, active, created_at)"
                f" VALUES (:id, :email, :name, 'pbkdf2:sha256:1$x$y', TRUE, {AT})"),
                {"id": user_id, "email": email, "name": email.split("@")[0]})
            for role in roles:
                role_id += 1
                conn.execute(text("INSERT INTO user_role (id, user_id, role) "
                                  "VALUES (:id, :user, :role)"),
                             {"id": role_id, "user": user_id, "role": role})
        conn.execute(text(
            "INSERT INTO organisation (id, name, siret, address, postcode, city, "
            "legal_representative, created_at) VALUES (1, 'Égalité 13', '73282932000074', "
            f"'2 place de la Mairie', '13127', 'Vitrolles', 'Camille Martin', {AT})"))
        conn.execute(text("INSERT INTO membership (id, user_id, organisation_id, created_at) "
                          f"VALUES (1, 3, 1, {AT})"))
        conn.execute(text(
            "INSERT INTO fund (id, name, owner_name, owner_siret, imputation_chapter, "
            "imputation_nature, imputation_function, imputation_subpolicy, "
            "owner_product_line, notification_ue, created_at) VALUES (1, 'Fonds PMLCD', "
            "'Métropole Aix-Marseille-Provence', '20005478100022', '65', '65748', '552', "
            f"'D110', '74_epci', FALSE, {AT})"))
        conn.execute(text(
            "INSERT INTO call (id, fund_id, title, description, fiscal_year, opens_at, "
            "closes_at, budget_cents, scale, min_total, min_reviews, overflow, "
            "partial_min_share, disagreement_threshold, completion_days, workflow, "
            f"created_at) VALUES (1, 1, 'Appel 2026', '', 2026, {AT}, "
            "'2026-02-01 00:00:00+00:00', 10000000, 20, 0, 1, 'partial', 0.5, 0, 15, "
            f"'application', {AT})"))
        conn.execute(text(
            "INSERT INTO application (id, call_id, organisation_id, state, title, summary, "
            "objectives, target_public, domains, grounds, territories, beneficiaries, "
            "requested_cents, proposed_cents, committed_cents, created_at, updated_at) "
            "VALUES (1, 1, 1, 'submitted', 'Ateliers', '', '', '', '[\"emploi\"]', '[]', "
            f"'[]', 60, 500000, 0, 0, {AT}, {AT})"))


def _rows(columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple]]:
    """Every row of the tables above, by id; only ``columns`` of each table if given."""
    out = {}
    with db.engine.connect() as conn:
        for table in TABLES:
            names = columns[table] if columns else _columns(conn, table)
            out[table] = [tuple(row) for row in conn.execute(text(
                f"SELECT {', '.join(names)} FROM {table} ORDER BY id"))]
    return out


def _columns(conn, table: str) -> list[str]:
    return [c["name"] for c in inspect(conn).get_columns(table)]


def _all_columns() -> dict[str, list[str]]:
    with db.engine.connect() as conn:
        return {table: _columns(conn, table) for table in TABLES}


def test_the_upgrade_keeps_every_row_and_leaves_funds_and_roles_platform_wide(
        database_at_0006):
    columns = _all_columns()
    before = _rows(columns)
    assert len(before["user_role"]) == 5 and len(before["application"]) == 1

    upgrade(directory=MIGRATIONS, revision="head")

    assert _rows(columns) == before
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT authority_id FROM fund")).scalars().all() == [None]
        assert conn.execute(text(
            "SELECT authority_id FROM user_role")).scalars().all() == [None] * 5
        assert conn.execute(text("SELECT COUNT(*) FROM authority")).scalar() == 0


def test_the_old_roles_still_work(database_at_0006):
    from aap.models import Application, Call, Fund, User
    from aap.services import policies

    upgrade(directory=MIGRATIONS, revision="head")

    users = {u.email: u for u in db.session.query(User)}
    assert {email: tuple(sorted(users[email].roles)) for _, email, _ in USERS} == {
        email: tuple(sorted(roles)) for _, email, roles in USERS}
    instructor = users["instructrice@example.org"]
    assert instructor.roles_in(None) == ["finance", "instructor"]
    call, application = db.session.get(Call, 1), db.session.get(Application, 1)
    assert policies.can_act_on_call(instructor, call, "instructor")
    assert policies.can_act_on_fund(instructor, db.session.get(Fund, 1), "finance")
    assert policies.can_see_application(instructor, application)
    assert policies.can_see_application(users["porteur@example.org"], application)
    assert not policies.can_see_application(users["jure@example.org"], application)


def test_one_platform_wide_row_per_role_and_one_per_authority(database_at_0006):
    upgrade(directory=MIGRATIONS, revision="head")
    role = "INSERT INTO user_role (id, user_id, role, authority_id) VALUES (:id, 1, :role, :a)"
    with db.engine.begin() as conn:
        for id_, name, siret in ((1, "Métropole AMP", "20005478100022"),
                                 (2, "Vitrolles", "73282932000074")):
            conn.execute(text("INSERT INTO authority (id, name, kind, siret, created_at) "
                              f"VALUES (:id, :name, 'commune', :siret, {AT})"),
                         {"id": id_, "name": name, "siret": siret})
        with pytest.raises(IntegrityError), conn.begin_nested():  # a second platform-wide
            conn.execute(text(role), {"id": 10, "role": "instructor", "a": None})
        conn.execute(text(role), {"id": 11, "role": "instructor", "a": 1})
        conn.execute(text(role), {"id": 12, "role": "instructor", "a": 2})
        with pytest.raises(IntegrityError), conn.begin_nested():  # twice in one authority
            conn.execute(text(role), {"id": 13, "role": "instructor", "a": 2})
        held = conn.execute(text(
            "SELECT authority_id FROM user_role WHERE user_id = 1 AND role = 'instructor' "
            "ORDER BY id")).scalars().all()
    assert held == [None, 1, 2]


def test_the_downgrade_to_0006_keeps_the_data(database_at_0006):
    columns = _all_columns()
    before = _rows(columns)
    upgrade(directory=MIGRATIONS, revision="head")
    downgrade(directory=MIGRATIONS, revision="0006")

    assert _rows(columns) == before
    with db.engine.connect() as conn:
        assert "authority" not in inspect(conn).get_table_names()
        assert "authority_id" not in _columns(conn, "fund")
        assert "authority_id" not in _columns(conn, "user_role")
    with db.engine.begin() as conn, pytest.raises(IntegrityError):  # (user, role) unique
        conn.execute(text("INSERT INTO user_role (id, user_id, role) "
                          "VALUES (99, 1, 'instructor')"))


def test_the_downgrade_removes_roles_held_in_an_authority_rather_than_widening_them(
        database_at_0006):
    upgrade(directory=MIGRATIONS, revision="head")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO authority (id, name, kind, siret, created_at) "
                          f"VALUES (1, 'Vitrolles', 'commune', '21130117100014', {AT})"))
        # the juror (user 4) is also an instructor, of Vitrolles only
        conn.execute(text("INSERT INTO user_role (id, user_id, role, authority_id) "
                          "VALUES (99, 4, 'instructor', 1)"))
    downgrade(directory=MIGRATIONS, revision="0006")

    with db.engine.connect() as conn:
        held = conn.execute(text("SELECT role FROM user_role WHERE user_id = 4")).scalars()
        assert sorted(held) == ["juror"]

"""Strict input fields, through the real API: a value the API does not take exactly is a
422 ``invalid_data`` naming the field (SPEC 7.1), and nothing is stored.

- booleans are JSON ``true``/``false`` only: ``force: "yes"`` once closed a review with
  none submitted;
- integers are JSON integers within bounds: ids from 1, cents from 0, counts that fit the
  database, a query-string integer bounded like any other (never a 500);
- decimals are finite, with at most a few places and a bounded magnitude: ``"1e400"``
  was once stored as Infinity in a call's weight or minimum total.

The expected outcomes come from SPEC 7.1 (error body, integer cents, statuses) and from
hand-written values; the schemas are never consulted to compute them.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from aap.models import Application, Call, Criterion, Fund, Review
from aap.models.reviews import ReviewScore
from tests.api.helpers import assert_error, ok

INT64_MAX = 9_223_372_036_854_775_807  # 2**63 - 1, written out
MAX_ID = 2_147_483_647  # ids are INTEGER columns, 32 bits on PostgreSQL: 2**31 - 1


def call_body(fund: int, **changes) -> dict:
    body = {
        "fund_id": fund, "title": "Appel à projets 2027", "fiscal_year": 2027,
        "opens_at": "2027-01-15T09:00:00+01:00", "closes_at": "2027-03-31T23:59:00+02:00",
        "budget_cents": 100_000_00,
        "rules": {"min_request_cents": 1_000_00, "max_request_cents": 30_000_00,
                  "max_share_of_cost": "0.8"},
        "grid": [{"key": "pertinence", "label": "Pertinence", "weight": "2", "max": 5}],
        "scale": 20, "min_total": "10", "min_reviews": 1, "partial_min_share": "0.5",
    }
    body.update(changes)
    return body


def app_body(world, **changes) -> dict:
    body = {"call_id": world.call.id, "organisation_id": world.org.id,
            "title": "Ateliers contre les discriminations", "domains": ["emploi"],
            "grounds": ["origine"], "beneficiaries": 60, "requested_cents": 5_000_00}
    body.update(changes)
    return body


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def nothing_reviewed(db) -> bool:
    """No score stored, no review submitted or recused (open_review creates the jurors'
    empty reviews)."""
    return count(db, ReviewScore) == 0 and not db.session.scalar(
        select(func.count(Review.id)).where(Review.submitted | Review.conflict))


def assert_refused(response, *fields: str) -> dict:
    """A 422 ``invalid_data`` (SPEC 7.1) whose ``fields`` name exactly ``fields``, each
    with a message in French (no marshmallow English left over)."""
    error = assert_error(response, 422, "invalid_data", list(fields))
    assert set(error["fields"]) == set(fields), error
    for messages in error["fields"].values():
        for message in messages:
            assert not any(word in message for word in (
                "Not a valid", "Must be", "Invalid", "Missing data", "Unknown field",
                "may not be null")), message
    return error


# -- booleans ---------------------------------------------------------------------------
NOT_BOOLEANS = ["yes", "true", "True", "oui", 1, 0, "1", "", [], {}, None]


@pytest.mark.parametrize("value", NOT_BOOLEANS)
def test_force_yes_does_not_close_a_review(api, world, db, value):
    """The regression: ``force: "yes"`` closed a review with none submitted."""
    app = world.bring_to(world.application(), "in_review")
    response = api.fire(app.id, "close_review", world.users["instructor"],
                        {"force": value, "comment": "Jury réuni."})
    assert_refused(response, "force")
    db.session.expire_all()
    assert db.session.get(Application, app.id).state == "in_review"


def test_force_true_still_closes_a_review(api, world, db):
    app = world.bring_to(world.application(), "in_review")
    body = ok(api.fire(app.id, "close_review", world.users["instructor"],
                       {"force": True, "comment": "Jury réuni."}))
    assert body["state"] == "reviewed"


@pytest.mark.parametrize("field", ["submit", "conflict"])
@pytest.mark.parametrize("value", ["yes", 1, "false", None])
def test_review_flags_are_booleans(api, world, db, field, value):
    app = world.bring_to(world.application(), "in_review")
    response = api.put(f"/applications/{app.id}/review", as_=world.users["juror"],
                       json={"scores": {"pertinence": 4, "faisabilite": 3}, field: value})
    assert_refused(response, field)
    assert nothing_reviewed(db)


def test_fund_flag_is_a_boolean(api, world, db):
    before = count(db, Fund)
    response = api.post("/funds", as_=world.users["instructor"], json={
        "name": "Fonds", "owner_name": "Métropole", "owner_siret": "20005478100022",
        "notification_ue": "oui"})
    assert_refused(response, "notification_ue")
    assert count(db, Fund) == before


# -- integers ---------------------------------------------------------------------------
@pytest.mark.parametrize("value", [0, -1, "1", 1.0, 1.5, True, None, INT64_MAX + 0.0,
                                   MAX_ID + 1, INT64_MAX])
def test_ids_are_integers_from_one(api, world, db, value):
    """Beyond 2**31 - 1 an id cannot exist, and PostgreSQL refuses to compare it with an
    INTEGER column (it was a 500 there)."""
    response = api.post("/applications", as_=world.users["applicant"],
                        json=app_body(world, call_id=value))
    assert_refused(response, "call_id")
    assert count(db, Application) == 0


@pytest.mark.parametrize("name", ["requested_cents", "beneficiaries"])
@pytest.mark.parametrize("value", [-1, "100", 100.5, 100.0, False, INT64_MAX])
def test_cents_and_counts_are_bounded_integers(api, world, db, name, value):
    response = api.post("/applications", as_=world.users["applicant"],
                        json=app_body(world, **{name: value}))
    assert_refused(response, name)
    assert count(db, Application) == 0


def test_a_count_beyond_a_database_integer_is_refused(api, world, db):
    """2**31 people do not fit a 32-bit database integer (PostgreSQL would fail)."""
    response = api.post("/applications", as_=world.users["applicant"],
                        json=app_body(world, beneficiaries=2_147_483_648))
    assert_refused(response, "beneficiaries")


@pytest.mark.parametrize("changes, field", [
    ({"budget_cents": -1}, "budget_cents"),
    ({"budget_cents": INT64_MAX}, "budget_cents"),
    ({"budget_cents": 10.0}, "budget_cents"),
    ({"fiscal_year": INT64_MAX}, "fiscal_year"),
    ({"fiscal_year": 1999}, "fiscal_year"),
    ({"scale": 0}, "scale"),
    ({"min_reviews": -1}, "min_reviews"),
    ({"min_reviews": INT64_MAX}, "min_reviews"),
    ({"fund_id": 0}, "fund_id"),
    ({"rules": {"min_request_cents": -5}}, "rules.min_request_cents"),
    ({"grid": [{"key": "a", "label": "A", "max": INT64_MAX}]}, "grid.0.max"),
    ({"grid": [{"key": "a", "label": "A", "max": "5"}]}, "grid.0.max"),
])
def test_call_integers_are_bounded(api, world, db, changes, field):
    before = count(db, Call)
    response = api.post("/calls", as_=world.users["instructor"],
                        json=call_body(world.fund.id, **changes))
    assert_refused(response, field)
    assert count(db, Call) == before


def test_juror_ids_are_ids(api, world):
    for value in (0, -3, "2", INT64_MAX + 1.0, MAX_ID + 1):
        response = api.put(f"/calls/{world.call.id}/jury", as_=world.users["instructor"],
                           json={"juror_ids": [value]})
        assert_refused(response, "juror_ids.0")


@pytest.mark.parametrize("query, field", [
    ("page=99999999999999999999999", "page"),
    ("page=0", "page"),
    ("page=1e3", "page"),
    ("per_page=101", "per_page"),
    (f"call_id={2**64}", "call_id"),
    (f"call_id={INT64_MAX + 1}", "call_id"),
    (f"call_id={MAX_ID + 1}", "call_id"),
    ("call_id=0", "call_id"),
    ("call_id=abc", "call_id"),
    ("call_id=" + "9" * 5000, "call_id"),
])
def test_query_string_integers_are_bounded(api, world, query, field):
    """Digits are read from the query string, then bounded: never a 500."""
    assert_refused(api.get(f"/applications?{query}", as_=world.users["instructor"]), field)


def test_query_string_integers_within_bounds_are_read(api, world):
    body = ok(api.get(f"/applications?call_id={world.call.id}&page=1&per_page=100",
                      as_=world.users["instructor"]))
    assert body["page"] == 1
    body = ok(api.get(f"/applications?call_id={MAX_ID}", as_=world.users["instructor"]))
    assert body["items"] == [] and body["total"] == 0


def test_payment_amount_is_cents(api, world, db):
    app = world.bring_to(world.application(), "granted")
    for value in (-100, "100", 100.0, INT64_MAX):
        response = api.post(f"/applications/{app.id}/payments", as_=world.users["finance"],
                            json={"kind": "advance", "amount_cents": value,
                                  "paid_on": "2026-11-02"})
        assert_refused(response, "amount_cents")
    db.session.expire_all()
    assert db.session.get(Application, app.id).paid_cents == 0


# -- decimals ---------------------------------------------------------------------------
NOT_DECIMALS = ["1e400", "1e-400", "NaN", "nan", "Infinity", "-Infinity", "inf", "1E2",
                "0x10", "1,5", "", " ", "deux", "1.2.3", True, None, [], {}]


@pytest.mark.parametrize("value", NOT_DECIMALS)
@pytest.mark.parametrize("field", ["weight", "min_total"])
def test_weight_and_min_total_are_finite_decimals(api, world, db, field, value):
    """The regression: "1e400" was stored as Infinity."""
    before = count(db, Call)
    if field == "weight":
        body = call_body(world.fund.id, grid=[
            {"key": "pertinence", "label": "Pertinence", "weight": value, "max": 5}])
        name = "grid.0.weight"
    else:
        body = call_body(world.fund.id, min_total=value)
        name = "min_total"
    assert_refused(api.post("/calls", as_=world.users["instructor"], json=body), name)
    assert count(db, Call) == before


@pytest.mark.parametrize("changes, field", [
    ({"min_total": "0.0001"}, "min_total"),                 # 4 places, 3 at most
    ({"min_total": "100000"}, "min_total"),                 # beyond 99999.999
    ({"min_total": "-1"}, "min_total"),
    ({"min_total": 1e20}, "min_total"),
    ({"min_total": "1" + "0" * 40}, "min_total"),
    ({"partial_min_share": "1.5"}, "partial_min_share"),
    ({"partial_min_share": "0.12345"}, "partial_min_share"),
    ({"partial_min_share": 0.30000000000000004}, "partial_min_share"),
    ({"rules": {"max_share_of_cost": "0"}}, "rules.max_share_of_cost"),  # 0 excluded
    ({"rules": {"max_share_of_cost": "1.0001"}}, "rules.max_share_of_cost"),
    ({"grid": [{"key": "a", "label": "A", "max": 5, "weight": "0"}]}, "grid.0.weight"),
    ({"grid": [{"key": "a", "label": "A", "max": 5, "weight": "1000.001"}]},
     "grid.0.weight"),
])
def test_decimals_have_bounded_places_and_range(api, world, db, changes, field):
    before = count(db, Call)
    response = api.post("/calls", as_=world.users["instructor"],
                        json=call_body(world.fund.id, **changes))
    error = assert_refused(response, field)
    assert count(db, Call) == before
    assert error["message"]


@pytest.mark.parametrize("changes, expected", [
    ({"min_total": "12.5"}, {"min_total": Decimal("12.5")}),
    ({"min_total": 12.5}, {"min_total": Decimal("12.5")}),
    ({"min_total": 12}, {"min_total": Decimal("12")}),
    ({"min_total": "99999.999"}, {"min_total": Decimal("99999.999")}),
    ({"partial_min_share": "0.3333"}, {"partial_min_share": Decimal("0.3333")}),
    ({"partial_min_share": 1}, {"partial_min_share": Decimal("1")}),
    ({"grid": [{"key": "a", "label": "A", "max": 5, "weight": "0.001"}]},
     {"weight": Decimal("0.001")}),
])
def test_finite_decimals_within_bounds_are_stored_exactly(api, world, db, changes,
                                                          expected):
    body = ok(api.post("/calls", as_=world.users["instructor"],
                       json=call_body(world.fund.id, **changes)), 201)
    call = db.session.get(Call, body["id"])
    for name, value in expected.items():
        if name == "weight":
            stored = db.session.scalars(select(Criterion.weight)
                                        .where(Criterion.call_id == call.id)).one()
            assert stored == value
            assert Decimal(body["grid"][0]["weight"]) == value
            assert isinstance(body["grid"][0]["weight"], str)
        else:
            assert getattr(call, name) == value
            assert isinstance(body[name], str) and Decimal(body[name]) == value


@pytest.mark.parametrize("value", ["1e400", "NaN", "Infinity", "0.5e1", "-0.5", "1.5",
                                   "0.00001"])
def test_schedule_shares_are_decimals_between_0_and_1(api, world, db, value):
    app = world.bring_to(world.application(), "granted")
    response = api.fire(app.id, "sign_convention", world.users["instructor"], {
        "convention": {"reference": "CONV-2026-0001", "signed_on": "2026-10-20",
                       "schedule": [{"kind": "advance", "share": value}]}})
    assert_refused(response, "convention.schedule.0.share")
    db.session.expire_all()
    assert db.session.get(Application, app.id).state == "granted"


@pytest.mark.parametrize("value", ["1e400", "NaN", "Infinity", "1e-400", "3.0001", -1,
                                   True, None, "trois"])
def test_review_scores_are_finite_decimals(api, world, db, value):
    app = world.bring_to(world.application(), "in_review")
    response = api.put(f"/applications/{app.id}/review", as_=world.users["juror"],
                       json={"scores": {"pertinence": value}})
    assert_refused(response, "scores.pertinence")
    assert nothing_reviewed(db)


def test_review_scores_may_be_numbers_or_strings(api, world):
    app = world.bring_to(world.application(), "in_review")
    body = ok(api.put(f"/applications/{app.id}/review", as_=world.users["juror"],
                      json={"scores": {"pertinence": "4.5", "faisabilite": 3},
                            "submit": True}))
    # SPEC 5: weighted total on the call's scale (20): weights 2 and 1, maxima 5 and 5,
    # so (2 * 4.5/5 + 1 * 3/5) / 3 * 20 = (1.8 + 0.6) / 3 * 20 = 16
    assert Decimal(body["total"]) == Decimal(16)
    assert isinstance(body["total"], str)


# -- every message names the field and is French ------------------------------------------
def test_all_invalid_fields_are_reported_together(api, world, db):
    response = api.post("/calls", as_=world.users["instructor"], json=call_body(
        world.fund.id, budget_cents="1000", min_total="NaN", fiscal_year=True,
        rules={"max_share_of_cost": "Infinity"}))
    assert_refused(response, "budget_cents", "min_total", "fiscal_year",
                   "rules.max_share_of_cost")


def test_unknown_query_parameters_are_refused(api, world):
    """A mistyped filter (``stat`` for ``state``) is a 422 naming it, not a list that
    silently ignores it."""
    assert_refused(api.get("/applications?stat=submitted", as_=world.users["instructor"]),
                   "stat")
    assert_refused(api.get("/calls?pages=2", as_=world.users["instructor"]), "pages")


# -- every input schema, present and future ------------------------------------------------
def _input_schemas(app):
    """The schemas that read a body, a form or a query string of an API route, from the
    routes themselves (so a new route is covered without editing this test)."""
    for endpoint, view in app.view_functions.items():
        doc = getattr(view, "_apidoc", {})
        for parameter in doc.get("arguments", {}).get("parameters", []):
            yield endpoint, parameter["schema"]
        body = doc.get("manual_doc", {}).get("requestBody", {})
        for content in body.get("content", {}).values():
            if not isinstance(content.get("schema"), dict):
                yield endpoint, content["schema"]


def _loose_fields(schema, where: str):
    from marshmallow import fields

    from aap.api.schemas import StrictBoolean, StrictDecimal, StrictInteger, StrictSchema

    schema = schema() if isinstance(schema, type) else schema
    if not isinstance(schema, StrictSchema):
        yield f"{where}: {type(schema).__name__} is not a StrictSchema"
    for name, field in schema.fields.items():
        stack = [(field, f"{where}.{name}")]
        while stack:
            field, path = stack.pop()
            if isinstance(field, fields.Boolean) and not isinstance(field, StrictBoolean):
                yield f"{path}: Boolean"
            if isinstance(field, fields.Number) and not isinstance(field, StrictInteger):
                yield f"{path}: {type(field).__name__}"
            if type(field) is fields.Raw and name != "file":
                yield f"{path}: Raw"
            if isinstance(field, fields.Nested):
                yield from _loose_fields(field.schema, path)
            for inner in ("inner", "key_field", "value_field"):
                if isinstance(getattr(field, inner, None), fields.Field):
                    stack.append((getattr(field, inner), f"{path}.{inner}"))
            assert not isinstance(field, StrictDecimal) or field.places <= 4


def test_every_input_schema_uses_the_strict_fields(app):
    schemas = list(_input_schemas(app))
    assert len(schemas) >= 15  # the routes of SPEC 7.1 that take input
    loose = [problem for endpoint, schema in schemas
             for problem in _loose_fields(schema, endpoint)]
    assert not loose, loose


@pytest.mark.parametrize("path", ["/calls/{big}", "/applications/{big}",
                                  "/applications/{big}/reviews", "/allocations/{big}"])
@pytest.mark.parametrize("big", [MAX_ID + 1, 4_531_758_166, INT64_MAX])
def test_path_ids_beyond_the_database_ids_are_404(api, world, path, big):
    """An id the database cannot hold is unknown (SPEC 7.1: 404), found by schemathesis
    on PostgreSQL (INTEGER ids), where it was a 500."""
    response = api.get(path.format(big=big), as_=world.users["instructor"])
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_a_huge_id_on_a_path_with_two_methods_is_404_not_405(api, world, method):
    response = api.request(method, f"/applications/1/attachments/{MAX_ID + 1}",
                           as_=world.users["applicant"])
    assert_error(response, 404, "not_found")


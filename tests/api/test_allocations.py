"""Allocation runs through the API (SPEC 7.1): POST /calls/{id}/allocations, GET the runs,
GET one run, commit a stored simulation, compare two runs."""

from __future__ import annotations

import pytest

from aap.extensions import db
from tests.api.helpers import assert_error, ok
from tests.services.test_allocation import E, reviewed


@pytest.fixture
def reviewed_three(world):
    world.call.budget_cents = 10_000 * E
    db.session.commit()
    return [reviewed(world, 4000, 5, 4), reviewed(world, 5000, 4, 4),
            reviewed(world, 3000, 3, 4)]


def test_a_simulation_returns_the_ranked_rows(api, world, reviewed_three):
    first, second, third = reviewed_three
    run = ok(api.post(f"/calls/{world.call.id}/allocations", as_=world.users["instructor"],
                      json={"seed": "2026-10-12"}), 201)
    assert run["committed"] is False and len(run["digest"]) == 64
    assert run["total_proposed_cents"] == 9_000 * E
    assert [(r["application_id"], r["rank"], r["score"], r["requested_cents"],
             r["proposed_cents"], r["outcome"]) for r in run["rows"]] == [
        (first.id, 1, "18.667", 4000 * E, 4000 * E, "funded"),
        (second.id, 2, "16.000", 5000 * E, 5000 * E, "funded"),
        (third.id, 3, "13.333", 3000 * E, 0, "waitlisted")]
    assert run["rows"][2]["reason"].startswith("rang 3, 13,3/20, 0\xa0€ sur 3\u202f000\xa0€")


def test_what_if_parameters_and_their_echo(api, world, reviewed_three):
    run = ok(api.post(f"/calls/{world.call.id}/allocations", as_=world.users["instructor"],
                      json={"seed": "s", "budget_cents": 7_000 * E, "overflow": "skip",
                            "aggregation": "median", "min_total": "14"}), 201)
    assert [r["outcome"] for r in run["rows"]] == ["funded", "waitlisted", "rejected"]
    assert run["parameters"]["overflow"] == "skip"
    assert run["parameters"]["aggregation"] == "median"
    assert run["budget_cents"] == 7_000 * E


def test_commit_at_once_moves_the_applications(api, world, reviewed_three):
    run = ok(api.post(f"/calls/{world.call.id}/allocations", as_=world.users["instructor"],
                      json={"seed": "s", "commit": True}), 201)
    assert run["committed"] is True and run["in_force"] is True
    states = [ok(api.get(f"/applications/{a.id}", as_=world.users["instructor"]))["state"]
              for a in reviewed_three]
    assert states == ["proposed", "proposed", "waitlisted"]
    again = api.post(f"/calls/{world.call.id}/allocations", as_=world.users["instructor"],
                     json={"seed": "s", "commit": True})
    assert_error(again, 409, "nothing_to_allocate")


def test_runs_are_listed_read_compared_and_committed(api, world, reviewed_three):
    instructor = world.users["instructor"]
    url = f"/calls/{world.call.id}/allocations"
    wide = ok(api.post(url, as_=instructor, json={"seed": "s"}), 201)
    tight = ok(api.post(url, as_=instructor, json={"seed": "s", "budget_cents": 6_000 * E,
                                                   "overflow": "skip"}), 201)
    listed = ok(api.get(url, as_=instructor))
    assert [r["id"] for r in listed["items"]] == [tight["id"], wide["id"]]
    assert listed["total"] == 2 and "rows" not in listed["items"][0]
    one = ok(api.get(f"/allocations/{wide['id']}", as_=instructor))
    assert one["digest"] == wide["digest"] and one["rows"] == wide["rows"]
    diff = ok(api.get(f"/allocations/{wide['id']}/compare/{tight['id']}", as_=instructor))
    second = reviewed_three[1]
    assert [(c["application_id"], c["before_outcome"], c["after_outcome"], c["delta_cents"])
            for c in diff["changes"]] == [(second.id, "funded", "waitlisted", -5000 * E)]
    committed = ok(api.post(f"/allocations/{tight['id']}/commit", as_=instructor))
    assert committed["id"] == tight["id"] and committed["in_force"] is True
    assert_error(api.post(f"/allocations/{wide['id']}/commit", as_=instructor), 409,
                 "stale_run")


def test_a_stale_simulation_is_a_409(api, world, reviewed_three):
    run = ok(api.post(f"/calls/{world.call.id}/allocations", as_=world.users["instructor"],
                      json={"seed": "s"}), 201)
    ok(api.post(f"/applications/{reviewed_three[2].id}/transitions/withdraw",
                as_=world.users["applicant"]))
    assert_error(api.post(f"/allocations/{run['id']}/commit", as_=world.users["instructor"]),
                 409, "stale_run")


@pytest.mark.parametrize("role", ["applicant", "juror", "finance", "admin"])
def test_runs_are_for_instructors(api, world, reviewed_three, role):
    user = world.users[role]
    url = f"/calls/{world.call.id}/allocations"
    assert_error(api.post(url, as_=user, json={"seed": "s"}), 403, "forbidden")
    assert_error(api.get(url, as_=user), 403, "forbidden")
    run = ok(api.post(url, as_=world.users["instructor"], json={"seed": "s"}), 201)
    assert_error(api.get(f"/allocations/{run['id']}", as_=user), 403, "forbidden")


@pytest.mark.parametrize(("body", "field"), [
    ({}, "seed"),
    ({"seed": "s", "overflow": "knapsack"}, "overflow"),
    ({"seed": "s", "aggregation": "max"}, "aggregation"),
    ({"seed": "s", "budget_cents": -1}, "budget_cents"),
    ({"seed": "s", "commit": "yes"}, "commit"),
    ({"seed": "s", "grey_zone": "NaN"}, "grey_zone"),
])
def test_bad_parameters_are_422(api, world, body, field):
    response = api.post(f"/calls/{world.call.id}/allocations",
                        as_=world.users["instructor"], json=body)
    assert_error(response, 422, "invalid_data", fields=[field])


def test_unknown_call_and_run_are_404(api, world):
    instructor = world.users["instructor"]
    assert_error(api.post("/calls/999999/allocations", as_=instructor, json={"seed": "s"}),
                 404, "not_found")
    assert_error(api.get("/allocations/999999", as_=instructor), 404, "not_found")

"""The role is checked before the body is validated (SPEC 9): a caller without the role
gets 403, and learns nothing of the schema from a 422. The "who" column of SPEC 7.1 is
written out below as the oracle; a body route missing from it fails the test."""

from __future__ import annotations

import re

import pytest

from aap.services import reviews as reviews_service
from tests.api.helpers import assert_error

ROLES = ("applicant", "juror", "finance", "instructor", "admin")

#: (method, path) -> the roles that may call it (SPEC 7.1 and docs/api.md); None: anyone.
WHO = {
    ("POST", "/auth/token"): None,
    ("POST", "/auth/register"): None,
    # any signed-in user, its own password: every role reaches the body (422)
    ("PUT", "/me/password"): set(ROLES),
    ("POST", "/authorities"): {"admin"},
    # admin, or a manager of that very authority: a manager elsewhere (another authority,
    # its parent) is 403 before the body is read too (tests/api/test_authorities.py)
    ("PUT", "/authorities/{id}/members/{id}"): {"admin", "manager"},
    ("POST", "/funds"): {"instructor"},
    ("POST", "/calls"): {"instructor"},
    ("PUT", "/calls/{call}/jury"): {"instructor"},
    ("POST", "/calls/{call}/assignments"): {"instructor"},
    ("POST", "/calls/{call}/allocations"): {"instructor"},
    ("POST", "/calls/{call}/deliberations"): {"instructor"},
    ("POST", "/allocations/{id}/commit"): {"instructor"},
    ("POST", "/organisations"): {"applicant"},
    ("POST", "/organisations/{org}/join-requests"): {"applicant"},
    ("POST", "/organisations/{org}/join-requests/{id}/accept"): {"applicant"},
    ("POST", "/organisations/{org}/join-requests/{id}/decline"): {"applicant"},
    ("POST", "/applications"): {"applicant"},
    ("PATCH", "/applications/{app}"): {"applicant"},
    ("POST", "/applications/{app}/attachments"): {"applicant"},
    ("PUT", "/applications/{app}/review"): {"juror"},
    ("POST", "/applications/{app}/payments"): {"finance"},
    ("POST", "/applications/{app}/repayments"): {"finance"},
    ("POST", "/applications/{app}/repayments/{id}/received"): {"finance"},
    ("POST", "/applications/{app}/report"): {"applicant"},
    ("POST", "/applications/{app}/conflicts"): {"instructor"},
    # triggers: roles per SPEC 4, checked after visibility and state (tests/api/
    # test_transitions.py covers their order)
    ("POST", "/applications/{app}/transitions/{trigger}"): "per-trigger",
}

NAMES = {"call_id": "call", "organisation_id": "org", "application_id": "app",
         "request_id": "id", "allocation_id": "id", "repayment_id": "id",
         "trigger": "trigger", "authority_id": "id", "user_id": "id"}


def _body_routes(app) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + NAMES.get(m[1], m[1]) + "}",
                      rule.rule[len("/api/v1"):])
        out.update((m, path) for m in rule.methods & {"POST", "PUT", "PATCH"})
    return out


def test_every_body_route_is_in_the_oracle(app):
    assert _body_routes(app) - set(WHO) == set()


@pytest.fixture
def in_review(world):
    """An application everyone can see: the member, the assigned juror, every staff role."""
    application = world.bring_to(world.application(), "in_review")
    reviews_service.reviews_for(world.users["juror"], application)
    return application


CASES = [(method, path, roles) for (method, path), roles in WHO.items()
         if isinstance(roles, set) and "{org}" not in path and "{id}" not in path]


@pytest.mark.parametrize(("method", "path", "allowed"), CASES,
                         ids=[f"{m} {p}" for m, p, _ in CASES])
@pytest.mark.parametrize("role", ROLES)
def test_a_bad_body_from_the_wrong_role_is_403(app, api, world, in_review, method, path,
                                               allowed, role):
    url = path.format(call=world.call.id, app=in_review.id)
    user = world.users[role]
    response = api.request(method, url, as_=user, json={"no_such_field": 1})
    if role in allowed:
        assert_error(response, 422, "invalid_data")  # the body is really invalid
    else:
        assert_error(response, 403, "forbidden")
        assert "no_such_field" not in response.get_data(True)


def test_join_request_routes_check_membership_before_the_body(api, world):
    """Only members decide on join requests: a non-member's bad body is not read."""
    response = api.post(f"/organisations/{world.org.id}/join-requests/1/accept",
                        as_=world.users["foreign_applicant"], json={"no_such_field": 1})
    # the organisation is known and the caller is no member of it: 403, whatever the body
    assert_error(response, 403, "forbidden")
    assert "no_such_field" not in response.get_data(True)

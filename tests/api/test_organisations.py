"""Organisations: identifiers checked (SIRET, RNA, IBAN, BIC), the caller becomes a member."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from aap.models import Membership, Organisation
from tests.api.helpers import assert_error, ok

ORG = {"name": "Association Egalité Frais Vallon", "siret": "73282932000074",
       "rna": "W133012345", "address": "12 avenue de Frais Vallon", "postcode": "13013",
       "city": "Marseille", "legal_representative": "Samia Benali",
       "iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "AGRIFRPP"}


def test_create_organisation_and_apply_for_it(api, world):
    applicant = world.users["foreign_applicant"]
    body = ok(api.post("/organisations", as_=applicant, json=ORG), 201)
    assert isinstance(body["id"], int)
    assert body["siret"] == "73282932000074"
    assert body["rna"] == "W133012345"
    assert body["iban"] == "FR7630006000011234567890189"  # stored compact
    assert body["bic"] == "AGRIFRPP"
    # the caller became a member: it may now create an application for it
    created = ok(api.post("/applications", as_=applicant, json={
        "call_id": world.call.id, "organisation_id": body["id"], "title": "Projet"}), 201)
    assert created["organisation_id"] == body["id"]
    # and nobody else is a member
    assert_error(api.post("/applications", as_=world.users["applicant"], json={
        "call_id": world.call.id, "organisation_id": body["id"], "title": "Projet"}),
        403, "forbidden")


@pytest.mark.parametrize("optional", ["rna", "iban", "bic"])
def test_optional_identifiers_may_be_left_out(api, world, optional):
    body = ok(api.post("/organisations", as_=world.users["applicant"],
                       json={**ORG, optional: None}), 201)
    assert body[optional] is None


def test_every_bad_identifier_is_reported_at_once(api, world):
    response = api.post("/organisations", as_=world.users["applicant"], json={
        **ORG, "siret": "73282932000075", "rna": "W12", "iban": "FR7630006000011234567890188",
        "bic": "AGRI"})
    error = assert_error(response, 422, "invalid_data", ["siret", "rna", "iban", "bic"])
    assert set(error["fields"]) == {"siret", "rna", "iban", "bic"}


BAD_ORGANISATIONS = [
    ({"siret": "73282932000075"}, "siret"),  # Luhn key
    ({"siret": "7328293200007"}, "siret"),  # 13 digits
    ({"siret": "ABCDEFGHIJKLMN"}, "siret"),
    ({"siret": ""}, "siret"),
    ({"rna": "133012345"}, "rna"),
    ({"rna": "W1330123456"}, "rna"),
    ({"rna": "X133012345"}, "rna"),
    ({"iban": "FR7630006000011234567890188"}, "iban"),  # mod 97
    ({"iban": "not an iban"}, "iban"),
    ({"bic": "AGRIFRP"}, "bic"),
    ({"bic": "12345678"}, "bic"),
    ({"postcode": "1301"}, "postcode"),
    ({"postcode": "ABCDE"}, "postcode"),
    ({"name": ""}, "name"),
    ({"name": "x" * 301}, "name"),
    ({"legal_representative": "  "}, "legal_representative"),
    ({"siret": 73282932000074}, "siret"),  # a number, not a string
    ({"members": [1]}, "members"),
]


def test_organisation_validation(api, world, subtests):
    for changes, field in BAD_ORGANISATIONS:
        with subtests.test(changes=changes):
            response = api.post("/organisations", as_=world.users["applicant"],
                                json={**ORG, **changes})
            error = assert_error(response, 422, "invalid_data", [field])
            assert list(error["fields"]) == [field]
    for missing in ("name", "siret", "address", "postcode", "city", "legal_representative"):
        with subtests.test(missing=missing):
            body = {k: v for k, v in ORG.items() if k != missing}
            assert_error(api.post("/organisations", as_=world.users["applicant"], json=body),
                         422, "invalid_data", [missing])


@pytest.mark.parametrize("role", ["instructor", "juror", "finance"])
def test_only_applicants_create_organisations(api, world, role):
    assert_error(api.post("/organisations", as_=world.users[role], json=ORG), 403, "forbidden")


def test_a_refused_organisation_writes_nothing(api, world, db):
    def counts():
        return (db.session.scalar(select(func.count(Organisation.id))),
                db.session.scalar(select(func.count(Membership.id))))

    before = counts()
    assert_error(api.post("/organisations", as_=world.users["applicant"],
                          json={**ORG, "siret": "1"}), 422)
    assert counts() == before
    ok(api.post("/organisations", as_=world.users["applicant"], json=ORG), 201)
    assert counts() == (before[0] + 1, before[1] + 1)

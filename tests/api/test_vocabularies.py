"""Controlled vocabularies (SPEC 3 and 7.1): stable codes with French labels, served at
GET /api/v1/vocabularies to anyone, listed as enums in the OpenAPI document, and a label
sent instead of a code is a 422 that says which codes are accepted."""

from __future__ import annotations

import io

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from aap import vocabulary
from aap.models import Application, Attachment, Fund
from tests.api.helpers import assert_error, ok

# SPEC 7.1, "Budget lines use the CERFA 12156 keys": written out here as the oracle.
SPEC_CHARGES = ["60", "61", "62", "63", "64", "65", "66", "67", "68", "86"]
SPEC_PRODUCTS = ["70", "73", "74_state", "74_region", "74_department", "74_epci",
                 "74_commune", "74_social", "74_eu", "74_asp", "74_other_public",
                 "74_private", "75", "76", "77", "78", "87"]
# SPEC 3: grounds and domains named in French; the codes carrying them
SPEC_GROUNDS = {"origine": "Origine", "sexe": "Sexe", "age": "Âge", "handicap": "Handicap",
                "orientation_sexuelle": "Orientation sexuelle",
                "identite_genre": "Identité de genre", "religion": "Religion",
                "lieu_residence": "Lieu de résidence",
                "vulnerabilite_economique": "vulnérabilité économique"}
SPEC_DOMAINS = {"emploi": "Emploi", "logement": "Logement", "education": "Éducation",
                "sante": "Santé", "acces_aux_droits": "Accès aux droits",
                "citoyennete": "Citoyenneté"}
SPEC_ATTACHMENT_KINDS = {"statutes": "Statuts", "rib": "RIB"}  # SPEC 3: statutes, RIB...
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def vocabularies(client, db) -> dict:
    response = client.get("/api/v1/vocabularies")  # no token
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def codes(terms: list[dict]) -> list[str]:
    return [term["code"] for term in terms]


def labels(terms: list[dict]) -> dict[str, str]:
    return {term["code"]: term["label"] for term in terms}


def french(mapping: dict) -> dict[str, str]:
    with force_locale("fr"):
        return {code: str(label) for code, label in mapping.items()}


# -- the endpoint ------------------------------------------------------------------------
def test_shape(vocabularies):
    assert set(vocabularies) == {"domains", "grounds", "attachment_kinds", "budget_lines"}
    assert set(vocabularies["budget_lines"]) == {"charges", "products"}
    for terms in (vocabularies["domains"], vocabularies["grounds"],
                  vocabularies["attachment_kinds"], *vocabularies["budget_lines"].values()):
        assert terms
        for term in terms:
            assert set(term) == {"code", "label"}
            assert isinstance(term["code"], str) and term["code"]
            assert isinstance(term["label"], str) and term["label"].strip()
        assert len(set(codes(terms))) == len(terms)  # no code twice


def test_budget_lines_are_spec_cerfa_keys_in_order(vocabularies):
    assert codes(vocabularies["budget_lines"]["charges"]) == SPEC_CHARGES
    assert codes(vocabularies["budget_lines"]["products"]) == SPEC_PRODUCTS
    for side in ("charges", "products"):
        for code, label in labels(vocabularies["budget_lines"][side]).items():
            assert label.startswith(code.split("_")[0] + " – "), (code, label)
    products = labels(vocabularies["budget_lines"]["products"])
    assert "État" in products["74_state"] and "EPCI" in products["74_epci"]


def test_domains_grounds_and_kinds_are_the_code_vocabularies_in_french(vocabularies):
    assert labels(vocabularies["domains"]) == french(vocabulary.DOMAINS)
    assert labels(vocabularies["grounds"]) == french(vocabulary.GROUNDS)
    assert labels(vocabularies["attachment_kinds"]) == french(vocabulary.ATTACHMENT_KINDS)
    for mapping, terms in ((SPEC_DOMAINS, "domains"), (SPEC_GROUNDS, "grounds"),
                           (SPEC_ATTACHMENT_KINDS, "attachment_kinds")):
        served = labels(vocabularies[terms])
        for code, words in mapping.items():
            assert words.lower() in served[code].lower(), (code, served.get(code))


def test_grounds_are_the_legal_list(vocabularies):
    """Article 225-1 of the code pénal lists 25 grounds (SPEC 3: "the legal list"); here
    "ethnie, nation, prétendue race" is one code, so 23 codes."""
    assert len(vocabularies["grounds"]) == 23


def test_labels_stay_french_whatever_the_language_asked(client, db):
    """The web UI translates these labels (an English catalogue exists); the API serves
    them in French whatever the caller asks. This is the test's first request: the
    language chosen is not yet cached for the test's application context."""
    english = client.get("/api/v1/vocabularies?lang=en",
                         headers={"Accept-Language": "en"}).get_json()
    assert labels(english["domains"])["emploi"] == "Emploi"
    assert labels(english["grounds"]) == french(vocabulary.GROUNDS)
    assert labels(english["attachment_kinds"])["statutes"] == "Statuts"


def test_vocabularies_need_no_token_and_ignore_a_bad_one(client, db, vocabularies):
    response = client.get("/api/v1/vocabularies", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 200
    assert response.get_json() == vocabularies


# -- enums in the OpenAPI document ---------------------------------------------------------
@pytest.fixture
def spec(client, db) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def _schema(spec: dict, name: str) -> dict:
    return spec["components"]["schemas"][name]


def _ref(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_application_domains_and_grounds_are_enums(spec, vocabularies):
    for schema in ("ApplicationIn", "ApplicationFields"):
        properties = _schema(spec, schema)["properties"]
        assert properties["domains"]["items"]["enum"] == codes(vocabularies["domains"])
        assert properties["grounds"]["items"]["enum"] == codes(vocabularies["grounds"])


def test_budget_line_keys_are_declared(spec):
    budget = _ref(spec, _schema(spec, "ApplicationIn")["properties"]["budget"])
    charges = _ref(spec, budget["properties"]["charges"])
    products = _ref(spec, budget["properties"]["products"])
    assert list(charges["properties"]) == SPEC_CHARGES
    assert list(products["properties"]) == SPEC_PRODUCTS
    assert charges["additionalProperties"] is False
    assert products["additionalProperties"] is False
    assert all(p["type"] == "integer" and p["minimum"] == 0
               for p in (*charges["properties"].values(), *products["properties"].values()))
    realised = _schema(spec, "RealisedIn")["properties"]
    assert list(_ref(spec, realised["charges"])["properties"]) == SPEC_CHARGES
    assert list(_ref(spec, realised["products"])["properties"]) == SPEC_PRODUCTS


def test_attachment_kind_and_product_line_are_enums(spec, vocabularies):
    upload = spec["paths"]["/api/v1/applications/{application_id}/attachments"]["post"]
    kind = upload["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"][
        "kind"]
    assert kind["enum"] == codes(vocabularies["attachment_kinds"])
    product_line = _schema(spec, "FundIn")["properties"]["owner_product_line"]
    assert product_line["enum"] == SPEC_PRODUCTS


def test_the_endpoint_is_documented(spec):
    operation = spec["paths"]["/api/v1/vocabularies"]["get"]
    assert not operation.get("security")
    body = _ref(spec, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(body["properties"]) == {"domains", "grounds", "attachment_kinds",
                                       "budget_lines"}


# -- a label instead of a code ----------------------------------------------------------
def app_body(world, **changes) -> dict:
    body = {"call_id": world.call.id, "organisation_id": world.org.id, "title": "Ateliers",
            "domains": ["emploi"], "grounds": ["origine"]}
    body.update(changes)
    return body


def _points_to_the_codes(message: str, *expected_codes: str) -> None:
    assert "/api/v1/vocabularies" in message, message
    for code in expected_codes:
        assert code in message, (code, message)


@pytest.mark.parametrize("field, label, expected", [
    ("domains", "Emploi", ["emploi", "logement", "acces_aux_droits"]),
    ("domains", "Accès aux droits", ["acces_aux_droits"]),
    ("grounds", "Lieu de résidence", ["lieu_residence", "origine", "age"]),
    ("grounds", "âge", ["age"]),
])
def test_a_label_instead_of_a_code_names_the_accepted_codes(api, world, db, field, label,
                                                            expected):
    response = api.post("/applications", as_=world.users["applicant"],
                        json=app_body(world, **{field: [label]}))
    error = assert_error(response, 422, "invalid_data", [field])
    assert set(error["fields"]) == {field}
    message = " ".join(error["fields"][field])
    assert label in message
    _points_to_the_codes(message, *expected)
    assert db.session.scalar(select(func.count(Application.id))) == 0


def test_a_budget_line_label_is_refused_with_its_name(api, world, db):
    response = api.post("/applications", as_=world.users["applicant"], json=app_body(
        world, budget={"charges": {"60 – Achats": 100}}))
    assert_error(response, 422, "invalid_data", ["budget.charges.60 – Achats"])
    assert db.session.scalar(select(func.count(Application.id))) == 0


def test_every_spec_budget_line_is_taken(api, world):
    budget = {"charges": {code: 100 * (i + 1) for i, code in enumerate(SPEC_CHARGES)},
              "products": {code: 100 * (i + 1) for i, code in enumerate(SPEC_PRODUCTS)}}
    body = ok(api.post("/applications", as_=world.users["applicant"],
                       json=app_body(world, budget=budget)), 201)
    assert body["budget"] == budget


def test_a_product_line_label_is_refused_for_a_fund(api, world, db):
    before = db.session.scalar(select(func.count(Fund.id)))
    response = api.post("/funds", as_=world.users["instructor"], json={
        "name": "Fonds", "owner_name": "Métropole", "owner_siret": "20005478100022",
        "owner_product_line": "74 – Subvention Intercommunalité(s) / EPCI"})
    error = assert_error(response, 422, "invalid_data", ["owner_product_line"])
    _points_to_the_codes(" ".join(error["fields"]["owner_product_line"]), "74_epci")
    assert db.session.scalar(select(func.count(Fund.id))) == before


def test_an_attachment_kind_label_names_the_accepted_codes(api, world, db):
    app = world.application()
    response = api.post(f"/applications/{app.id}/attachments", as_=world.users["applicant"],
                        data={"kind": "Statuts", "file": (io.BytesIO(PDF), "statuts.pdf")},
                        content_type="multipart/form-data")
    error = assert_error(response, 422, "invalid_data", ["kind"])
    _points_to_the_codes(" ".join(error["fields"]["kind"]), "statutes", "rib")
    assert db.session.scalar(select(func.count(Attachment.id))) == 0
    created = ok(api.post(f"/applications/{app.id}/attachments", as_=world.users["applicant"],
                          data={"kind": "statutes",
                                "file": (io.BytesIO(PDF), "statuts.pdf")},
                          content_type="multipart/form-data"), 201)
    assert created["kind"] == "statutes"

"""Applications: create, edit while draft, read (history, activity, score), role-scoped
lists, and the object matrix (what is not visible is 404, never 403, never data)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from aap.models import Application, AuditEvent
from aap.services.calls import set_jury
from aap.timeutil import now
from tests.api.helpers import assert_error, ok
from tests.factories import make_application, make_call, path_to

BUDGET = {"charges": {"62": 3_000_00, "64": 7_000_00},
          "products": {"74_epci": 5_000_00, "74_state": 3_000_00, "75": 2_000_00}}


def app_body(world, **changes) -> dict:
    body = {
        "call_id": world.call.id, "organisation_id": world.org.id,
        "title": "Ateliers contre les discriminations à l'embauche",
        "summary": "Simulations d'entretien et sensibilisation des employeurs.",
        "objectives": "Accompagner 60 jeunes.", "target_public": "Jeunes de 16 à 25 ans",
        "domains": ["emploi"], "grounds": ["origine", "lieu_residence"],
        "territories": ["Marseille — QPV Frais Vallon"], "beneficiaries": 60,
        "starts_on": "2026-09-01", "ends_on": "2027-06-30", "budget": BUDGET,
        "requested_cents": 5_000_00,
    }
    body.update(changes)
    return body


def audit_count(db, application_id: int) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id))
                             .where(AuditEvent.application_id == application_id))


# -- create -----------------------------------------------------------------------------
def test_applicant_creates_a_draft(api, world):
    body = ok(api.post("/applications", as_=world.users["applicant"], json=app_body(world)),
              201)
    assert isinstance(body["id"], int)
    assert body["state"] == "draft"
    assert body["reference"] is None
    assert body["call_id"] == world.call.id and body["organisation_id"] == world.org.id
    assert body["requested_cents"] == 5_000_00
    assert body["budget"] == BUDGET
    assert body["domains"] == ["emploi"]
    assert body["starts_on"] == "2026-09-01"
    assert body["history"] == []
    assert [a["action"] for a in body["activity"]] == ["create"]
    assert body["activity"][0]["actor"] == "Awa Diallo"
    assert {"submit", "withdraw"} <= set(body["available_triggers"])
    again = ok(api.get(f"/applications/{body['id']}", as_=world.users["applicant"]))
    assert again["title"] == body["title"]


def test_a_draft_may_start_almost_empty(api, world):
    body = ok(api.post("/applications", as_=world.users["applicant"], json={
        "call_id": world.call.id, "organisation_id": world.org.id}), 201)
    assert body["state"] == "draft" and body["title"] == "" and body["requested_cents"] == 0


@pytest.mark.parametrize("who", ["foreign_applicant", "instructor", "juror", "admin"])
def test_only_members_create_applications(api, world, who):
    response = api.post("/applications", as_=world.users[who], json=app_body(world))
    assert_error(response, 403, "forbidden")


BAD_APPLICATIONS = [
    ({"call_id": 999999}, ["call_id"]),
    ({"organisation_id": 999999}, ["organisation_id"]),
    ({"call_id": 999999, "organisation_id": 999999}, ["call_id", "organisation_id"]),
    ({"envelope": "nowhere"}, ["envelope"]),
    ({"grounds": ["origine", "couleur_des_yeux"]}, ["grounds"]),
    ({"title": "x" * 301}, ["title"]),
    ({"budget": {"charges": {"62": 100, "99": 5}}}, ["budget.charges.99"]),
]


def test_create_validation(api, world, db, subtests):
    for changes, fields in BAD_APPLICATIONS:
        with subtests.test(changes=changes):
            response = api.post("/applications", as_=world.users["applicant"],
                                json=app_body(world, **changes))
            assert_error(response, 422, "invalid_data", fields)
    assert db.session.scalar(select(func.count(Application.id))) == 0


def test_no_application_in_a_closed_call(api, world, db):
    world.call.closes_at = now() - timedelta(minutes=1)
    db.session.commit()
    response = api.post("/applications", as_=world.users["applicant"], json=app_body(world))
    assert_error(response, 422, "call_closed")


# -- edit -------------------------------------------------------------------------------
def test_patch_a_draft_is_audited(api, world):
    applicant = world.users["applicant"]
    app = world.application()
    body = ok(api.patch(f"/applications/{app.id}", as_=applicant,
                        json={"title": "Nouveau titre", "beneficiaries": 80}))
    assert body["title"] == "Nouveau titre" and body["beneficiaries"] == 80
    edits = [a for a in body["activity"] if a["action"] == "edit"]
    assert len(edits) == 1
    assert sorted(edits[0]["data"]["fields"]) == ["beneficiaries", "title"]
    assert edits[0]["actor"] == "Awa Diallo" and edits[0]["at"]
    assert body["history"] == []  # edits are not state changes
    # saving the same values again changes nothing and records nothing
    same = ok(api.patch(f"/applications/{app.id}", as_=applicant, json={"title": "Nouveau titre"}))
    assert len([a for a in same["activity"] if a["action"] == "edit"]) == 1


def test_patch_the_budget(api, world):
    app = world.application()
    budget = {"charges": {"60": 1_000_00, "64": 9_000_00},
              "products": {"74_epci": 5_000_00, "75": 5_000_00}}
    body = ok(api.patch(f"/applications/{app.id}", as_=world.users["applicant"],
                        json={"budget": budget}))
    assert body["budget"] == budget


@pytest.mark.parametrize("state", ["submitted", "eligible", "in_review", "granted", "withdrawn"])
def test_patch_after_submission_is_409(api, world, db, state):
    app = world.bring_to(world.application(), state)
    events = audit_count(db, app.id)
    response = api.patch(f"/applications/{app.id}", as_=world.users["applicant"],
                         json={"title": "Trop tard"})
    assert_error(response, 409, "invalid_state")
    body = ok(api.get(f"/applications/{app.id}", as_=world.users["applicant"]))
    assert body["title"] != "Trop tard" and body["state"] == state
    assert audit_count(db, app.id) == events


def test_patch_while_incomplete_works(api, world):
    app = world.bring_to(world.application(), "incomplete")
    body = ok(api.patch(f"/applications/{app.id}", as_=world.users["applicant"],
                        json={"summary": "Résumé complété"}))
    assert body["summary"] == "Résumé complété" and body["state"] == "incomplete"


@pytest.mark.parametrize("who", ["instructor", "finance", "admin"])
def test_staff_cannot_patch(api, world, who):
    app = world.bring_to(world.application(), "incomplete")
    assert_error(api.patch(f"/applications/{app.id}", as_=world.users[who],
                           json={"title": "Réécrit"}), 403, "forbidden")


# -- read: history, activity, score ----------------------------------------------------
def test_history_lists_state_changes_with_their_comment(api, world):
    applicant, instructor = world.users["applicant"], world.users["instructor"]
    app = world.application()
    ok(api.patch(f"/applications/{app.id}", as_=applicant, json={"title": "Titre revu"}))
    ok(api.fire(app.id, "submit", applicant))
    ok(api.fire(app.id, "request_completion", instructor,
                {"comment": "Joignez les statuts.", "deadline": "2099-01-31"}))
    body = ok(api.get(f"/applications/{app.id}", as_=applicant))
    assert body["state"] == "incomplete"
    assert [(h["trigger"], h["from"], h["to"]) for h in body["history"]] == [
        ("submit", "draft", "submitted"), ("request_completion", "submitted", "incomplete")]
    submit, completion = body["history"]
    assert set(submit) == {"trigger", "from", "to", "actor", "at", "comment"}
    assert submit["actor"] == "Awa Diallo" and submit["comment"] is None
    assert completion["actor"] == "Inès Instructrice"
    assert completion["comment"] == "Joignez les statuts."
    assert submit["at"] <= completion["at"]
    assert [a["action"] for a in body["activity"]] == ["edit"]  # made by the factory, then edited
    assert body["completion"]["message"] == "Joignez les statuts."
    assert body["completion"]["deadline"].startswith("2099-01-31")
    assert body["reference"] == "AAP-2026-0001"


def _reviewed(api, world):
    app = world.bring_to(world.application(), "in_review")
    for juror, scores in (("juror", {"pertinence": 4, "faisabilite": 3}),
                          ("juror2", {"pertinence": 5, "faisabilite": 5})):
        ok(api.put(f"/applications/{app.id}/review", as_=world.users[juror],
                   json={"scores": scores, "comment": "Bon projet", "submit": True}))
    ok(api.fire(app.id, "close_review", world.users["instructor"]))
    return app


def test_score_is_hidden_from_the_applicant_until_the_decision(api, world):
    app = _reviewed(api, world)
    staff = ok(api.get(f"/applications/{app.id}", as_=world.users["instructor"]))
    # totals on a 20 scale: (2*4 + 3) / 15 * 20 = 14.667 and 20; mean 17.33
    assert abs(Decimal(staff["score"]) - Decimal("17.333")) <= Decimal("0.001")
    assert staff["review_count"] == 2
    mine = ok(api.get(f"/applications/{app.id}", as_=world.users["applicant"]))
    assert mine["state"] == "reviewed"
    assert "score" not in mine and "review_count" not in mine
    listed = ok(api.get("/applications", as_=world.users["applicant"]))["items"][0]
    assert "score" not in listed
    for trigger in path_to("granted", start="reviewed"):
        world.fire(app, trigger)
    decided = ok(api.get(f"/applications/{app.id}", as_=world.users["applicant"]))
    assert decided["score"] == staff["score"]


def test_reviews_are_for_jurors_and_instructors(api, world):
    app = world.bring_to(world.application(), "in_review")
    juror, juror2 = world.users["juror"], world.users["juror2"]
    saved = ok(api.put(f"/applications/{app.id}/review", as_=juror,
                       json={"scores": {"pertinence": 5, "faisabilite": 5}, "submit": False}))
    assert saved["submitted"] is False and Decimal(saved["total"]) == 20
    # juror2 has not submitted: it sees only its own (empty) review
    own = ok(api.get(f"/applications/{app.id}/reviews", as_=juror2))
    assert [r["juror_id"] for r in own] == [juror2.id]
    ok(api.put(f"/applications/{app.id}/review", as_=juror2,
               json={"scores": {"pertinence": 1, "faisabilite": 2}, "submit": True}))
    # juror's review is still a draft: never shown to another juror (SPEC 5)
    alone = ok(api.get(f"/applications/{app.id}/reviews", as_=juror2))
    assert [r["juror_id"] for r in alone] == [juror2.id]
    ok(api.put(f"/applications/{app.id}/review", as_=juror, json={"submit": True}))
    both = ok(api.get(f"/applications/{app.id}/reviews", as_=juror2))
    assert sorted(r["juror_id"] for r in both) == sorted([juror.id, juror2.id])
    assert len(ok(api.get(f"/applications/{app.id}/reviews",
                          as_=world.users["instructor"]))) == 2
    assert_error(api.get(f"/applications/{app.id}/reviews", as_=world.users["applicant"]),
                 403, "forbidden")
    # a submitted review is final
    assert_error(api.put(f"/applications/{app.id}/review", as_=juror2,
                         json={"scores": {"pertinence": 5}}), 409, "invalid_state")


BAD_REVIEWS = [
    ({"scores": {"pertinence": 6}}, "scores.pertinence"),
    ({"scores": {"pertinence": -1}}, "scores.pertinence"),
    ({"scores": {"pertinence": "beaucoup"}}, "scores.pertinence"),
    ({"scores": {"originalite": 3}}, "scores.originalite"),
    ({"scores": {"pertinence": 3}, "submit": True}, "scores"),  # a criterion missing
]


def test_review_validation(api, world, subtests):
    app = world.bring_to(world.application(), "in_review")
    for review, field in BAD_REVIEWS:
        with subtests.test(review=review):
            assert_error(api.put(f"/applications/{app.id}/review", as_=world.users["juror"],
                                 json=review), 422, "invalid_data", [field])
    own = ok(api.get(f"/applications/{app.id}/reviews", as_=world.users["juror"]))
    assert own[0]["scores"] == {} and own[0]["submitted"] is False


# -- lists ------------------------------------------------------------------------------
def _ids(api, user, query: str = "") -> list[int]:
    out, page = [], 1
    while True:
        body = ok(api.get(f"/applications?page={page}{query}", as_=user))
        out.extend(item["id"] for item in body["items"])
        if page >= body["pages"]:
            return out
        page += 1


def test_lists_are_paginated(api, world):
    apps = [world.application(title=f"Dossier {i}") for i in range(27)]
    first = ok(api.get("/applications", as_=world.users["applicant"]))
    assert (first["page"], first["pages"], first["total"]) == (1, 2, 27)
    assert len(first["items"]) == 25
    second = ok(api.get("/applications?page=2", as_=world.users["applicant"]))
    assert (second["page"], second["pages"], second["total"]) == (2, 2, 27)
    assert len(second["items"]) == 2
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert sorted(ids) == sorted(a.id for a in apps)  # no duplicates, none missing
    beyond = ok(api.get("/applications?page=3", as_=world.users["applicant"]))
    assert beyond["items"] == [] and beyond["total"] == 27
    small = ok(api.get("/applications?per_page=10&page=3", as_=world.users["applicant"]))
    assert (small["pages"], len(small["items"])) == (3, 7)
    item = first["items"][0]
    assert {"id", "reference", "state", "title", "call_id", "organisation_id",
            "requested_cents"} <= set(item)


def test_lists_are_role_scoped(api, world, db):
    own = [world.application() for _ in range(3)]
    foreign = [make_application(world.call, world.other_org) for _ in range(2)]
    in_review = world.bring_to(own[0], "in_review")
    ok(api.fire(foreign[0].id, "submit", world.users["foreign_applicant"]))

    assert sorted(_ids(api, world.users["applicant"])) == sorted(a.id for a in own)
    assert sorted(_ids(api, world.users["foreign_applicant"])) == sorted(a.id for a in foreign)
    submitted = sorted([in_review.id, foreign[0].id])  # staff never see drafts
    for staff in ("instructor", "finance", "admin"):
        assert sorted(_ids(api, world.users[staff])) == submitted
    # jurors: only what is assigned to them and not recused (never drafts)
    assert _ids(api, world.users["juror"]) == [in_review.id]
    assert _ids(api, world.users["juror2"]) == [in_review.id]
    assert _ids(api, world.users["outside_juror"]) == []
    ok(api.put(f"/applications/{in_review.id}/review", as_=world.users["juror"],
               json={"conflict": True, "comment": "Je suis adhérente de l'association."}))
    assert _ids(api, world.users["juror"]) == []
    assert _ids(api, world.users["juror2"]) == [in_review.id]


def test_list_filters(api, world, db):
    other_call = make_call(world.fund, title="Autre appel", fiscal_year=2025)
    a = world.bring_to(world.application(), "submitted")
    b = world.application()
    c = make_application(other_call, world.org)
    applicant, instructor = world.users["applicant"], world.users["instructor"]
    assert sorted(_ids(api, applicant, "&state=draft")) == sorted([b.id, c.id])
    assert _ids(api, applicant, "&state=submitted") == [a.id]
    assert _ids(api, applicant, f"&call_id={other_call.id}") == [c.id]
    assert _ids(api, applicant, f"&call_id={world.call.id}&state=draft") == [b.id]
    assert _ids(api, instructor, "&state=submitted") == [a.id]
    assert _ids(api, instructor, "&state=draft") == []
    assert _ids(api, instructor, f"&call_id={other_call.id}") == []
    assert _ids(api, world.users["foreign_applicant"], f"&call_id={world.call.id}") == []
    assert _ids(api, instructor, f"&call_id={world.call.id}") == [a.id]  # b is a draft


# -- the object matrix: not visible is 404, never 403, never data ------------------------
def _endpoints(world) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", "/applications/{id}", None),
        ("PATCH", "/applications/{id}", {"title": "Pris en otage"}),
        ("POST", "/applications/{id}/transitions/submit", {}),
        ("POST", "/applications/{id}/transitions/withdraw", {}),
        ("POST", "/applications/{id}/transitions/declare_eligible", {}),
        ("POST", "/applications/{id}/transitions/grant", {"amount_cents": 1}),
        ("POST", "/applications/{id}/transitions/no_such_trigger", {}),
        ("POST", "/applications/{id}/payments",
         {"kind": "advance", "amount_cents": 100, "paid_on": "2026-11-02"}),
        ("POST", "/applications/{id}/report",
         {"realised": {"charges": {}, "products": {}}, "narrative": "Rien"}),
        ("PUT", "/applications/{id}/review", {"scores": {"pertinence": 5}, "submit": False}),
        ("GET", "/applications/{id}/reviews", None),
    ]


MATRIX = [
    ("foreign_applicant", "draft"),
    ("foreign_applicant", "submitted"),
    ("foreign_applicant", "in_review"),
    ("foreign_applicant", "in_progress"),
    ("outside_juror", "in_review"),
    ("outside_juror", "reviewed"),
    ("juror", "draft"),  # a juror never sees a draft, even of a call it judges
    ("recused_juror", "in_review"),
    ("instructor", "draft"),  # a draft is the applicant's own work until submitted
    ("finance", "draft"),
    ("admin", "draft"),
]


@pytest.mark.parametrize("who, state", MATRIX)
def test_what_is_not_visible_is_404_without_data(api, world, db, who, state):
    app = world.bring_to(world.application(), state)
    if who == "recused_juror":
        ok(api.put(f"/applications/{app.id}/review", as_=world.users["juror"],
                   json={"conflict": True}))
        who = "juror"
    user = world.users[who]
    events = audit_count(db, app.id)
    for method, path, body in _endpoints(world):
        response = api.request(method, path.format(id=app.id), as_=user, json=body)
        error = assert_error(response, 404, "not_found")
        assert app.title not in str(error) and world.org.name not in str(error)
    assert audit_count(db, app.id) == events
    db.session.expire_all()
    assert ok(api.get(f"/applications/{app.id}", as_=world.users["applicant"]))["state"] \
        == state
    assert app.id not in _ids(api, user)


@pytest.mark.parametrize("who, state", [
    ("applicant", "draft"), ("applicant", "closed"), ("juror", "in_review"),
    ("juror2", "granted"), ("instructor", "submitted"), ("finance", "submitted"),
    ("admin", "in_review"),
])
def test_who_may_read_an_application(api, world, who, state):
    app = world.bring_to(world.application(), state)
    body = ok(api.get(f"/applications/{app.id}", as_=world.users[who]))
    assert body["id"] == app.id and body["state"] == state


def test_jury_work_does_not_leak_through_the_activity(api, world):
    """The applicant must not see scores before the decision (SPEC 7.1), nor a juror the
    others' scores before submitting its own (SPEC 5): the activity must not carry them."""
    set_jury(world.call, [world.users[j].id for j in ("juror", "juror2", "outside_juror")])
    app = world.bring_to(world.application(), "in_review")
    ok(api.put(f"/applications/{app.id}/review", as_=world.users["juror"],
               json={"scores": {"pertinence": 4, "faisabilite": 3}, "submit": True,
                     "comment": "Budget fragile"}))
    ok(api.put(f"/applications/{app.id}/review", as_=world.users["outside_juror"],
               json={"conflict": True, "comment": "Je connais la présidente."}))
    staff = ok(api.get(f"/applications/{app.id}", as_=world.users["instructor"]))
    assert {"review_submitted", "conflict_declared"} <= {a["action"] for a in staff["activity"]}
    for who in ("applicant", "juror2"):
        body = ok(api.get(f"/applications/{app.id}", as_=world.users[who]))
        text = str(body["activity"])
        assert "14.667" not in text and "Julie Jurée" not in text, (who, body["activity"])
        assert "Olga Horsjury" not in text, (who, body["activity"])
    # once juror2 has submitted, it sees the others' scores through /reviews
    ok(api.put(f"/applications/{app.id}/review", as_=world.users["juror2"],
               json={"scores": {"pertinence": 2, "faisabilite": 2}, "submit": True}))
    reviews = ok(api.get(f"/applications/{app.id}/reviews", as_=world.users["juror2"]))
    assert "14.667" in {r["total"] for r in reviews}

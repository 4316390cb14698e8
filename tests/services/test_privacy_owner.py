"""The account owner's rights (aap.services.privacy, docs/rgpd.md): what the personal-data
export holds for a grant that went as far as its report, and that the export and the
deletion check cost the same few queries whatever the number of organisations and
applications (no N+1)."""

from __future__ import annotations

from aap.services import privacy
from tests import factories
from tests.factories import path_to
from tests.helpers import count_queries


def _export_queries(user) -> int:
    with count_queries() as statements:
        privacy.export_user_data(user)
    return len(statements)


def _blocker_queries(user) -> int:
    with count_queries() as statements:
        privacy.deletion_blockers(user)
    return len(statements)


def test_the_export_holds_the_grant_its_money_and_its_history(world):
    app = world.bring_to(world.application(title="Ateliers du samedi",
                                           requested_cents=4_000_00), "contracted")
    for trigger in ("pay", "submit_report"):
        app = world.fire(app, trigger)
    incomplete = world.bring_to(world.application(title="Dossier à compléter"), "incomplete")
    document = privacy.export_user_data(world.users["applicant"])

    by_title = {a["title"]: a for a in document["applications"]}
    assert set(by_title) == {"Ateliers du samedi", "Dossier à compléter"}
    funded = by_title["Ateliers du samedi"]
    assert funded["state"] == "report_submitted" and funded["requested_cents"] == 400_000
    # the data the factories gave each trigger (tests/factories.trigger_data)
    assert funded["decision"] == {"body": "Bureau de la Métropole", "reference": "DEL-2026-117",
                                  "decided_on": "2026-10-12", "amount_cents": 400_000}
    assert funded["convention"]["signed_on"] == "2026-10-20"
    assert funded["payments"] == [{"kind": "advance", "amount_cents": 400_000,
                                   "paid_on": "2026-11-02", "mandate": "M-2026-0457"}]
    assert funded["report"]["beneficiaries_reached"] == 55
    assert funded["call"]["id"] == world.call.id
    assert [h["trigger"] for h in funded["history"]] == [*path_to("contracted"), "pay",
                                                         "submit_report"]
    # comments: the applicant's own (request for completion), never the staff's notes
    assert [h["comment"] for h in by_title["Dossier à compléter"]["history"]] == [
        None, "Merci de joindre les statuts signés."]
    close_review = next(h for h in funded["history"] if h["trigger"] == "close_review")
    assert close_review["comment"] is None  # « Jury réuni, notes orales. » is internal
    assert incomplete.id in {a["id"] for a in document["applications"]}
    assert [o["id"] for o in document["organisations"]] == [world.org.id]


def test_the_export_costs_the_same_queries_for_one_or_many_applications(world):
    user = world.users["applicant"]
    world.bring_to(world.application(), "report_submitted")
    one = _export_queries(user)
    for state in ("submitted", "incomplete", "report_submitted", "draft"):
        second_org = factories.make_organisation([user])
        world.bring_to(factories.make_application(world.call, second_org), state)
    world.bring_to(world.application(), "report_submitted")
    assert _export_queries(user) == one


def test_the_deletion_check_costs_the_same_queries_for_any_number_of_organisations(world):
    user = world.users["applicant"]
    world.bring_to(world.application(), "submitted")
    one = _blocker_queries(user)
    assert [b.kind for b in privacy.deletion_blockers(user)] == ["in_instruction"]
    for state in ("in_review", "granted", "draft"):
        org = factories.make_organisation([user])
        world.bring_to(factories.make_application(world.call, org), state)
    shared = factories.make_organisation([user, world.users["foreign_applicant"]])
    world.bring_to(factories.make_application(world.call, shared), "submitted")
    assert _blocker_queries(user) == one
    # the shared organisation's file does not keep the account: another member remains
    assert [b.kind for b in privacy.deletion_blockers(user)] == [
        "in_instruction", "in_instruction", "grant_running"]


def test_a_blocker_names_the_application_by_reference_in_french():
    blocker = privacy.Blocker("grant_running", 7, "AAP-2026-0007", "Ateliers")
    assert blocker.message == (
        "La subvention du dossier AAP-2026-0007 est en cours : le compte pourra être "
        "supprimé à la clôture du dossier (compte rendu approuvé, solde versé).")
    untitled = privacy.Blocker("in_instruction", 12)
    assert untitled.message.startswith("Le dossier n° 12 est en cours d'instruction")
    assert privacy.Blocker("staff_roles").message.startswith("Votre compte porte des rôles")

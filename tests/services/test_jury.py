from collections import Counter

import pytest
from sqlalchemy import select

from aap.errors import ValidationFailed
from aap.extensions import db
from aap.models import Notification, Review
from aap.services import jury, reviews
from aap.services.calls import set_jury
from tests.factories import make_user


@pytest.fixture
def panel(world):
    extra = [make_user(["juror"]) for _ in range(2)]
    ids = [world.users["juror"].id, world.users["juror2"].id] + [u.id for u in extra]
    set_jury(world.call, ids)
    apps = [world.bring_to(world.application(), "eligible") for _ in range(6)]
    return world, ids, apps


def _load() -> Counter:
    return Counter(db.session.scalars(select(Review.juror_id).where(
        Review.conflict.is_(False))))


def test_balanced_assignment_spreads_the_load(panel):
    world, ids, _apps = panel
    created = jury.assign(world.call, world.users["instructor"], "balanced",
                          per_application=2)
    assert created == 12
    load = _load()
    assert set(load) == set(ids) and max(load.values()) - min(load.values()) <= 1
    assert jury.assign(world.call, world.users["instructor"], "balanced",
                       per_application=2) == 0  # idempotent


def test_a_recorded_conflict_recuses_and_is_replaced(panel):
    world, _ids, apps = panel
    juror = world.users["juror"]
    jury.record_conflict(world.users["instructor"], apps[0], juror, "Trésorière du porteur")
    jury.assign(world.call, world.users["instructor"], "balanced", per_application=2)
    reviewers = db.session.scalars(select(Review).where(
        Review.application_id == apps[0].id)).all()
    active = [r.juror_id for r in reviewers if not r.conflict]
    assert len(active) == 2 and juror.id not in active


def test_whole_jury_and_per_envelope(panel):
    world, _ids, _apps = panel
    assert jury.assign(world.call, world.users["instructor"], "all") == 6 * 4
    with pytest.raises(ValidationFailed):
        jury.assign(world.call, world.users["instructor"], "lottery")


def test_progress_and_reminders(panel):
    world, _ids, apps = panel
    jury.assign(world.call, world.users["instructor"], "all")
    for app in apps[:2]:
        world.fire(app, "open_review")
    juror = world.users["juror"]
    reviews.save_review(juror, apps[0], {"scores": {"pertinence": 4, "faisabilite": 3},
                                         "submit": True})
    reviews.save_review(juror, apps[1], {"conflict": True, "comment": "Ancien salarié"})
    rows = {p.juror.id: p for p in jury.progress(world.call)}
    assert (rows[juror.id].assigned, rows[juror.id].submitted, rows[juror.id].recused) == (
        1, 1, 1)
    assert rows[world.users["juror2"].id].late == 2
    assert jury.remind_late(world.call) == 3  # everyone but the juror who is done
    subjects = db.session.scalars(select(Notification.subject).where(
        Notification.subject.like("Rappel%"))).all()
    assert len(subjects) == 3


def test_jury_api_assigns_reports_progress_and_records_conflicts(client, panel):
    from tests.factories import PASSWORD

    world, ids, apps = panel
    token = client.post("/api/v1/auth/token", json={
        "email": world.users["instructor"].email, "password": PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post(f"/api/v1/calls/{world.call.id}/assignments", headers=headers,
                           json={"mode": "balanced", "per_application": 3})
    assert response.status_code == 200
    body = response.get_json()
    assert body["created"] == 18
    assert sum(p["assigned"] for p in body["progress"]) == 0  # nothing is in review yet
    conflict = client.post(f"/api/v1/applications/{apps[0].id}/conflicts", headers=headers,
                           json={"juror_id": ids[0], "reason": "Présidente du porteur"})
    assert conflict.status_code == 201 and conflict.get_json()["conflict"] is True
    unknown = client.post(f"/api/v1/applications/{apps[0].id}/conflicts", headers=headers,
                          json={"juror_id": world.users["finance"].id, "reason": "x"})
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["fields"] == {"juror_id": ["Juré inconnu."]}
    applicant = client.post("/api/v1/auth/token", json={
        "email": world.users["applicant"].email, "password": PASSWORD}).get_json()["token"]
    refused = client.get(f"/api/v1/calls/{world.call.id}/assignments",
                         headers={"Authorization": f"Bearer {applicant}"})
    assert refused.status_code == 403


def test_a_partial_update_keeps_earlier_scores_in_the_total(world):
    app = world.bring_to(world.application(), "in_review")
    juror = world.users["juror"]
    reviews.save_review(juror, app, {"scores": {"pertinence": 5}})
    review = reviews.save_review(juror, app, {"scores": {"faisabilite": 5}, "submit": True})
    assert review.submitted and review.total == 20  # 5/5 on both criteria: 20/20

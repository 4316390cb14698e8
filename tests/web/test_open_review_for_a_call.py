"""``open_review`` fired for a whole call (SPEC 4: "jury assigned (can be fired for the
whole call)"): from the call's list, every eligible application goes to review with the
call's whole jury assigned, each through the engine (one audit event each, the jurors
notified); an application in another state is refused with its reason, and nothing
outside the selection moves."""

from __future__ import annotations

import html as html_lib
import re

from sqlalchemy import select

from aap.extensions import db
from aap.models import Application, AuditEvent, Notification, Review
from tests import factories

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def test_open_review_for_every_eligible_application_of_the_call(client, world, log_in):
    eligible = [world.bring_to(world.application(title=f"Projet {i}"), "eligible")
                for i in range(3)]
    submitted = world.bring_to(world.application(title="Encore déposé"), "submitted")
    outside = world.bring_to(world.application(title="Hors sélection"), "eligible")
    other_call = factories.make_call(world.fund, title="Autre appel")
    foreign = world.bring_to(factories.make_application(other_call, world.org), "submitted")
    jurors = {world.users["juror"].id, world.users["juror2"].id}  # the call's jury

    log_in(world.users["instructor"])
    page = client.get(f"/instruction/appels/{world.call.id}")
    token = CSRF_RE.search(page.text).group(1)
    ids = [a.id for a in eligible] + [submitted.id, foreign.id]
    response = client.post(f"/instruction/appels/{world.call.id}/actions", data={
        "csrf_token": token, "ids": [str(i) for i in ids], "trigger": "open_review",
        "query": ""})
    assert response.status_code == 200
    text = html_lib.unescape(response.text)
    assert "3 dossiers traités" in text and "2 refus" in text
    assert "Impossible dans l'état « Déposé »." in text
    assert "Dossier introuvable dans cet appel." in text

    db.session.rollback()  # the request committed in its own session
    states = {a.id: a.state for a in db.session.scalars(select(Application)).unique()}
    assert [states[a.id] for a in eligible] == ["in_review"] * 3
    assert (states[submitted.id], states[outside.id], states[foreign.id]) == (
        "submitted", "eligible", "submitted")
    for app in eligible:
        assigned = set(db.session.scalars(select(Review.juror_id).where(
            Review.application_id == app.id)))
        assert assigned == jurors
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.application_id == app.id, AuditEvent.trigger == "open_review")).all()
        assert [(e.from_state, e.to_state) for e in events] == [("eligible", "in_review")]
        mailed = set(db.session.scalars(select(Notification.recipient_id).where(
            Notification.application_id == app.id,
            Notification.recipient_id.in_(jurors))))
        assert mailed == jurors
    assert db.session.scalars(select(Review).where(
        Review.application_id == outside.id)).all() == []

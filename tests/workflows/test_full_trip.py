from aap.services import audit
from tests.factories import path_to


def test_an_application_goes_from_draft_to_closed_with_its_trail(world):
    app = world.application()
    app = world.bring_to(app, "closed")

    assert app.reference == "AAP-2026-0001"
    events = audit.trail(app.id)
    triggers = [e.trigger for e in events if e.trigger]
    assert triggers == path_to("closed")
    assert audit.replay(events) == "closed"
    assert app.committed_cents == app.paid_cents == app.granted_cents

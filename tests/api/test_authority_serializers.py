"""What the API shows of a call and an application depends on the authority the viewer is
staff of, not on holding a staff role somewhere (SPEC 2, SPEC 5): an instructor of one
authority who sits on another authority's jury sees that call and file as a juror does."""

from __future__ import annotations

from aap.services.calls import set_jury
from tests import factories


def _cross_juror(world):
    """Authority A runs a call; the user is an instructor of B and a juror of A, on the
    call's jury; one file of A is in review."""
    a = factories.make_authority("Ville de Vitrolles", "commune")
    b = factories.make_authority("Métropole Européenne de Lille", "metropole")
    user = factories.make_user(["instructor"], authority=b)
    user.set_roles(["juror"], a.id)
    instructor_of_a = factories.make_user(["instructor"], authority=a)
    call = factories.make_call(factories.make_fund(authority_id=a.id))
    set_jury(call, [user.id])
    application = factories.make_application(call, world.org)
    world.bring_to(application, "in_review")
    return user, instructor_of_a, call, application


def test_a_juror_who_is_staff_elsewhere_gets_no_score_before_the_decision(api, world):
    juror, instructor, _call, application = _cross_juror(world)
    as_juror = api.get(f"/applications/{application.id}", as_=juror)
    assert as_juror.status_code == 200
    assert "score" not in as_juror.get_json()
    as_staff = api.get(f"/applications/{application.id}", as_=instructor)
    assert "score" in as_staff.get_json()


def test_a_juror_who_is_staff_elsewhere_does_not_see_the_jury_of_the_call(api, world):
    juror, instructor, call, _application = _cross_juror(world)
    assert api.get(f"/calls/{call.id}", as_=juror).get_json()["juror_ids"] == []
    assert api.get(f"/calls/{call.id}", as_=instructor).get_json()["juror_ids"] == [juror.id]

"""Staff of one authority who are jurors of another: on the applications they review
there, they are jurors only (SPEC 2 and 5). They read the file as an assigned juror, not
the jury's work (who was assigned, the others' scores) nor the convention, which are the
application's own authority's staff's."""

from __future__ import annotations

import pytest

from aap.services import audit, conventions, reviews
from aap.services.calls import set_jury
from tests.authority_world import bring_to
from tests.factories import (
    make_application,
    make_authority,
    make_call,
    make_fund,
    make_organisation,
    make_user,
)


@pytest.fixture
def two_hats(db):
    """A juror of the métropole who is also an instructor of an unrelated métropole,
    assigned to a granted application of the first, scored by the other juror."""
    levant = make_authority("Métropole du Levant", kind="metropole")
    couchant = make_authority("Métropole du Couchant", kind="metropole")
    juror = make_user(["juror"], name="Jurée à deux casquettes", authority=levant)
    juror.set_roles(["instructor"], authority_id=couchant.id)
    other = make_user(["juror"], name="Autre juré", authority=levant)
    db.session.commit()
    call = make_call(make_fund(authority_id=levant.id))
    set_jury(call, [juror.id, other.id])
    applicant = make_user(["applicant"])
    actors = {"applicant": applicant, "instructor": make_user(["instructor"], authority=levant),
              "finance": make_user(["finance"], authority=levant)}
    app = bring_to(make_application(call, make_organisation([applicant])), "in_review", actors)
    reviews.save_review(other, app, {"scores": {"pertinence": 4, "faisabilite": 3},
                                     "submit": True})
    app = bring_to(app, "granted", actors)
    return {"juror": juror, "app": app}


def test_the_trail_hides_the_jurys_work_from_a_juror_staff_elsewhere(two_hats):
    actions = {e.action for e in audit.trail_for(two_hats["app"].id, two_hats["juror"])}
    assert not actions & audit.JURY_ACTIONS


def test_the_dossier_page_shows_no_jury_panel(log_in, two_hats):
    page = log_in(two_hats["juror"]).get(f"/dossiers/{two_hats['app'].id}")
    assert page.status_code == 200
    assert "Évaluations du jury" not in page.text
    assert "Jurés désignés" not in page.text


def test_the_convention_is_not_for_a_juror_staff_elsewhere(log_in, two_hats):
    assert not conventions.may_download(two_hats["juror"], two_hats["app"])
    response = log_in(two_hats["juror"]).get(f"/dossiers/{two_hats['app'].id}/convention.pdf")
    assert response.status_code == 403

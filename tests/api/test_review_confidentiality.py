"""Jury confidentiality (SPEC 5, 7.1): a juror never sees another juror's draft or
recusal; only instructors read every review. One policy serves the API and the pages."""

from __future__ import annotations

import pytest

from aap.services import reviews as reviews_service
from aap.services.calls import set_jury
from tests import factories
from tests.api.helpers import assert_error, ok
from tests.web.conftest import IsolatedClient, login

DRAFT_COMMENT = "Brouillon : projet fragile, à rediscuter"
RECUSAL_REASON = "Je préside l'association porteuse"


@pytest.fixture
def panel(world):
    """Three jurors on an application in review: ``drafter`` keeps a draft, ``recused``
    scored and then declared a conflict, ``submitter`` submitted."""
    recused = factories.make_user(["juror"], name="Rémi Récusé")
    drafter, submitter = world.users["juror"], world.users["juror2"]
    set_jury(world.call, [drafter.id, submitter.id, recused.id])
    app = world.bring_to(world.application(), "in_review")
    full = {"pertinence": 4, "faisabilite": 3}
    reviews_service.save_review(drafter, app, {"scores": full, "comment": DRAFT_COMMENT})
    reviews_service.save_review(recused, app, {"scores": full, "comment": "Très bon"})
    reviews_service.save_review(recused, app, {"conflict": True, "comment": RECUSAL_REASON})
    reviews_service.save_review(submitter, app, {"scores": full, "submit": True})
    return app, drafter, submitter, recused


def test_a_juror_reads_no_draft_and_no_recusal_of_the_others(api, panel):
    app, drafter, submitter, _recused = panel
    seen = ok(api.get(f"/applications/{app.id}/reviews", as_=submitter))
    assert [r["juror_id"] for r in seen] == [submitter.id]
    assert DRAFT_COMMENT not in str(seen) and RECUSAL_REASON not in str(seen)
    reviews_service.save_review(drafter, app, {"submit": True})
    seen = ok(api.get(f"/applications/{app.id}/reviews", as_=submitter))
    assert sorted(r["juror_id"] for r in seen) == sorted([drafter.id, submitter.id])
    assert RECUSAL_REASON not in str(seen)


def test_a_juror_that_has_not_submitted_reads_only_its_own(api, panel):
    app, drafter, _submitter, _ = panel
    seen = ok(api.get(f"/applications/{app.id}/reviews", as_=drafter))
    assert [r["juror_id"] for r in seen] == [drafter.id]


def test_the_recused_juror_no_longer_sees_the_application(api, panel):
    app, *_, recused = panel
    assert_error(api.get(f"/applications/{app.id}/reviews", as_=recused), 404, "not_found")


@pytest.mark.parametrize(("roles", "status"), [
    (["admin"], 403), (["finance"], 403), (["admin", "finance"], 403),
    (["instructor"], 200), (["admin", "instructor"], 200),
])
def test_only_instructors_read_every_review(api, panel, roles, status):
    app, drafter, submitter, recused = panel
    user = factories.make_user(roles)
    response = api.get(f"/applications/{app.id}/reviews", as_=user)
    if status == 403:
        assert_error(response, 403, "forbidden")
        return
    assert sorted(r["juror_id"] for r in ok(response)) == sorted(
        [drafter.id, submitter.id, recused.id])


def test_the_review_page_shows_no_draft_nor_recusal(app, panel):
    application, _drafter, submitter, _ = panel
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    login(client, submitter)
    page = client.get(f"/jury/dossiers/{application.id}")
    assert page.status_code == 200
    assert DRAFT_COMMENT not in page.text and RECUSAL_REASON not in page.text
    assert "Très bon" not in page.text  # the recused juror's scored review is gone too


@pytest.mark.parametrize(("roles", "shown"), [
    (["admin"], False), (["finance"], False), (["instructor"], True),
])
def test_the_dossier_page_shows_reviews_to_instructors_only(app, panel, roles, shown):
    application = panel[0]
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    login(client, factories.make_user(roles))
    page = client.get(f"/dossiers/{application.id}")
    assert page.status_code == 200
    # the per-juror table, with the recusal of one of them
    assert ("Évaluation de chaque juré" in page.text) is shown
    assert ("Récusé (conflit d" in page.text) is shown

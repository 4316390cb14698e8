"""Regressions found in review: ids and page numbers beyond a database integer."""

from __future__ import annotations

HUGE = 10**20


def test_huge_application_id_is_a_404(log_in, world):
    client = log_in(world.users["instructor"])
    assert client.get(f"/dossiers/{HUGE}").status_code == 404


def test_odd_page_numbers_show_the_first_page(log_in, world):
    client = log_in(world.users["applicant"])
    for page in (str(HUGE), "²"):
        assert client.get(f"/porteur/?page={page}").status_code == 200


def test_a_required_amount_typed_as_blanks_is_a_message_not_a_500(app):
    from werkzeug.datastructures import MultiDict

    from forms.call import CallForm

    with app.test_request_context(method="POST"):
        form = CallForm(formdata=MultiDict({"budget": "   "}), meta={"csrf": False})
        form.validate()
        assert form.budget.errors == ["Indiquez un montant."]

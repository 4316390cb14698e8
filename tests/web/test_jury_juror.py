"""The juror's pages: what a juror sees and can do, by assignment, recusal, submission
and state; the grid's validation (French messages on the fields, the form kept)."""

from __future__ import annotations

import hashlib
import html
import re
import secrets
from decimal import Decimal
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select

from aap.extensions import db
from aap.models import Attachment, Review
from aap.services import jury, reviews
from tests.web.conftest import csrf_token

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _u(response) -> str:
    """The page's text with the HTML entities decoded (apostrophes are escaped in some
    places and not in others)."""
    return html.unescape(response.get_data(as_text=True))


def attach_pdf(app, filename: str = "statuts.pdf") -> Attachment:
    """An attachment stored as the service stores one (the upload route is for drafts)."""
    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"{secrets.token_hex(16)}.pdf"
    (folder / stored).write_bytes(PDF)
    row = Attachment(application_id=app.id, kind="statutes", filename=filename,
                     stored_name=stored, content_type="application/pdf", size=len(PDF),
                     sha256=hashlib.sha256(PDF).hexdigest())
    db.session.add(row)
    db.session.commit()
    return row


def _review(app, user) -> Review | None:
    db.session.commit()  # end the test's own read transaction: see the requests' writes
    return db.session.scalar(select(Review).where(
        Review.application_id == app.id, Review.juror_id == user.id
    ).execution_options(populate_existing=True))


def _grid(token: str, action: str = "draft", **values) -> dict:
    data = {"csrf_token": token, "action": action, "score_pertinence": "",
            "score_faisabilite": "", "comment_pertinence": "", "comment_faisabilite": "",
            "comment": ""}
    data.update(values)
    return data


@pytest.fixture
def in_review(world):
    return world.bring_to(world.application(title="Ateliers égalité"), "in_review")


def _submit_juror2(world, app, comment="Avis de Jules : très convaincant."):
    reviews.save_review(world.users["juror2"], app, {
        "scores": {"pertinence": 5, "faisabilite": 4}, "comment": comment, "submit": True})


# -- the matrix: assigned or not × recused or not × submitted or not ---------------------

MATRIX = [
    # assigned, recused, submitted -> status, form shown, others' reviews shown
    (False, False, False, 404, False, False),
    (True, True, False, 404, False, False),
    (True, True, True, 404, False, False),
    (True, False, False, 200, True, False),
    (True, False, True, 200, False, True),
]


@pytest.mark.parametrize(("assigned", "recused", "submitted", "status", "form", "others"),
                         MATRIX, ids=["unassigned", "recused", "recused-after-scoring",
                                      "assigned-to-do", "assigned-submitted"])
def test_juror_application_matrix(client, world, log_in, in_review, assigned, recused,
                                  submitted, status, form, others):
    _submit_juror2(world, in_review)
    user = world.users["juror"] if assigned else world.users["outside_juror"]
    if assigned and submitted:
        reviews.save_review(user, in_review, {"scores": {"pertinence": 3, "faisabilite": 2},
                                              "submit": True})
    if recused:
        jury.record_conflict(world.users["instructor"], in_review, user, "Lien familial")
    log_in(user)
    listing = _u(client.get("/jury/"))
    response = client.get(f"/jury/dossiers/{in_review.id}")
    page = _u(response)
    assert response.status_code == status
    assert ("Ateliers égalité" in listing) is (status == 200)
    if status == 404:
        assert "Ateliers égalité" not in page
        for path in ("transmettre", "conflit"):
            assert client.get(f"/jury/dossiers/{in_review.id}/{path}").status_code == 404
        return
    assert ('name="score_pertinence"' in page) is form
    assert ("Avis de Jules : très convaincant." in page) is others
    assert ("Déclarer un conflit d'intérêts" in page) is form


def test_juror_never_sees_a_draft_nor_an_unknown_application(client, world, log_in):
    draft = world.application()
    db.session.add(Review(application_id=draft.id, juror_id=world.users["juror"].id))
    db.session.commit()
    log_in(world.users["juror"])
    assert client.get(f"/jury/dossiers/{draft.id}").status_code == 404
    assert client.get("/jury/dossiers/999999").status_code == 404


@pytest.mark.parametrize("role", ["instructor", "applicant", "finance", "admin"])
def test_scoring_pages_are_for_jurors(client, world, log_in, in_review, role):
    log_in(world.actor_for(role))
    assert client.get(f"/jury/dossiers/{in_review.id}").status_code == 403


@pytest.mark.parametrize(("path", "extra"), [
    ("", {"action": "draft", "score_pertinence": "4", "score_faisabilite": "3"}),
    ("/transmettre", {}),
    ("/conflit", {"reason": "Je connais le porteur."}),
])
@pytest.mark.parametrize("role", ["instructor", "applicant", "finance", "admin"])
def test_scoring_actions_are_for_jurors(client, world, log_in, in_review, role, path, extra):
    """Posted with a valid CSRF token, so that the role check is what answers."""
    log_in(world.actor_for(role))
    token = csrf_token(client.get("/", follow_redirects=True).text)
    response = client.post(f"/jury/dossiers/{in_review.id}{path}",
                           data={"csrf_token": token, **extra})
    assert response.status_code == 403
    rows = [_review(in_review, world.users[j]) for j in ("juror", "juror2")]
    assert [(r.total, r.submitted, r.conflict) for r in rows] == [(None, False, False)] * 2


def test_anonymous_is_sent_to_login(client, world, in_review):
    response = client.get(f"/jury/dossiers/{in_review.id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion?next=")


def test_assigned_before_opening_reads_but_cannot_score(client, world, log_in):
    app = world.bring_to(world.application(title="Pas encore ouvert"), "eligible")
    jury.assign(world.call, world.users["instructor"], "all")
    log_in(world.users["juror"])
    page = _u(client.get(f"/jury/dossiers/{app.id}"))
    assert "La notation de ce dossier n'est pas encore ouverte" in page
    assert 'name="score_pertinence"' not in page
    assert "Non ouverte à la notation" in _u(client.get("/jury/"))


def test_after_closing_the_grid_is_read_only(client, world, log_in, in_review):
    world.fire(in_review, "close_review")
    log_in(world.users["juror"])
    page = _u(client.get(f"/jury/dossiers/{in_review.id}"))
    assert "L'évaluation de ce dossier est close" in page
    response = client.post(f"/jury/dossiers/{in_review.id}",
                           data=_grid(csrf_token(page), score_pertinence="3"))
    assert response.status_code == 302
    assert "n'est plus modifiable" in _u(client.get(response.headers["Location"]))
    assert _review(in_review, world.users["juror"]).total is None


# -- the grid: draft, comments per criterion, submission with confirmation --------------

def test_draft_keeps_scores_and_comments_and_shows_the_total(client, world, log_in,
                                                             in_review):
    log_in(world.users["juror"])
    token = csrf_token(_u(client.get(f"/jury/dossiers/{in_review.id}")))
    response = client.post(f"/jury/dossiers/{in_review.id}", data=_grid(
        token, score_pertinence="3,5", score_faisabilite="4",
        comment_pertinence="Public bien ciblé.", comment="Solide."))
    assert response.status_code == 302
    review = _review(in_review, world.users["juror"])
    assert not review.submitted
    assert review.total == Decimal("14.667")
    assert review.comment == "Solide."
    assert {s.criterion_key: (s.score, s.comment) for s in review.scores} == {
        "pertinence": (Decimal("3.5"), "Public bien ciblé."), "faisabilite": (Decimal(4), "")}
    page = _u(client.get(response.headers["Location"]))
    assert "Brouillon enregistré. Total provisoire : 14,67 / 20." in page
    assert 'value="3,5"' in page and "Public bien ciblé." in page
    # clearing a score removes it (and the total follows)
    client.post(f"/jury/dossiers/{in_review.id}", data=_grid(token, score_faisabilite="5"))
    review = _review(in_review, world.users["juror"])
    assert [s.criterion_key for s in review.scores] == ["faisabilite"]
    assert review.total == Decimal("6.667")


def test_submission_asks_for_confirmation_then_reveals_the_others(client, world, log_in,
                                                                   in_review):
    _submit_juror2(world, in_review)
    log_in(world.users["juror"])
    page = _u(client.get(f"/jury/dossiers/{in_review.id}"))
    assert "Avis de Jules" not in page  # never before submitting
    token = csrf_token(page)
    response = client.post(f"/jury/dossiers/{in_review.id}", data=_grid(
        token, "submit", score_pertinence="4", score_faisabilite="3",
        comment_faisabilite="Calendrier serré."))
    assert response.headers["Location"].endswith(f"/jury/dossiers/{in_review.id}/transmettre")
    confirm = _u(client.get(response.headers["Location"]))
    assert "Confirmer la transmission" in confirm and "Calendrier serré." in confirm
    assert "14,67 / 20" in confirm
    assert not _review(in_review, world.users["juror"]).submitted  # saved as a draft only
    assert "Avis de Jules" not in _u(client.get(f"/jury/dossiers/{in_review.id}"))
    done = client.post(f"/jury/dossiers/{in_review.id}/transmettre",
                       data={"csrf_token": token})
    assert done.status_code == 302
    review = _review(in_review, world.users["juror"])
    assert review.submitted and review.total == Decimal("14.667")
    assert {s.criterion_key: s.comment for s in review.scores} == {
        "pertinence": "", "faisabilite": "Calendrier serré."}
    page = _u(client.get(f"/jury/dossiers/{in_review.id}"))
    assert "Évaluation transmise (14,67 / 20)" in page
    assert "Avis de Jules : très convaincant." in page
    assert 'name="score_pertinence"' not in page
    # a second submission is refused without a 500
    again = client.post(f"/jury/dossiers/{in_review.id}/transmettre",
                        data={"csrf_token": token})
    assert again.status_code == 302


def test_confirmation_without_every_score_goes_back(client, world, log_in, in_review):
    log_in(world.users["juror"])
    token = csrf_token(_u(client.get(f"/jury/dossiers/{in_review.id}")))
    client.post(f"/jury/dossiers/{in_review.id}", data=_grid(token, score_pertinence="2"))
    response = client.get(f"/jury/dossiers/{in_review.id}/transmettre")
    assert response.status_code == 302
    assert "Notez chaque critère" in _u(client.get(response.headers["Location"]))
    assert client.post(f"/jury/dossiers/{in_review.id}/transmettre",
                       data={"csrf_token": token}).status_code == 302
    assert not _review(in_review, world.users["juror"]).submitted


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"score_pertinence": "7"}, "score_pertinence",
     "La note doit être comprise entre 0 et 5."),
    ({"score_pertinence": "-1"}, "score_pertinence",
     "La note doit être comprise entre 0 et 5."),
    ({"score_pertinence": "trois"}, "score_pertinence", "Tapez un nombre, par exemple 3 ou 3,5."),
    ({"score_pertinence": "NaN"}, "score_pertinence", "Tapez un nombre, par exemple 3 ou 3,5."),
    ({"score_pertinence": "1e400"}, "score_pertinence",
     "La note doit être comprise entre 0 et 5."),
    ({"score_pertinence": "3,333"}, "score_pertinence", "Deux décimales au plus"),
    ({"comment_faisabilite": "Sans note", "score_faisabilite": ""}, "score_faisabilite",
     "Notez ce critère pour enregistrer son commentaire."),
    ({"comment": "x" * 5001}, "comment", "5000 caractères au maximum."),
])
def test_bad_input_is_shown_on_the_field_and_kept(client, world, log_in, in_review, values,
                                                  field, message):
    log_in(world.users["juror"])
    token = csrf_token(_u(client.get(f"/jury/dossiers/{in_review.id}")))
    data = _grid(token, score_faisabilite="4", comment_pertinence="Mon commentaire")
    data.update(values)
    response = client.post(f"/jury/dossiers/{in_review.id}", data=data)
    assert response.status_code == 422
    page = _u(response)
    assert 'id="error-summary"' in page and f'href="#{field}"' in page
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert error and message in error.group(1)
    assert re.search(rf'aria-describedby="[^"]*{field}-error"', page)
    assert "Mon commentaire" in page  # the form is kept
    typed = values.get("score_pertinence")
    if typed:
        assert f'value="{typed}"' in page
    review = _review(in_review, world.users["juror"])
    assert review.total is None and not review.scores


def test_submitting_needs_every_criterion(client, world, log_in, in_review):
    log_in(world.users["juror"])
    token = csrf_token(_u(client.get(f"/jury/dossiers/{in_review.id}")))
    response = client.post(f"/jury/dossiers/{in_review.id}",
                           data=_grid(token, "submit", score_pertinence="4"))
    assert response.status_code == 422
    page = _u(response)
    assert "Notez ce critère avant de transmettre votre évaluation." in page
    assert 'value="4"' in page
    assert not _review(in_review, world.users["juror"]).scores


def test_missing_csrf_keeps_the_form_and_saves_nothing(client, world, log_in, in_review):
    log_in(world.users["juror"])
    client.get(f"/jury/dossiers/{in_review.id}")
    data = _grid("", score_pertinence="4,5", comment="Gardé malgré tout")
    del data["csrf_token"]
    response = client.post(f"/jury/dossiers/{in_review.id}", data=data)
    assert response.status_code == 400
    page = _u(response)
    assert "Le formulaire a expiré" in page
    assert 'value="4,5"' in page and "Gardé malgré tout" in page
    assert _review(in_review, world.users["juror"]).total is None


def test_other_posts_need_csrf(client, world, log_in, in_review):
    log_in(world.users["juror"])
    conflict = client.post(f"/jury/dossiers/{in_review.id}/conflit", data={"reason": "x"})
    assert conflict.status_code == 400 and "Formulaire expiré" in _u(conflict)
    assert not _review(in_review, world.users["juror"]).conflict
    reviews.save_review(world.users["juror"], in_review,
                        {"scores": {"pertinence": 3, "faisabilite": 3}})
    submit = client.post(f"/jury/dossiers/{in_review.id}/transmettre", data={})
    assert submit.status_code == 400
    assert not _review(in_review, world.users["juror"]).submitted


# -- conflicts of interest ---------------------------------------------------------------

def test_declaring_a_conflict_recuses_and_hides_the_application(client, world, log_in,
                                                                in_review):
    log_in(world.users["juror"])
    response = client.get(f"/jury/dossiers/{in_review.id}/conflit")
    assert response.status_code == 200
    page = _u(response)
    assert "Confirmer : je me déporte" in page
    response = client.post(f"/jury/dossiers/{in_review.id}/conflit", data={
        "csrf_token": csrf_token(page), "reason": "Je suis trésorière de l'association."})
    assert response.status_code == 302 and response.headers["Location"] == "/jury/"
    listing = _u(client.get("/jury/"))
    assert "Conflit d'intérêts enregistré" in listing
    assert "Ateliers égalité" not in listing
    review = _review(in_review, world.users["juror"])
    assert review.conflict and review.conflict_reason == "Je suis trésorière de l'association."
    assert client.get(f"/jury/dossiers/{in_review.id}").status_code == 404
    assert client.get(f"/dossiers/{in_review.id}").status_code == 404


def test_conflict_without_reason_is_fine_and_too_long_is_refused(client, world, log_in,
                                                                 in_review):
    log_in(world.users["juror"])
    token = csrf_token(_u(client.get(f"/jury/dossiers/{in_review.id}/conflit")))
    long = client.post(f"/jury/dossiers/{in_review.id}/conflit",
                       data={"csrf_token": token, "reason": "x" * 2001})
    assert long.status_code == 422 and "2000 caractères au maximum." in _u(long)
    assert not _review(in_review, world.users["juror"]).conflict
    ok = client.post(f"/jury/dossiers/{in_review.id}/conflit", data={"csrf_token": token})
    assert ok.status_code == 302
    review = _review(in_review, world.users["juror"])
    assert review.conflict and review.conflict_reason is None


def test_no_conflict_after_submission(client, world, log_in, in_review):
    reviews.save_review(world.users["juror"], in_review, {
        "scores": {"pertinence": 3, "faisabilite": 3}, "submit": True})
    log_in(world.users["juror"])
    response = client.get(f"/jury/dossiers/{in_review.id}/conflit")
    assert response.status_code == 302
    assert "prévenez l'instruction" in _u(client.get(response.headers["Location"]))


# -- the file and its attachments ------------------------------------------------------

def test_the_file_and_its_attachments_are_shown_and_downloadable(client, world, log_in,
                                                                 in_review):
    attachment = attach_pdf(in_review, "statuts-signes.pdf")
    other = world.bring_to(world.application(), "submitted")
    foreign = attach_pdf(other, "autre.pdf")
    log_in(world.users["juror"])
    page = _u(client.get(f"/jury/dossiers/{in_review.id}"))
    for text in ("Des ateliers de simulation d'entretien", "Sensibiliser 20 employeurs",
                 "Jeunes de 16 à 25 ans", "Marseille — QPV Frais Vallon", "statuts-signes.pdf",
                 "Budget prévisionnel détaillé", "Montant demandé"):
        assert text in page
    url = f"/jury/dossiers/{in_review.id}/pieces/{attachment.id}"
    assert f'href="{url}"' in page
    response = client.get(url)
    assert response.status_code == 200 and response.data == PDF
    assert "attachment" in response.headers["Content-Disposition"]
    # another application's attachment, through this application or its own: 404
    assert client.get(f"/jury/dossiers/{in_review.id}/pieces/{foreign.id}").status_code == 404
    assert client.get(f"/jury/dossiers/{other.id}/pieces/{foreign.id}").status_code == 404


def test_an_outside_juror_cannot_download(client, world, log_in, in_review):
    attachment = attach_pdf(in_review)
    log_in(world.users["outside_juror"])
    response = client.get(f"/jury/dossiers/{in_review.id}/pieces/{attachment.id}")
    assert response.status_code == 404


def test_home_shows_the_jurors_own_progress(client, world, log_in):
    apps = [world.bring_to(world.application(title=f"Projet {i}"), "in_review")
            for i in range(3)]
    reviews.save_review(world.users["juror"], apps[0], {
        "scores": {"pertinence": 3, "faisabilite": 3}, "submit": True})
    reviews.save_review(world.users["juror"], apps[1], {"scores": {"pertinence": 3}})
    log_in(world.users["juror"])
    page = _u(client.get("/jury/"))
    assert "1 sur 3 évaluations transmises" in page
    assert "1 brouillon" in page and "2 encore à transmettre" in page
    assert '<progress class="jury-progress-bar" max="3" value="1"' in page
    for app in apps:
        assert f'href="/jury/dossiers/{app.id}"' in page

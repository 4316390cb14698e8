"""The instructor's jury pages: roles × routes, assignment modes, known conflicts,
progress and reminders, the jury report, the closing of the review, the ranking."""

from __future__ import annotations

import hashlib
import html
import io
import re
from collections import Counter

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from aap.extensions import db
from aap.models import Application, Notification, Review
from aap.services import reviews
from aap.services.calls import set_jury
from tests import factories
from tests.web.conftest import csrf_token


def _u(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _fresh():
    db.session.commit()  # end the test's read transaction: see what the requests wrote


def _score(world, juror_key, app, pertinence, faisabilite, submit=True):
    reviews.save_review(world.users[juror_key], app, {
        "scores": {"pertinence": pertinence, "faisabilite": faisabilite}, "submit": submit})


@pytest.fixture
def call_url(world):
    return f"/instruction/appels/{world.call.id}/jury"


@pytest.fixture
def scored(world):
    """Three applications in review: one scored by both jurors, one by one, one by none."""
    apps = [world.bring_to(world.application(title=f"Projet {i}"), "in_review")
            for i in range(3)]
    _score(world, "juror", apps[0], 5, 5)
    _score(world, "juror2", apps[0], 4, 3)
    _score(world, "juror", apps[1], 2, 1)
    _score(world, "juror2", apps[2], 3, 3, submit=False)
    return apps


ROUTES = ["", "/classement", ".xlsx"]


@pytest.mark.parametrize("suffix", ROUTES)
@pytest.mark.parametrize("role", ["instructor", "juror", "applicant", "finance", "admin"])
def test_jury_pages_are_for_instructors(client, world, log_in, scored, call_url, role,
                                        suffix):
    log_in(world.actor_for(role))
    response = client.get(call_url + suffix)
    assert response.status_code == (200 if role == "instructor" else 403)


def _jury_actions(world, scored) -> dict[str, dict]:
    """A valid form for each jury action: an instructor posting it changes something."""
    eligible = world.bring_to(world.application(title="Projet recevable"), "eligible")
    return {
        "/attribution": {"mode": "all"},
        "/conflits": {"application_id": str(eligible.id),
                      "juror_id": str(world.users["juror2"].id), "reason": "Conjoint"},
        "/relance": {},
        "/cloture": {"force": "y", "reason": "Jury réuni ; notes orales au PV."},
    }


def _jury_footprint() -> tuple:
    _fresh()
    return (db.session.scalar(select(func.count()).select_from(Review)),
            db.session.scalar(select(func.count()).select_from(Review).where(
                Review.conflict.is_(True))),
            db.session.scalar(select(func.count()).select_from(Notification)),
            sorted(db.session.scalars(select(Application.state))))


@pytest.mark.parametrize("suffix", ["/attribution", "/conflits", "/relance", "/cloture"])
@pytest.mark.parametrize("role", ["juror", "applicant", "finance", "admin", "instructor"])
def test_jury_actions_are_for_instructors(client, world, log_in, scored, call_url, role,
                                          suffix):
    """With a valid CSRF token, the role check answers (403) and nothing changes; the same
    form posted by an instructor goes through (so the 403 is the role, not the form)."""
    data = _jury_actions(world, scored)[suffix]
    log_in(world.actor_for(role))
    token = csrf_token(client.get("/", follow_redirects=True).text)
    before = _jury_footprint()
    response = client.post(call_url + suffix, data={"csrf_token": token, **data})
    if role == "instructor":
        assert response.status_code == 302, _u(response)
        assert _jury_footprint() != before
    else:
        assert response.status_code == 403
        assert _jury_footprint() == before


def test_anonymous_and_unknown_call(client, world, log_in, call_url):
    assert client.get(call_url).status_code == 302
    log_in(world.users["instructor"])
    assert client.get("/instruction/appels/999/jury").status_code == 404
    assert client.get("/instruction/appels/999/jury.xlsx").status_code == 404
    assert client.get("/instruction/appels/999/jury/classement").status_code == 404


def test_the_jury_report_downloads(client, world, log_in, scored, call_url):
    log_in(world.users["instructor"])
    response = client.get(call_url + ".xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert f"jury-appel-{world.call.id}.xlsx" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    assert len(workbook.sheetnames) >= 2
    assert f'href="/instruction/appels/{world.call.id}/jury.xlsx"' in _u(client.get(call_url))


def test_progress_shows_who_scored_what(client, world, log_in, scored, call_url):
    log_in(world.users["instructor"])
    page = _u(client.get(call_url))
    table = page.split('id="avancement"')[1].split("</table>")[0]
    cells = {}
    for row in table.split('<tr><th scope="row">')[1:]:
        name = row.split("</th>")[0]
        cells[name] = re.findall(r'<td class="num">(?:<span class="tag tag-warning">)?(\d+)',
                                 row)
    # assigned, submitted, drafts, recused, late
    assert cells["Julie Jurée"] == ["3", "2", "0", "0", "1"]
    assert cells["Jules Juré"] == ["3", "1", "1", "0", "2"]
    matrix = page.split('id="matrice"')[1].split("</section>")[0]
    assert matrix.count("Transmis") == 3 and matrix.count("Brouillon") == 1
    assert matrix.count("À faire") == 2


def test_reminders_are_queued_for_late_jurors(client, world, log_in, scored, call_url):
    log_in(world.users["instructor"])
    token = csrf_token(client.get(call_url).text)
    response = client.post(call_url + "/relance", data={"csrf_token": token})
    assert response.status_code == 302
    assert "2 jurés en retard relancés par courriel." in _u(client.get(call_url))
    _fresh()
    recipients = Counter(db.session.scalars(select(Notification.recipient_id).where(
        Notification.subject.like("Rappel%"))))
    assert recipients == {world.users["juror"].id: 1, world.users["juror2"].id: 1}


def test_no_reminder_without_late_jurors(client, world, log_in, call_url):
    log_in(world.users["instructor"])
    token = csrf_token(client.get(call_url).text)
    client.post(call_url + "/relance", data={"csrf_token": token})
    assert "Aucun juré en retard" in _u(client.get(call_url))


@pytest.fixture
def eligible(world):
    extra = factories.make_user(["juror"], name="Zoé Troisième")
    set_jury(world.call, [world.users["juror"].id, world.users["juror2"].id, extra.id])
    return [world.bring_to(world.application(title=f"Recevable {i}"), "eligible")
            for i in range(3)]


def _reviews_per_app() -> Counter:
    _fresh()
    return Counter(db.session.scalars(select(Review.application_id).where(
        Review.conflict.is_(False))))


def test_assign_the_whole_jury(client, world, log_in, eligible, call_url):
    log_in(world.users["instructor"])
    token = csrf_token(client.get(call_url).text)
    response = client.post(call_url + "/attribution", data={"csrf_token": token, "mode": "all"})
    assert response.status_code == 302
    assert "9 attributions créées." in _u(client.get(call_url))
    assert set(_reviews_per_app().values()) == {3}
    client.post(call_url + "/attribution", data={"csrf_token": token, "mode": "all"})
    assert "Aucune nouvelle attribution" in _u(client.get(call_url))


def test_assign_balanced(client, world, log_in, eligible, call_url):
    log_in(world.users["instructor"])
    token = csrf_token(client.get(call_url).text)
    client.post(call_url + "/attribution",
                data={"csrf_token": token, "mode": "balanced", "per_application": "2"})
    assert set(_reviews_per_app().values()) == {2}
    load = Counter(db.session.scalars(select(Review.juror_id)))
    assert sorted(load.values()) == [2, 2, 2]


def test_assign_per_envelope(client, world, log_in):
    call = factories.make_call(world.fund, title="Appel par territoire", envelopes=[
        ("nord", "Territoire Nord", 50_000_00), ("sud", "Territoire Sud", 50_000_00)])
    set_jury(call, [world.users["juror"].id, world.users["juror2"].id])
    nord, sud = call.envelopes
    apps = {}
    for env in (nord, sud):
        app = factories.make_application(call, world.org, envelope_id=env.id)
        apps[env.key] = world.bring_to(app, "eligible")
    log_in(world.users["instructor"])
    url = f"/instruction/appels/{call.id}/jury"
    page = _u(client.get(url))
    assert "Territoire Nord" in page and 'name="envelope_nord"' in page
    response = client.post(url + "/attribution", data={
        "csrf_token": csrf_token(page), "mode": "envelope",
        "envelope_nord": [str(world.users["juror"].id)],
        "envelope_sud": [str(world.users["juror2"].id), str(world.users["juror"].id)]})
    assert response.status_code == 302
    _fresh()
    pairs = set(db.session.execute(select(Review.application_id, Review.juror_id)).all())
    assert pairs == {(apps["nord"].id, world.users["juror"].id),
                     (apps["sud"].id, world.users["juror"].id),
                     (apps["sud"].id, world.users["juror2"].id)}


def test_assignment_errors_are_french_and_kept(client, world, log_in, eligible, call_url):
    log_in(world.users["instructor"])
    token = csrf_token(client.get(call_url).text)
    bad = client.post(call_url + "/attribution",
                      data={"csrf_token": token, "mode": "balanced", "per_application": "0"})
    assert bad.status_code == 422 and "Entre 1 et 50 jurés." in _u(bad)
    unknown = client.post(call_url + "/attribution", data={"csrf_token": token, "mode": "loto"})
    assert unknown.status_code == 422 and "error-summary" in unknown.text
    set_jury(world.call, [])
    nobody = client.post(call_url + "/attribution", data={"csrf_token": token, "mode": "all"})
    assert nobody.status_code == 422
    assert "Désignez d'abord le jury de l'appel." in _u(nobody)
    assert sum(_reviews_per_app().values()) == 0


def test_record_a_known_conflict(client, world, log_in, scored, call_url):
    log_in(world.users["instructor"])
    page = _u(client.get(call_url))
    token = csrf_token(page)
    missing = client.post(call_url + "/conflits", data={
        "csrf_token": token, "application_id": "0", "juror_id": "0", "reason": ""})
    assert missing.status_code == 422
    text = _u(missing)
    assert "Choisissez un dossier." in text and "Précisez la nature du conflit." in text
    response = client.post(call_url + "/conflits", data={
        "csrf_token": token, "application_id": str(scored[2].id),
        "juror_id": str(world.users["juror2"].id), "reason": "Conjoint du président"})
    assert response.status_code == 302
    assert "Jules Juré est déporté·e du dossier" in _u(client.get(call_url))
    _fresh()
    review = db.session.scalar(select(Review).where(
        Review.application_id == scored[2].id, Review.juror_id == world.users["juror2"].id))
    assert review.conflict and review.conflict_reason == "Conjoint du président"


def test_a_conflict_on_an_application_of_another_call_is_refused(client, world, log_in,
                                                                  call_url):
    other_call = factories.make_call(world.fund, title="Autre appel")
    set_jury(other_call, [world.users["juror"].id])
    foreign = world.bring_to(factories.make_application(other_call, world.org), "eligible")
    log_in(world.users["instructor"])
    token = csrf_token(client.get(call_url).text)
    response = client.post(call_url + "/conflits", data={
        "csrf_token": token, "application_id": str(foreign.id),
        "juror_id": str(world.users["juror"].id), "reason": "x"})
    assert response.status_code == 422
    _fresh()
    assert db.session.scalar(select(func.count()).select_from(Review).where(
        Review.conflict.is_(True))) == 0


def _states() -> Counter:
    _fresh()
    return Counter(db.session.scalars(select(Application.state)))


def test_close_review_reports_missing_reviews_then_forces_with_a_reason(client, world,
                                                                        log_in, scored,
                                                                        call_url):
    _score(world, "juror2", scored[1], 1, 1)  # app 0 and 1 complete; app 2 is missing two
    log_in(world.users["instructor"])
    token = csrf_token(client.get(call_url).text)
    response = client.post(call_url + "/cloture", data={"csrf_token": token})
    assert response.status_code == 302
    page = _u(client.get(call_url))
    assert "2 dossiers clos : évaluation terminée." in page
    assert "1 dossier non clos : AAP-2026-0003 (Évaluations manquantes" in page
    assert _states() == {"reviewed": 2, "in_review": 1}
    no_reason = client.post(call_url + "/cloture", data={"csrf_token": token, "force": "y"})
    assert no_reason.status_code == 422
    assert "Indiquez pourquoi vous closez" in _u(no_reason)
    assert _states() == {"reviewed": 2, "in_review": 1}
    client.post(call_url + "/cloture", data={
        "csrf_token": token, "force": "y", "reason": "Jury réuni ; notes orales au PV."})
    assert "1 dossier clos" in _u(client.get(call_url))
    assert _states() == {"reviewed": 3}


def test_ranking_with_methods_alpha_charts_and_stability(client, world, log_in, scored,
                                                         call_url):
    _score(world, "juror2", scored[1], 1, 1)
    world.call.min_total = 12
    db.session.commit()
    log_in(world.users["instructor"])
    page = _u(client.get(call_url + "/classement"))
    assert page.count('role="img"') == 2
    assert "Classement des dossiers et seuil de financement" in page
    assert "Totaux donnés par chaque juré" in page
    assert "Seuil de financement : 12 / 20" in page
    ranking = page.split('id="ranking-caption"')[1].split("</table>")[0]
    assert ranking.index("AAP-2026-0001") < ranking.index("AAP-2026-0002")
    assert "AAP-2026-0003" in ranking  # listed without a score
    assert "moins de 1 note" in ranking
    assert "alpha de Krippendorff" in page
    assert "Julie Jurée" in page and "Jules Juré" in page
    median = _u(client.get(call_url + "/classement?methode=median"))
    assert '<option value="median" selected>' in median
    fallback = _u(client.get(call_url + "/classement?methode=<script>"))
    assert '<option value="mean" selected>' in fallback and "<script>" not in fallback


def test_ranking_of_an_empty_call(client, world, log_in, call_url):
    log_in(world.users["instructor"])
    page = _u(client.get(call_url + "/classement"))
    assert "Aucun dossier en évaluation ou évalué." in page
    assert "Aucune évaluation transmise pour l'instant." in page
    assert 'role="img"' not in page
    assert client.get(call_url).status_code == 200


def test_the_jury_pages_render_in_english(client, world, log_in, scored, call_url):
    log_in(world.users["instructor"])
    for suffix, args in (("", {}), ("/classement", {"methode": "centred"})):
        response = client.get(call_url + suffix, query_string={"lang": "en", **args})
        assert response.status_code == 200
        assert '<html lang="en">' in response.text
    client.get("/", query_string={"lang": "fr"})
    client.post("/deconnexion", data={"csrf_token": csrf_token(client.get(call_url).text)})
    log_in(world.users["juror"])
    for path in (f"/jury/dossiers/{scored[2].id}", "/jury/", f"/jury/dossiers/{scored[0].id}"):
        assert client.get(path, query_string={"lang": "en"}).status_code == 200


# -- scores on the pages: recusals after scoring and disagreement (tests.scoring_panel) --

def _cells(row_html: str) -> list[str]:
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row_html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells]


# The hand-computed aggregates of tests.scoring_panel, as the French pages write them
# (at most two decimals, decimal comma): score, n, median, min, max, spread, flag.
RANKING_ROWS = {
    "agree": ["14,67", "3", "16", "12", "16", "2,31", "—"],
    "disagree": ["12", "2", "12", "4", "20", "11,31", "à discuter"],
    "boundary": ["12", "3", "12", "8", "16", "4", "—"],
    "recused": ["10", "2", "10", "8", "12", "2,83", "—"],
    "single": ["— (moins de 2 note·s)", "1", "20", "20", "20", "—", "—"],
}


@pytest.fixture
def panel(world):
    from tests import scoring_panel

    return scoring_panel.build(world)


def test_the_ranking_counts_no_recused_score_and_flags_only_disagreement(
        client, world, log_in, panel, call_url):
    log_in(world.users["instructor"])
    page = _u(client.get(call_url + "/classement"))
    table = page.split('id="ranking-caption"')[1].split("</table>")[0]
    order = [int(i) for i in re.findall(r'<tr id="rang-(\d+)"', table)]
    # best first; the two 12s by SHA-256 of the call's seed and the reference (SPEC 5)
    tied = sorted(["disagree", "boundary"], key=lambda n: hashlib.sha256(
        f"appel-{world.call.id}{panel.apps[n].reference}".encode()).hexdigest())
    expected_order = ["agree", *tied, "recused", "single"]
    assert order == [panel.id(n) for n in expected_order]
    ranks = {"agree": "1", tied[0]: "2 tirage", tied[1]: "3 tirage", "recused": "4",
             "single": "—"}
    for name, expected in RANKING_ROWS.items():
        row = table.split(f'<tr id="rang-{panel.id(name)}"')[1].split("</tr>")[0]
        cells = _cells(row)
        assert [cells[0], *cells[2:9]] == [ranks[name], *expected], name
    stats = dict((label, value) for value, label in re.findall(
        r'<span class="stat-value">([^<]*)</span> <span class="stat-label">([^<]*)</span>',
        page))
    assert stats["désaccords à discuter"] == "1"
    assert stats["dossiers notés (au moins 2 note·s)"] == "4"


@pytest.mark.parametrize(("name", "score", "n", "spread", "flag"), [
    ("agree", "14,67 / 20", "3", "16, 12 – 16", "Non"),
    ("recused", "10 / 20", "2", "10, 8 – 12", "Non"),
    ("disagree", "12 / 20", "2", "12, 4 – 20", "À discuter (écart type 11,31)"),
    ("boundary", "12 / 20", "3", "12, 8 – 16", "Non"),
    ("single", "—", "1 (minimum 2)", "20, 20 – 20", "Non"),
])
def test_the_dossier_page_shows_the_counted_aggregate(client, world, log_in, panel, name,
                                                     score, n, spread, flag):
    log_in(world.users["instructor"])
    page = _u(client.get(f"/dossiers/{panel.id(name)}"))
    summary = page.split('<dl class="score-summary">')[1].split("</dl>")[0]
    pairs = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", summary, re.S)
    shown = {dt: " ".join(re.sub(r"<[^>]+>", " ", dd).split()) for dt, dd in pairs}
    assert shown == {"Note (moyenne)": score, "Évaluations prises en compte": n,
                     "Médiane, min – max": spread, "Désaccord entre jurés": flag}


def test_the_dossier_page_shows_the_recused_juror_without_a_total(client, world, log_in,
                                                                 panel):
    log_in(world.users["instructor"])
    page = _u(client.get(f"/dossiers/{panel.id('recused')}"))
    table = page.split("Évaluation de chaque juré")[1].split("</table>")[0]
    rows = {cells[0]: cells[1:] for cells in
            (_cells(r) for r in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:])}
    assert rows == {"Julie Jurée": ["Récusé (conflit d'intérêts)", "—"],
                    "Jules Juré": ["Transmise", "8"], "Chloé Jurée": ["Transmise", "12"]}


def test_the_call_list_shows_the_counted_scores_and_the_flag(client, world, log_in, panel):
    log_in(world.users["instructor"])
    page = _u(client.get(f"/instruction/appels/{world.call.id}?sort=score"))
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    rows = {cells[1]: cells[-1] for cells in
            (_cells(r) for r in re.findall(r"<tr>(.*?)</tr>", body, re.S))}
    reference = {name: app.reference for name, app in panel.apps.items()}
    assert rows == {
        reference["agree"]: "14,67 3 notes",
        reference["recused"]: "10 2 notes",
        reference["disagree"]: "12 2 notes désaccord",
        reference["boundary"]: "12 3 notes",
        reference["single"]: "— 1 note",
    }

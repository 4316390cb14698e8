"""Automated accessibility checks (RGAA 4.1 / WCAG 2.1 AA) with axe-core, on every page.

axe-core (``tests/browser/vendor/axe.min.js``, vendored from npm: nothing is downloaded
at test time) runs the rules tagged ``wcag2a``, ``wcag2aa``, ``wcag21a`` and ``wcag21aa``
on each page of ``PAGES``, at 1280 px and at 375 px wide; a test fails on any violation
of impact *serious* or *critical*, and prints each one's rule id, help text and first
targets. (Moderate and minor findings are printed, not failed.)

How the rows were chosen: one row per HTML page the application serves (every GET route
of the web blueprints answering a page, not a file), seen by the role it is made for,
in a state where its content is shown (a list with rows, a dossier with its actions, a
form with its errors when the page has one), plus the error pages (403, 404, for a
visitor and for a signed-in user). ``test_every_page_route_has_a_row`` compares the
table with the application's URL map: a new page route fails it until a row is added
(or, for a route that answers a file or a redirect, its endpoint is listed in
``NOT_PAGES``). To add a page: add a ``Row(role, endpoint, url_builder)`` where the
builder takes the seeded ``Seed`` and returns the path; add what the page needs to
``_seed``.

One dataset and one live server serve the whole module (the ``app``/``db`` fixtures of
``tests/conftest.py`` are per test): the dataset is built through the services and the
workflow engine, and the tables are emptied when the module ends, as ``db`` does.
Each role logs in once through the real login form; its session is reused at both widths.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from aap.extensions import db as _db
from tests import factories
from tests.browser.conftest import Shots, log_in
from tests.factories import PASSWORD

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_RUN = ("axe.run(document, {runOnly: {type: 'tag', values: "
           "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})")
BLOCKING = ("serious", "critical")
WIDTHS = (1280, 375)
# Full-page screenshots of every checked page (test-artifacts/screenshots/a11y-*) when
# AAP_A11Y_SCREENSHOTS=1; a failing page is always shot.
SHOTS = os.environ.get("AAP_A11Y_SCREENSHOTS") == "1"


@dataclass
class Seed:
    """The ids the pages need; ``emails`` maps each role of ``PAGES`` to a login."""

    call: int
    draft: int
    empty_draft: int
    submitted: int
    in_review: int
    in_progress: int
    organisation: int
    authority: int
    run: int
    other_run: int
    job: int
    reset_token: str
    emails: dict[str, str]


@dataclass(frozen=True)
class Row:
    """One page: who looks at it, its endpoint (checked against the URL map), its path,
    and what to do on it before the check: ``fill`` (CSS selector, value) pairs, then
    ``submit``, the label of the button to press, to see the form's errors; ``status``
    is the answer expected last."""

    role: str
    endpoint: str
    path: Callable[[Seed], str]
    status: int = 200
    submit: str | None = None
    fill: tuple[tuple[str, str], ...] = ()
    name: str = ""

    @property
    def id(self) -> str:
        return f"{self.role}-{self.name or self.endpoint}"


def _fixed(path: str) -> Callable[[Seed], str]:
    return lambda s: path


R = Row
C = "/instruction/appels/{s.call}"
PAGES: list[Row] = [
    # -- anyone -------------------------------------------------------------------------
    R("anonymous", "public.index", _fixed("/"), name="landing-open-calls"),
    R("anonymous", "public.login", _fixed("/connexion")),
    R("anonymous", "public.login", _fixed("/connexion"), status=422,
      submit="Se connecter", name="login-errors"),
    R("anonymous", "public.register", _fixed("/inscription")),
    R("anonymous", "public.register", _fixed("/inscription"), status=422,
      submit="Créer mon compte", name="register-errors"),
    R("anonymous", "public.forgot_password", _fixed("/mot-de-passe-oublie")),
    R("anonymous", "public.reset_password", lambda s: f"/reinitialiser/{s.reset_token}"),
    R("anonymous", "public.reset_password", _fixed("/reinitialiser/perime"),
      name="reset-expired", status=404),
    R("anonymous", "public.invitation", _fixed("/invitations/inconnue"), status=404),
    R("anonymous", "manager.accept", _fixed("/invitation-equipe/inconnue"), status=404),
    R("anonymous", "public.accessibility", _fixed("/accessibilite")),
    R("anonymous", "public.open_data_page", _fixed("/donnees-ouvertes")),
    R("anonymous", "404", _fixed("/page-qui-n-existe-pas"), status=404),
    # -- applicant -----------------------------------------------------------------------
    R("applicant", "applicant.home", _fixed("/porteur/")),
    R("applicant", "applicant.start", lambda s: f"/porteur/appels/{s.call}/nouveau-dossier",
      name="call-page"),
    R("applicant", "applicant.organisation_new", _fixed("/porteur/organisations/nouvelle")),
    R("applicant", "applicant.organisation",
      lambda s: f"/porteur/organisations/{s.organisation}"),
    R("applicant", "applicant.edit", lambda s: f"/porteur/dossiers/{s.draft}/modifier",
      name="form-with-upload"),
    R("applicant", "applicant.edit", lambda s: f"/porteur/dossiers/{s.empty_draft}/modifier",
      status=422, submit="Déposer le dossier", name="form-errors"),
    R("applicant", "applicant.detail", lambda s: f"/porteur/dossiers/{s.submitted}"),
    R("applicant", "applicant.acknowledgement",
      lambda s: f"/porteur/dossiers/{s.submitted}/accuse-de-reception"),
    R("applicant", "applicant.withdraw", lambda s: f"/porteur/dossiers/{s.submitted}/retirer"),
    R("applicant", "applicant.report", lambda s: f"/porteur/dossiers/{s.in_progress}/compte-rendu"),
    R("applicant", "account.home", _fixed("/compte/")),
    R("applicant", "account.tokens", _fixed("/compte/jetons")),
    R("applicant", "account.delete", _fixed("/compte/supprimer")),
    R("applicant", "account.password", _fixed("/compte/mot-de-passe")),
    R("applicant", "403", _fixed("/instruction/"), status=403),
    R("applicant", "404", _fixed("/porteur/dossiers/999999"), status=404, name="404-signed-in"),
    # -- instructor ----------------------------------------------------------------------
    R("instructor", "instructor.home", _fixed("/instruction/")),
    R("instructor", "instructor.call_applications", lambda s: C.format(s=s)),
    R("instructor", "instructor.new_fund", _fixed("/instruction/dispositifs/nouveau")),
    R("instructor", "instructor.new_call", _fixed("/instruction/appels/nouveau")),
    R("instructor", "instructor.new_call", _fixed("/instruction/appels/nouveau"), status=422,
      submit="Créer l'appel", name="new-call-errors"),
    R("instructor", "instructor.edit_call", lambda s: C.format(s=s) + "/modifier"),
    R("instructor", "instructor.clone_call", lambda s: C.format(s=s) + "/cloner"),
    R("instructor", "instructor.call_jury_members",
      lambda s: C.format(s=s) + "/composition-du-jury"),
    R("instructor", "dossier.detail", lambda s: f"/dossiers/{s.submitted}",
      name="dossier-eligibility"),
    R("instructor", "dossier.detail", lambda s: f"/dossiers/{s.in_progress}",
      name="dossier-funded"),
    R("instructor", "instructor.jury_call", lambda s: C.format(s=s) + "/jury",
      name="jury-assignment"),
    R("instructor", "instructor.jury_ranking", lambda s: C.format(s=s) + "/jury/classement"),
    R("instructor", "instructor.allocation_runs", lambda s: C.format(s=s) + "/repartition",
      name="allocation-simulation"),
    R("instructor", "instructor.allocation_run",
      lambda s: C.format(s=s) + f"/repartition/{s.run}"),
    R("instructor", "instructor.compare_allocations",
      lambda s: C.format(s=s) + f"/repartition/comparer?a={s.run}&b={s.other_run}"),
    R("instructor", "decisions.deliberation", lambda s: C.format(s=s) + "/deliberation",
      name="decisions"),
    # -- juror ---------------------------------------------------------------------------
    R("juror", "jury.home", _fixed("/jury/")),
    R("juror", "jury.review", lambda s: f"/jury/dossiers/{s.in_review}", name="scoring-form"),
    R("juror", "jury.review", lambda s: f"/jury/dossiers/{s.in_review}", status=422,
      fill=((".score-input", "99"),), submit="Enregistrer le brouillon",
      name="scoring-form-errors"),
    R("juror", "jury.conflict", lambda s: f"/jury/dossiers/{s.in_review}/conflit"),
    # -- finance -------------------------------------------------------------------------
    R("finance", "finance.home", _fixed("/finances/"), name="payments"),
    R("finance", "exports.mine", _fixed("/exports/")),
    R("finance", "exports.job", lambda s: f"/exports/{s.job}?auto=0"),
    R("finance", "dashboards.year", _fixed("/tableaux-de-bord/")),
    R("finance", "dashboards.call", lambda s: f"/tableaux-de-bord/appels/{s.call}"),
    R("finance", "dashboards.authority",
      lambda s: f"/tableaux-de-bord/collectivites/{s.authority}"),
    # -- several roles: the menu of role homes -------------------------------------------
    R("several", "public.dashboard", _fixed("/espace")),
    # -- manager -------------------------------------------------------------------------
    R("manager", "manager.team", lambda s: f"/collectivites/{s.authority}/equipe"),
    # -- admin ---------------------------------------------------------------------------
    R("admin", "admin.home", _fixed("/admin/")),
    R("admin", "admin.authorities_list", _fixed("/admin/collectivites")),
    R("admin", "admin.new_authority", _fixed("/admin/collectivites/nouvelle")),
    R("admin", "admin.edit_authority",
      lambda s: f"/admin/collectivites/{s.authority}/modifier"),
]

PSEUDO = {"403", "404"}  # the error pages, reached through other routes

# GET routes that answer a file, a redirect or nothing to read: no page to check.
NOT_PAGES = {
    "static", "favicon", "health", "public.language", "public.open_data_csv",
    "decisions.convention", "decisions.annex_file", "dossier.attachment", "jury.attachment",
    "applicant.download", "exports.download", "instructor.jury_report",
    "dashboards.call_workbook", "dashboards.authority_workbook", "dashboards.year_workbook",
    "jury.confirm",  # without a saved score it sends the juror back to the grid
    "ready",  # the readiness probe (JSON)
    "account.export",  # the user's data, a JSON download
    "manager.home",  # one managed authority: a redirect to its team page (checked above)
}


def test_every_page_route_has_a_row(app) -> None:
    """A page route without a row (and not a file) would go unchecked: add it to PAGES."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()
                 if "GET" in (rule.methods or ()) and not rule.rule.startswith("/api/")}
    missing = endpoints - {row.endpoint for row in PAGES} - NOT_PAGES
    assert not missing, f"pages with no accessibility row: {sorted(missing)}"


# tests of the checks themselves, which the statement does not list
UNLISTED = {"test_contrast_matches_known_pairs", "test_the_statement_says_what_is_checked"}


def test_the_statement_says_what_is_checked(app) -> None:
    """The accessibility statement names the axe-core vendored here and the tests that
    exist (read from the files themselves), and the contact when one is configured."""
    import re

    import tests.browser.test_keyboard as keyboard

    version = re.search(r"axe v([\d.]+)", AXE.read_text(encoding="utf-8")[:200]).group(1)
    page = app.test_client().get("/accessibilite")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f"axe-core version {version}" in text
    assert "RGAA" in text and "WCAG" in text and "1280" in text and "375" in text
    for module in (keyboard, __import__(__name__, fromlist=["_"])):
        named = {n for n in re.findall(r"<code>(test_\w+)</code>", text)
                 if hasattr(module, n)}
        tests = {n for n in dir(module) if n.startswith("test_")} - UNLISTED
        assert tests <= named, f"tests missing from the statement: {tests - named}"
    app.config["ACCESSIBILITY_CONTACT"] = "accessibilite@example.org"
    try:
        text = app.test_client().get("/accessibilite").get_data(as_text=True)
    finally:
        app.config["ACCESSIBILITY_CONTACT"] = None
    assert 'href="mailto:accessibilite@example.org"' in text


# -- the dataset and the server, once for the module --------------------------------------

def _seed() -> Seed:
    """Every page's content, built through the services and the workflow engine."""
    from aap.models import ExportJob
    from aap.services import accounts, allocation, applications, attachments, reviews
    from tests.services.test_allocation import reviewed

    world = factories.World.build()
    applicant, instructor = world.users["applicant"], world.users["instructor"]
    authority = factories.make_authority("Ville de Vitrolles")
    manager = factories.make_user(["manager"], authority=authority, name="Maud Manager")
    several = factories.make_user(["instructor", "finance"], name="Paul Polyvalent")

    draft = world.application(title="Cafés citoyens multilingues")
    attachments.add_attachment(applicant, draft.id, _attachment_kind(), _pdf_upload())
    empty = applications.create(applicant, {"call_id": world.call.id,
                                            "organisation_id": world.org.id})
    _db.session.commit()
    submitted = world.bring_to(world.application(title="Permanences d'accès aux droits"),
                               "submitted")
    in_review = world.bring_to(world.application(title="Médiation sociale et logement"),
                               "in_review")
    reviews.save_review(world.users["juror2"], in_review,
                        {"scores": {"pertinence": 4, "faisabilite": 3}, "comment": "Solide"})
    in_progress = world.bring_to(world.application(title="Théâtre forum au collège"),
                                 "in_progress")
    reviewed(world, 4000, 5, 4, title="Sport pour toutes et tous")
    reviewed(world, 6000, 3, 3, title="Parrainage vers l'emploi")
    run = allocation.simulate(world.call, instructor, seed="Loto 7 12 25")
    other = allocation.simulate(world.call, instructor, {"budget_cents": 5_000_00,
                                                         "overflow": "skip"}, seed="s")
    job = ExportJob(kind="balance_call", parameters={"call_id": world.call.id},
                    requested_by_id=world.users["finance"].id, status="running",
                    progress_done=3, progress_total=7)
    _db.session.add(job)
    _db.session.commit()
    tokens: list[str] = []
    accounts.request_password_reset(applicant.email, lambda t: tokens.append(t) or t)
    _db.session.commit()
    emails = {role: world.users[role].email
              for role in ("applicant", "instructor", "juror", "finance", "admin")}
    emails.update(manager=manager.email, several=several.email)
    return Seed(call=world.call.id, draft=draft.id, empty_draft=empty.id,
                submitted=submitted.id, in_review=in_review.id, in_progress=in_progress.id,
                organisation=world.org.id, authority=authority.id, run=run.id,
                other_run=other.id, job=job.id, reset_token=tokens[0], emails=emails)


def _attachment_kind() -> str:
    from aap.services.attachments import ATTACHMENT_KINDS

    return next(iter(ATTACHMENT_KINDS))


def _pdf_upload():
    import io

    from werkzeug.datastructures import FileStorage

    content = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    return FileStorage(io.BytesIO(content), filename="statuts signés.pdf",
                       content_type="application/pdf")


@pytest.fixture(scope="module")
def seed(app) -> Iterator[Seed]:
    from tests.conftest import _empty_tables

    with app.app_context():
        try:
            yield _seed()
        finally:
            _db.session.rollback()
            _empty_tables()
            _db.session.remove()


@pytest.fixture(scope="module")
def server(app, seed) -> Iterator[str]:
    live = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=live.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{live.server_port}"
    live.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def sessions(browser, server, seed) -> dict[str, dict]:
    """Each role's signed-in browser state, logged in once through the login form."""
    states: dict[str, dict] = {"anonymous": {"cookies": [], "origins": []}}
    for role, email in seed.emails.items():
        context = browser.new_context(base_url=server, locale="fr-FR")
        log_in(context.new_page(), email, PASSWORD)
        states[role] = context.storage_state()
        context.close()
    return states


@pytest.fixture(scope="module")
def tabs(browser, server, sessions) -> Iterator[Callable]:
    """One tab per role, opened on first use and kept for the module."""
    opened: dict[str, object] = {}

    def tab(role: str):
        if role not in opened:
            context = browser.new_context(
                base_url=server, locale="fr-FR", timezone_id="Europe/Paris",
                storage_state=sessions[role], viewport={"width": WIDTHS[0], "height": 900},
                bypass_csp=True)  # the app's CSP forbids the injected axe script
            context.set_default_timeout(15_000)
            opened[role] = context.new_page()
        return opened[role]

    yield tab
    for page in opened.values():
        page.context.close()


# -- the check ---------------------------------------------------------------------------

def _report(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:3]]
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} "
                     f"({len(v['nodes'])} nodes) {json.dumps(targets, ensure_ascii=False)}")
    return "\n".join(lines)


@pytest.mark.parametrize("row", PAGES, ids=[row.id for row in PAGES])
def test_page_has_no_serious_violation(app, tabs, seed, row: Row) -> None:
    """The page at each width of WIDTHS (loaded once, the window resized in between)."""
    if row.endpoint not in PSEUDO and row.endpoint not in app.view_functions:
        pytest.skip(f"no route {row.endpoint} in this build")
    page = tabs(row.role)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    response = page.goto(row.path(seed))
    for selector, value in row.fill:
        page.locator(selector).first.fill(value)
    if row.submit:
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name=row.submit, exact=True).first.click()
        response = navigation.value
    assert response is not None and response.status == row.status, \
        f"{row.path(seed)}: {response and response.status}"
    # the folded forms (an action's <details>) are checked unfolded as well
    page.eval_on_selector_all("details", "all => all.forEach(d => { d.open = true; })")
    page.add_script_tag(path=str(AXE))
    failures = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        violations = page.evaluate(AXE_RUN)["violations"]
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        others = [v for v in violations if v["impact"] not in BLOCKING]
        if blocking or SHOTS:
            Shots(page, f"a11y-{row.id}-{width}")("page")
        if others:
            print(f"{row.id} at {width} px, not blocking:\n{_report(others)}")
        if blocking:
            failures.append(f"{page.url} at {width} px:\n{_report(blocking)}")
        # WCAG 1.4.10 (reflow), which axe does not check: no horizontal scrolling of the
        # page itself; a wide table or chart scrolls inside its own focusable region.
        overflow = page.evaluate("document.documentElement.scrollWidth")
        if overflow > width:
            failures.append(f"{page.url} at {width} px: the page is {overflow} px wide")
    assert not failures, "\n".join(failures)

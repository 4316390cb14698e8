"""The export pages: a button starts a job (POST, CSRF) and the answer is at once a
redirect to the job's page, which shows its progress and refreshes itself until the
download link; the file goes to its requester only; « Mes exports » lists one's own.
Oracles: the SPEC's sheet names and SCDL columns, the rows written by hand, the table."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
import threading

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from aap.extensions import db
from aap.models import ExportJob
from aap.services import jobs
from tests import factories
from tests.helpers import count_queries
from tests.job_kinds import NAME, expected_lines, join_export_threads, numbers_kind, wait_for_job
from tests.web.conftest import csrf_token

FORM_RE = re.compile(r'<form method="post" action="/exports/"[^>]*>(.*?)</form>', re.S)


@pytest.fixture(autouse=True)
def export_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    yield tmp_path / "exports"
    join_export_threads()


def _forms(page: str) -> dict[str, dict[str, str]]:
    """The export forms of a page: button label -> hidden fields."""
    out = {}
    for body in FORM_RE.findall(page):
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', body))
        label = re.search(r"<button[^>]*>(.*?)</button>", body, re.S).group(1)
        out[html_lib.unescape(label.strip())] = fields
    return out


def _start(client, data: dict, page_url: str = "/exports/"):
    token = csrf_token(client.get(page_url).text)
    return client.post("/exports/", data={"csrf_token": token, **data})


def _job_id(response) -> int:
    assert response.status_code == 303, response.text[:300]
    match = re.fullmatch(r"/exports/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def _row(job_id: int) -> ExportJob:
    db.session.rollback()  # the test's own snapshot ends: read what was committed
    return db.session.get(ExportJob, job_id)


def _granted(world, count: int = 2):
    apps = [world.bring_to(world.application(requested_cents=(4_000 + i) * 100), "granted")
            for i in range(count)]
    return apps


# -- starting ----------------------------------------------------------------------------

def test_the_finance_home_button_exports_the_year_balance(world, log_in):
    granted = _granted(world)
    finance = world.users["finance"]
    client = log_in(finance)
    home = client.get("/finances/").text
    forms = _forms(home)
    fields = forms["Exporter le bilan de l'exercice (xlsx)"]
    assert fields["kind"] == "balance_year" and fields["fiscal_year"] == "2026"
    job_id = _job_id(client.post("/exports/", data=fields))
    row = _row(job_id)
    assert (row.kind, row.parameters, row.requested_by_id) == (
        "balance_year", {"fiscal_year": 2026}, finance.id)
    assert wait_for_job(job_id).status == "done"

    page = html_lib.unescape(client.get(f"/exports/{job_id}").text)
    assert "Terminé" in page and "Télécharger bilan-exercice-2026.xlsx" in page
    response = client.get(f"/exports/{job_id}/fichier")
    assert response.status_code == 200
    assert "bilan-exercice-2026.xlsx" in response.headers["Content-Disposition"]
    assert response.headers["Content-Disposition"].startswith("attachment")
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    assert book.sheetnames[:2] == ["Synthèse", "Attributions"]
    cells = {c for r in book["Attributions"].iter_rows(values_only=True) for c in r}
    assert {a.reference for a in granted} <= cells


def test_the_call_page_buttons_export_the_call_balance_and_open_data(world, log_in):
    granted = _granted(world, 3)
    client = log_in(world.users["instructor"])
    forms = _forms(client.get(f"/instruction/appels/{world.call.id}").text)
    assert forms["Bilan de l'appel (xlsx)"]["kind"] == "balance_call"
    scdl = forms["Données ouvertes SCDL (CSV)"]
    assert scdl["kind"] == "scdl_call" and scdl["call_id"] == str(world.call.id)
    job_id = _job_id(client.post("/exports/", data=scdl))
    assert wait_for_job(job_id).status == "done"
    response = client.get(f"/exports/{job_id}/fichier")
    assert response.status_code == 200
    assert f"subventions-appel-{world.call.id}.csv" in response.headers["Content-Disposition"]
    records = list(csv.DictReader(io.StringIO(response.data.decode("utf-8"))))
    assert len(records) == 3
    # One row per grant, the amount granted (the amount requested here) in euros.
    assert sorted(r["montant"] for r in records) == ["4000.00", "4001.00", "4002.00"]
    assert {r["idBeneficiaire"] for r in records} == {world.org.siret}
    assert len(granted) == 3

    job_id = _job_id(client.post("/exports/", data=forms["Bilan de l'appel (xlsx)"]))
    assert wait_for_job(job_id).status == "done"
    response = client.get(f"/exports/{job_id}/fichier")
    assert load_workbook(io.BytesIO(response.data), read_only=True).sheetnames[0] == "Synthèse"


def test_start_needs_the_csrf_token(world, log_in):
    client = log_in(world.users["finance"])
    response = client.post("/exports/", data={"kind": "balance_year", "fiscal_year": "2026"})
    assert response.status_code == 400
    assert db.session.scalars(select(ExportJob)).all() == []


def test_the_post_returns_at_once_while_a_slow_export_runs(world, log_in, count_kind):
    """The request never waits for the export: the kind is held at a gate until after
    the answer (a synchronous start would fail it after 20 s, or hang)."""
    gate = threading.Event()
    client = log_in(world.users["finance"])
    try:
        with jobs.registered(count_kind(gate=gate)):
            job_id = _job_id(_start(client, {"kind": NAME, "fiscal_year": "3"}))
            assert _row(job_id).status in ("queued", "running")
            assert not gate.is_set()
            gate.set()
            assert wait_for_job(job_id).status == "done"
    finally:
        gate.set()


@pytest.fixture
def count_kind():
    """The numbers kind started from the export form, which carries only a call and a
    fiscal year: its line count rides in the ``fiscal_year`` field."""

    def make(**options):
        kind = numbers_kind(**options)

        def authorize(user, params):
            count = params.get("count") or int(params.get("fiscal_year", "0"))
            return kind.authorize(user, {"count": count})

        return jobs.Kind(name=kind.name, extension=kind.extension, authorize=authorize,
                         write=kind.write, filename=kind.filename, describe=kind.describe)

    return make


def test_the_job_page_while_running_stopped_and_done(world, log_in, count_kind):
    gate = threading.Event()
    client = log_in(world.users["finance"])
    try:
        with jobs.registered(count_kind(gate=gate)):
            job_id = _job_id(_start(client, {"kind": NAME, "fiscal_year": "3"}))
            wait_for_job(job_id, until=lambda j: j.progress_done == 1)
            response = client.get(f"/exports/{job_id}")
            page = html_lib.unescape(response.text)
            assert response.status_code == 200
            assert response.headers["Refresh"] == "2", "it refreshes itself, without script"
            assert re.search(r'<progress[^>]*max="3" value="1"[^>]*>33 %</progress>', page)
            assert "En cours" in page and "1 sur 3 (33 %)" in page
            assert "Arrêter l'actualisation automatique" in page
            assert "/fichier" not in page

            stopped = client.get(f"/exports/{job_id}?auto=0")
            assert "Refresh" not in stopped.headers
            assert "Reprendre l'actualisation automatique" in html_lib.unescape(stopped.text)

            gate.set()
            wait_for_job(job_id)
            done = client.get(f"/exports/{job_id}")
            page = html_lib.unescape(done.text)
            assert "Refresh" not in done.headers
            assert re.search(r'<progress[^>]*max="3" value="3"', page)
            assert f'href="/exports/{job_id}/fichier"' in page
            file = client.get(f"/exports/{job_id}/fichier")
            assert file.data.decode() == expected_lines(3)
    finally:
        gate.set()


def test_a_failed_job_shows_its_message_and_offers_to_start_again(world, log_in, count_kind):
    client = log_in(world.users["finance"])
    with jobs.registered(count_kind(fail_after=1)):
        job_id = _job_id(_start(client, {"kind": NAME, "fiscal_year": "2"}))
        assert wait_for_job(job_id).status == "failed"
        response = client.get(f"/exports/{job_id}")
    page = html_lib.unescape(response.text)
    assert "Refresh" not in response.headers
    assert "Échec" in page and "L'export a échoué" in page and "disque plein" not in page
    assert "/fichier" not in page
    assert _forms(response.text)["Relancer l'export"]["kind"] == NAME
    assert client.get(f"/exports/{job_id}/fichier").status_code == 404


# -- who sees what -----------------------------------------------------------------------

def test_only_the_requester_sees_the_job_and_downloads_the_file(app, world, log_in,
                                                                 count_kind):
    from tests.web.conftest import IsolatedClient, login

    client = log_in(world.users["finance"])
    with jobs.registered(count_kind()):
        job_id = _job_id(_start(client, {"kind": NAME, "fiscal_year": "1"}))
        assert wait_for_job(job_id).status == "done"
        assert client.get(f"/exports/{job_id}/fichier").status_code == 200
        colleague = factories.make_user(["finance"])
        for user in (colleague, world.users["instructor"], world.users["admin"]):
            other = IsolatedClient(app, app.response_class, use_cookies=True)
            assert login(other, user).status_code == 302
            assert other.get(f"/exports/{job_id}").status_code == 404
            assert other.get(f"/exports/{job_id}/fichier").status_code == 404
            assert f"/exports/{job_id}" not in other.get("/exports/").text
        anonymous = IsolatedClient(app, app.response_class, use_cookies=True)
        assert anonymous.get(f"/exports/{job_id}/fichier").status_code == 302


@pytest.mark.parametrize("role", ["applicant", "juror", "admin"])
def test_roles_without_exports_are_refused(world, log_in, role):
    client = log_in(world.users[role])
    assert client.get("/exports/").status_code == 403
    token = csrf_token(client.get("/").text)
    response = client.post("/exports/", data={"csrf_token": token, "kind": "balance_year",
                                              "fiscal_year": "2026"})
    assert response.status_code == 403
    assert db.session.scalars(select(ExportJob)).all() == []


@pytest.mark.parametrize("data, status", [
    ({"kind": "nope", "fiscal_year": "2026"}, 404),
    ({"kind": "balance_year", "fiscal_year": "20x6"}, 422),
    ({"kind": "balance_year", "fiscal_year": "1999"}, 404),  # no call that year
    ({"kind": "balance_year"}, 422),
    ({"kind": "balance_call", "call_id": "999999"}, 404),
    ({"kind": "balance_call", "call_id": "-1"}, 422),
    ({"kind": "scdl_call", "call_id": "9" * 13}, 400),
    ({"kind": "jury_call", "call_id": "CALL"}, 403),  # finance: the jury report is not theirs
    ({"fiscal_year": "2026"}, 400),
    ({"kind": "x" * 41}, 400),
    ({"kind": "balance\x00year", "fiscal_year": "2026"}, 404),
])
def test_bad_input_is_refused_with_a_message_never_a_500(world, log_in, data, status):
    client = log_in(world.users["finance"])
    data = {k: str(world.call.id) if v == "CALL" else v for k, v in data.items()}
    response = _start(client, data)
    assert response.status_code == status, response.text[:300]
    assert "<h1" in response.text
    assert db.session.scalars(select(ExportJob)).all() == []


def test_ids_out_of_range_are_404(world, log_in):
    client = log_in(world.users["finance"])
    assert client.get("/exports/99999999999").status_code == 404
    assert client.get("/exports/0/fichier").status_code == 404


# -- Mes exports -------------------------------------------------------------------------

def test_my_exports_lists_my_jobs_newest_first_in_constant_queries(world, log_in, count_kind):
    client = log_in(world.users["finance"])
    other = factories.make_user(["finance"])
    with jobs.registered(count_kind()):
        mine = [jobs.start(NAME, {"count": n}, world.users["finance"]).id for n in (1, 2)]
        theirs = jobs.start(NAME, {"count": 7}, other).id
        for job_id in (*mine, theirs):
            wait_for_job(job_id)
        balance = jobs.start("balance_call", {"call_id": world.call.id},
                             world.users["finance"]).id
        wait_for_job(balance)
        with count_queries() as few:
            page = html_lib.unescape(client.get("/exports/").text)
        more = [jobs.start(NAME, {"count": n}, world.users["finance"]).id for n in (3, 4, 5)]
        for job_id in more:
            wait_for_job(job_id)
        with count_queries() as many:
            client.get("/exports/")
    assert "Mes exports" in page and "(3)" in page
    assert f"Bilan de l'appel — {world.call.title}" in page
    links = re.findall(r'href="/exports/(\d+)"', page)
    assert links == [str(balance), str(mine[1]), str(mine[0])]
    assert "7 lignes" not in page
    assert page.count("Télécharger") == 3
    assert len(many) == len(few)

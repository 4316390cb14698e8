"""The access matrix with the authority dimension (SPEC 2), web and API.

Every route of the URL map is here: each one is probed as every role (instructor,
finance, juror, manager, admin, applicant), held in an authority that relates to the
object's in each way, and expected what SPEC 2 says, written out below by hand:

- ``own``: the user's authority runs the object; ``child``: the user is in a child of
  that authority; ``parent``: in its parent; ``unrelated``: in another métropole;
  ``platform``: the role is held platform-wide.
- Another authority's objects are 404 to its staff; a parent's staff *read* (GET 200) its
  descendants' objects, and every action on them is 403; the own and the platform-wide
  staff act. Applicants and admins are platform-wide only.
- "Own object" and "foreign object" are the per-object checks SPEC 2 adds: an applicant
  member of the organisation or not, a juror assigned to the application or not.

A route that is not in the table (a route added later) fails
``test_every_route_is_in_the_table`` with its name: add it, with what SPEC says of it.
Routes that take no object id are checked for what they list. The world is built once
for the module. Actions are sent on objects in a state where they would be allowed, with
a body that is invalid on purpose: an allowed caller gets the body's refusal (422), a
refused one 403 or 404, and the database is checked unchanged after each action route.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select, update

from aap.extensions import db
from aap.models import Application, Authority, ExportJob
from aap.services import allocation, attachments, repayments, staff_invitations
from aap.services.calls import set_jury
from tests.api.helpers import ApiClient
from tests.authority_world import bring_to
from tests.conftest import _empty_tables
from tests.factories import (
    make_application,
    make_authority,
    make_call,
    make_fund,
    make_organisation,
    make_user,
)
from tests.web.conftest import IsolatedClient, login

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
OK = "ok"  # the probe's own success status
SKIP = "skip"  # allowed, and the request would change the world: not sent here

# -- the rules of SPEC 2, by hand -------------------------------------------------------------

RELATIONS = ("own", "child", "parent", "unrelated", "platform")
#: Reading an object: the authority's staff, its parents' and the platform-wide ones.
READ = {"own": OK, "child": 404, "parent": OK, "unrelated": 404, "platform": OK}
#: Acting on an object: a parent's staff read it and are refused the action.
ACT = {"own": OK, "child": 404, "parent": 403, "unrelated": 404, "platform": OK}
#: An action that creates or moves something: the allowed cells are not sent.
ACT_UNSENT = {**ACT, "own": SKIP, "platform": SKIP}
READ_UNSENT = {**READ, "own": SKIP, "parent": SKIP, "platform": SKIP}
#: Staff who read the object but whose role never does this (finance firing an
#: instructor's trigger): 403 where they read, 404 where they do not.
SEES_NOT_THEIRS = {"own": 403, "child": 404, "parent": 403, "unrelated": 404,
                   "platform": 403}
#: A manager manages its own authority's team only (not its children's, not a parent's).
MANAGES = {"own": OK, "child": 404, "parent": 404, "unrelated": 404, "platform": 404}
#: The API answers 403 to a manager of another authority (authorities are listed).
MANAGES_API = {"own": OK, "child": 403, "parent": 403, "unrelated": 403, "platform": 403}
#: An export job is its requester's own: nobody else learns it exists.
REQUESTER = {"own": OK, "child": 404, "parent": 404, "unrelated": 404, "platform": 404}
#: Applicants: a member of the organisation, or not (any authority's call: SPEC 2).
MEMBER = {"member": OK, "outsider": 404}
MEMBER_SEES_NOT_THEIRS = {"member": 403, "outsider": 404}
#: Jurors: assigned to the application and not recused, or not.
ASSIGNED = {"assigned": OK, "unassigned": 404}
ASSIGNED_SEES_NOT_THEIRS = {"assigned": 403, "unassigned": 404}


@dataclass(frozen=True)
class Subject:
    """A user probing the matrix: its role, where it holds it relative to the object, its
    tie to the object (applicant, juror), and the authority whose objects it is shown."""

    role: str
    relation: str
    tie: str | None
    email: str
    target: str  # "M" (the métropole's objects) or "C" (its child commune's)

    @property
    def label(self) -> str:
        return "/".join(x for x in (self.role, self.relation, self.tie) if x)


def _subjects() -> list[Subject]:
    out = []
    for role in ("instructor", "finance", "manager"):
        out += [Subject(role, "own", None, f"{role}.m@x.org", "M"),
                Subject(role, "child", None, f"{role}.c@x.org", "M"),
                Subject(role, "parent", None, f"{role}.m@x.org", "C"),
                Subject(role, "unrelated", None, f"{role}.l@x.org", "M"),
                Subject(role, "platform", None, f"{role}.p@x.org", "M")]
    out += [Subject("juror", "own", "assigned", "juror.m@x.org", "M"),
            Subject("juror", "own", "unassigned", "juror.m2@x.org", "M"),
            Subject("juror", "child", "unassigned", "juror.c@x.org", "M"),
            Subject("juror", "parent", "unassigned", "juror.m@x.org", "C"),
            Subject("juror", "unrelated", "unassigned", "juror.l@x.org", "M"),
            Subject("juror", "platform", "assigned", "juror.p@x.org", "M"),
            Subject("juror", "platform", "unassigned", "juror.p2@x.org", "M"),
            Subject("admin", "platform", None, "admin.p@x.org", "M"),
            Subject("applicant", "platform", "member", "porteuse@x.org", "M"),
            Subject("applicant", "platform", "outsider", "autre@x.org", "M")]
    return out


SUBJECTS = _subjects()


@dataclass(frozen=True)
class Probe:
    """One request of the matrix and what each role gets: a rule above (by relation or
    by tie), a status, or ``OK``; roles left out get ``others``."""

    endpoint: str
    method: str
    path: str
    rules: dict[str, Any]
    others: int = 403
    ok: int = 200
    data: dict | None = None  # a web form (the CSRF token is added) or the API's JSON
    multipart: bool = False
    note: str = ""

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def id(self) -> str:
        return f"{self.endpoint} {self.method} {self.path}"

    def expected(self, subject: Subject) -> int | str:
        rule = self.rules.get(subject.role, self.others)
        if isinstance(rule, dict):
            key = subject.tie if subject.tie in rule else subject.relation
            rule = rule[key]
        return self.ok if rule == OK else rule


BAD = {"no_such_field": 1}  # an API body refused by every schema (strict fields)
STAFF_READ = {"instructor": READ, "finance": READ}
DOSSIER_READ = {"instructor": READ, "finance": READ, "admin": OK, "juror": ASSIGNED,
                "applicant": MEMBER}
FINANCE_ACTION = {"finance": ACT, "instructor": SEES_NOT_THEIRS, "admin": 403,
                  "juror": ASSIGNED_SEES_NOT_THEIRS, "applicant": MEMBER_SEES_NOT_THEIRS}
INSTRUCTOR_ACTION = {"instructor": ACT, "finance": SEES_NOT_THEIRS, "admin": 403,
                     "applicant": MEMBER_SEES_NOT_THEIRS}
DRAFT_ONLY_MEMBERS = {"applicant": MEMBER}  # drafts: staff and jurors never see them

P = Probe
PROBES: list[Probe] = [
    # -- the instructor's pages of a call (role_required instructor: others 403) ----------
    P("instructor.call_applications", "GET", "/instruction/appels/{call}",
      {"instructor": READ}),
    P("instructor.bulk_action", "POST", "/instruction/appels/{call}/actions",
      {"instructor": ACT}, ok=422, data={"trigger": "declare_eligible"}),
    P("instructor.clone_call", "GET", "/instruction/appels/{call}/cloner",
      {"instructor": ACT}),
    P("instructor.clone_call", "POST", "/instruction/appels/{call}/cloner",
      {"instructor": ACT}, ok=422, data={"title": ""}),
    P("instructor.edit_call", "GET", "/instruction/appels/{call}/modifier",
      {"instructor": ACT}),
    P("instructor.edit_call", "POST", "/instruction/appels/{call}/modifier",
      {"instructor": ACT}, ok=422, data={"title": ""}),
    P("instructor.call_jury_members", "GET", "/instruction/appels/{call}/composition-du-jury",
      {"instructor": ACT}),
    P("instructor.call_jury_members", "POST",
      "/instruction/appels/{call}/composition-du-jury", {"instructor": ACT}, ok=422,
      data={"juror_ids": "999999"}),
    P("instructor.jury_call", "GET", "/instruction/appels/{call}/jury", {"instructor": READ}),
    P("instructor.jury_report", "GET", "/instruction/appels/{call}/jury.xlsx",
      {"instructor": READ}),
    P("instructor.jury_ranking", "GET", "/instruction/appels/{call}/jury/classement",
      {"instructor": READ}),
    P("instructor.jury_assign", "POST", "/instruction/appels/{call}/jury/attribution",
      {"instructor": ACT}, ok=422, data={"mode": "bogus"}),
    P("instructor.jury_close", "POST", "/instruction/appels/{call}/jury/cloture",
      {"instructor": ACT}, ok=422, data={"force": "y", "reason": ""}),
    P("instructor.jury_conflict", "POST", "/instruction/appels/{call}/jury/conflits",
      {"instructor": ACT}, ok=422, data={}),
    P("instructor.jury_remind", "POST", "/instruction/appels/{call}/jury/relance",
      {"instructor": ACT_UNSENT}, data={}, note="allowed: reminds the late jurors"),
    P("instructor.allocation_runs", "GET", "/instruction/appels/{call}/repartition",
      {"instructor": READ}),
    P("instructor.simulate_allocation", "POST", "/instruction/appels/{call}/repartition",
      {"instructor": ACT}, ok=422, data={"budget": "abc", "seed": "s"}),
    P("instructor.allocation_run", "GET", "/instruction/appels/{call}/repartition/{run}",
      {"instructor": READ}),
    P("instructor.commit_allocation", "POST",
      "/instruction/appels/{call}/repartition/{run}/valider", {"instructor": ACT}, ok=422,
      data={}),
    P("instructor.compare_allocations", "GET",
      "/instruction/appels/{call}/repartition/comparer?a={run}&b={run}",
      {"instructor": READ}),
    P("decisions.deliberation", "GET", "/instruction/appels/{call}/deliberation",
      {"instructor": ACT}),
    P("decisions.deliberation", "POST", "/instruction/appels/{call}/deliberation",
      {"instructor": ACT}, ok=422, data={}),
    P("decisions.annex_file", "GET",
      "/instruction/appels/{call}/deliberations/{reference}/annexe.xlsx", STAFF_READ),
    # -- one application, for whoever may see it (login only: an unseen one is 404) ------
    P("dossier.detail", "GET", "/dossiers/{review}", DOSSIER_READ, others=404),
    P("dossier.detail", "GET", "/dossiers/{draft}", DRAFT_ONLY_MEMBERS, others=404),
    P("dossier.act", "POST", "/dossiers/{submitted}/actions/request_completion",
      INSTRUCTOR_ACTION, others=404, ok=422, data={"comment": ""}),
    P("dossier.act", "POST", "/dossiers/{done}/actions/payment", {
        **FINANCE_ACTION, "instructor": SEES_NOT_THEIRS}, others=404, ok=422,
      data={"amount": "abc"}),
    P("dossier.attachment", "GET", "/dossiers/{review}/pieces/{review_file}", DOSSIER_READ,
      others=404),
    P("dossier.claim_repayment", "POST", "/dossiers/{done}/reversements", FINANCE_ACTION,
      others=404, ok=422, data={}),
    P("dossier.repayment_received", "POST",
      "/dossiers/{done}/reversements/{repayment}/encaissement", FINANCE_ACTION, others=404,
      ok=422, data={"received-{repayment}-received_on": "hier"}),
    P("decisions.convention", "GET", "/dossiers/{done}/convention.pdf", {
        **STAFF_READ, "admin": 403, "juror": ASSIGNED_SEES_NOT_THEIRS, "applicant": MEMBER},
      others=404),
    # -- the juror's pages: its assignments only (role_required juror) ------------------
    P("jury.review", "GET", "/jury/dossiers/{review}", {"juror": ASSIGNED}),
    P("jury.review", "POST", "/jury/dossiers/{review}", {"juror": ASSIGNED}, ok=422,
      data={"score_pertinence": "99", "action": "draft"}),
    P("jury.confirm", "GET", "/jury/dossiers/{review}/transmettre", {"juror": ASSIGNED},
      ok=302, note="no score yet: back to the grid"),
    P("jury.confirm", "POST", "/jury/dossiers/{review}/transmettre", {"juror": ASSIGNED},
      ok=302, data={}, note="no score yet: back to the grid"),
    P("jury.conflict", "GET", "/jury/dossiers/{review}/conflit", {"juror": ASSIGNED}),
    P("jury.conflict", "POST", "/jury/dossiers/{review}/conflit",
      {"juror": {**ASSIGNED, "assigned": SKIP}}, data={},
      note="allowed: recuses the juror (the reason is optional)"),
    P("jury.attachment", "GET", "/jury/dossiers/{review}/pieces/{review_file}",
      {"juror": ASSIGNED}),
    # -- the applicant's pages: any authority's call, its organisation's files -----------
    P("applicant.start", "GET", "/porteur/appels/{call}/nouveau-dossier",
      {"applicant": OK}),
    P("applicant.start", "POST", "/porteur/appels/{call}/nouveau-dossier",
      {"applicant": OK}, ok=422, data={"organisation_id": "0"}),
    P("applicant.detail", "GET", "/porteur/dossiers/{review}", {"applicant": MEMBER}),
    P("applicant.acknowledgement", "GET", "/porteur/dossiers/{review}/accuse-de-reception",
      {"applicant": MEMBER}),
    P("applicant.edit", "GET", "/porteur/dossiers/{draft}/modifier", {"applicant": MEMBER}),
    P("applicant.edit", "POST", "/porteur/dossiers/{draft}/modifier",
      {"applicant": {"member": SKIP, "outsider": 404}}, data={},
      note="allowed: saves the draft"),
    P("applicant.download", "GET", "/porteur/dossiers/{draft}/pieces/{draft_file}",
      {"applicant": MEMBER}),
    P("applicant.withdraw", "GET", "/porteur/dossiers/{submitted}/retirer",
      {"applicant": MEMBER}),
    P("applicant.withdraw", "POST", "/porteur/dossiers/{submitted}/retirer",
      {"applicant": {"member": SKIP, "outsider": 404}}, data={},
      note="allowed: withdraws the file"),
    P("applicant.report", "GET", "/porteur/dossiers/{done}/compte-rendu",
      {"applicant": MEMBER}),
    P("applicant.report", "POST", "/porteur/dossiers/{done}/compte-rendu",
      {"applicant": {"member": SKIP, "outsider": 404}}, data={},
      note="allowed: records the report"),
    # -- dashboards and exports: finance and instructors read (may_export: others 403) ---
    P("dashboards.call", "GET", "/tableaux-de-bord/appels/{call}", STAFF_READ),
    P("dashboards.call_workbook", "GET", "/tableaux-de-bord/appels/{call}/indicateurs.xlsx",
      STAFF_READ),
    P("dashboards.authority", "GET", "/tableaux-de-bord/collectivites/{authority}",
      STAFF_READ, note="consolidated for the parent"),
    P("dashboards.authority_workbook", "GET",
      "/tableaux-de-bord/collectivites/{authority}/indicateurs.xlsx", STAFF_READ),
    P("exports.start", "POST", "/exports/", {"instructor": READ_UNSENT,
                                             "finance": READ_UNSENT},
      data={"kind": "balance_call", "call_id": "{call}"}, note="allowed: queues a job"),
    P("exports.job", "GET", "/exports/{job}", {"finance": REQUESTER}, others=404),
    P("exports.download", "GET", "/exports/{job}/fichier", {}, others=404,
      note="the world's job has no file: 404 to all; its owner's download is "
           "tests/web/test_export_jobs.py's"),
    # -- an authority's team: its managers and the admins ---------------------------------
    P("manager.team", "GET", "/collectivites/{authority}/equipe",
      {"manager": MANAGES, "admin": OK}),
    P("manager.team", "POST", "/collectivites/{authority}/equipe",
      {"manager": MANAGES, "admin": OK}, ok=422, data={"add-email": ""}),
    P("manager.member_roles", "POST", "/collectivites/{authority}/equipe/{member}",
      {"manager": MANAGES, "admin": OK}, ok=302, data={"member-{member}-roles": "bogus"},
      note="allowed: the unknown role is refused, flashed, nothing changes"),
    P("manager.cancel_invitation", "POST",
      "/collectivites/{authority}/invitations/{invitation}/annuler",
      {"manager": {**MANAGES, "own": SKIP}, "admin": SKIP}, data={},
      note="allowed: cancels the invitation"),
    P("admin.edit_authority", "GET", "/admin/collectivites/{authority}/modifier",
      {"admin": OK}),
    P("admin.edit_authority", "POST", "/admin/collectivites/{authority}/modifier",
      {"admin": OK}, ok=422, data={"name": ""}),
    # -- API: calls, juries, allocation runs, deliberations -------------------------------
    P("api_calls.get_call", "GET", "/api/v1/calls/{call}", {
        "instructor": READ, "finance": READ, "juror": READ, "manager": READ, "admin": OK,
        "applicant": OK}),
    P("api_calls.put_jury", "PUT", "/api/v1/calls/{call}/jury", {"instructor": ACT},
      ok=422, data=BAD),
    P("api_allocations.create_run", "POST", "/api/v1/calls/{call}/allocations",
      {"instructor": ACT}, ok=422, data=BAD),
    P("api_allocations.list_runs", "GET", "/api/v1/calls/{call}/allocations",
      {"instructor": READ}),
    P("api_allocations.get_run", "GET", "/api/v1/allocations/{run}", {"instructor": READ}),
    P("api_allocations.commit_run", "POST", "/api/v1/allocations/{run}/commit",
      {"instructor": ACT_UNSENT}, note="allowed: commits the run"),
    P("api_allocations.compare_runs", "GET", "/api/v1/allocations/{run}/compare/{run}",
      {"instructor": READ}),
    P("api_jury.assign", "POST", "/api/v1/calls/{call}/assignments", {"instructor": ACT},
      ok=422, data=BAD),
    P("api_jury.progress", "GET", "/api/v1/calls/{call}/assignments", {"instructor": READ}),
    P("api_jury.record_conflict", "POST", "/api/v1/applications/{review}/conflicts", {
        **INSTRUCTOR_ACTION, "juror": ASSIGNED_SEES_NOT_THEIRS}, others=404, ok=422,
      data=BAD),
    P("api_deliberations.create_deliberation", "POST", "/api/v1/calls/{call}/deliberations",
      {"instructor": ACT}, ok=422, data=BAD),
    P("api_deliberations.deliberation_annex", "GET",
      "/api/v1/calls/{call}/deliberations/{reference}/annex.xlsx", STAFF_READ),
    P("api_deliberations.convention", "GET", "/api/v1/applications/{done}/convention.pdf", {
        **STAFF_READ, "admin": 403, "juror": ASSIGNED_SEES_NOT_THEIRS, "applicant": MEMBER},
      others=404),
    # -- API: applications ----------------------------------------------------------------
    P("api_applications.create_application", "POST", "/api/v1/applications",
      {"applicant": OK}, ok=422, data=BAD),
    P("api_applications.get_application", "GET", "/api/v1/applications/{review}",
      DOSSIER_READ, others=404),
    P("api_applications.get_application", "GET", "/api/v1/applications/{draft}",
      DRAFT_ONLY_MEMBERS, others=404),
    P("api_applications.patch_application", "PATCH", "/api/v1/applications/{draft}",
      DRAFT_ONLY_MEMBERS, others=404, ok=422, data=BAD),
    P("api_applications.fire_transition", "POST",
      "/api/v1/applications/{submitted}/transitions/request_completion", INSTRUCTOR_ACTION,
      others=404, ok=422, data=BAD),
    P("api_applications.create_payment", "POST", "/api/v1/applications/{done}/payments",
      FINANCE_ACTION, others=404, ok=422, data=BAD),
    P("api_applications.submit_report", "POST", "/api/v1/applications/{done}/report", {
        "applicant": MEMBER, "instructor": SEES_NOT_THEIRS, "finance": SEES_NOT_THEIRS,
        "admin": 403, "juror": ASSIGNED_SEES_NOT_THEIRS}, others=404, ok=422, data=BAD),
    P("api_applications.put_review", "PUT", "/api/v1/applications/{review}/review", {
        "juror": ASSIGNED, "instructor": SEES_NOT_THEIRS, "finance": SEES_NOT_THEIRS,
        "admin": 403, "applicant": MEMBER_SEES_NOT_THEIRS}, others=404, ok=422, data=BAD),
    P("api_applications.list_reviews", "GET", "/api/v1/applications/{review}/reviews", {
        "instructor": READ, "juror": ASSIGNED, "finance": SEES_NOT_THEIRS, "admin": 403,
        "applicant": MEMBER_SEES_NOT_THEIRS}, others=404),
    P("api_attachments.upload_attachment", "POST",
      "/api/v1/applications/{draft}/attachments", DRAFT_ONLY_MEMBERS, others=404, ok=422,
      data={"kind": "bogus"}, multipart=True),
    P("api_attachments.download_attachment", "GET",
      "/api/v1/applications/{review}/attachments/{review_file}", DOSSIER_READ, others=404),
    P("api_attachments.delete_attachment", "DELETE",
      "/api/v1/applications/{draft}/attachments/{draft_file}",
      {"applicant": {"member": SKIP, "outsider": 404}}, others=404,
      note="allowed: removes the file"),
    P("api_repayments.claim_repayment", "POST", "/api/v1/applications/{done}/repayments",
      FINANCE_ACTION, others=404, ok=422, data=BAD),
    P("api_repayments.repayment_received", "POST",
      "/api/v1/applications/{done}/repayments/{repayment}/received", FINANCE_ACTION,
      others=404, ok=422, data=BAD),
    # -- API: exports of a call -----------------------------------------------------------
    P("api_exports.balance_of_call", "GET", "/api/v1/calls/{call}/exports/balance.xlsx",
      STAFF_READ),
    P("api_exports.jury_report", "GET", "/api/v1/calls/{call}/exports/jury.xlsx",
      {"instructor": READ}),
    P("api_open_data.scdl_csv", "GET", "/api/v1/calls/{call}/exports/scdl.csv", STAFF_READ),
    # -- API: authorities -----------------------------------------------------------------
    P("api_authorities.put_member_roles", "PUT",
      "/api/v1/authorities/{authority}/members/{member}",
      {"manager": MANAGES_API, "admin": OK}, ok=422, data=BAD),
    P("api_consolidation.authority_budget", "GET",
      "/api/v1/authorities/{authority}/budget?fiscal_year=2026", {
          "instructor": READ, "finance": READ, "juror": READ, "manager": READ, "admin": OK}),
]

#: Routes with no object id: what they list is checked below (the test named).
LISTS = {
    ("instructor.home", "GET"): "test_instructor_home_lists_the_calls_read",
    ("finance.home", "GET"): "test_finance_home_lists_the_calls_read",
    ("jury.home", "GET"): "test_jury_home_lists_the_assignments",
    ("applicant.home", "GET"): "test_applicant_home_lists_every_authoritys_files",
    ("dashboards.year", "GET"): "test_dashboards_list_the_calls_read",
    ("dashboards.year_workbook", "GET"): "test_dashboards_list_the_calls_read",
    ("exports.mine", "GET"): "test_exports_list_is_for_exporters",
    ("manager.home", "GET"): "test_manager_home_goes_to_the_managed_team",
    ("instructor.new_call", "GET"): "test_new_call_offers_the_funds_acted_on",
    ("instructor.new_call", "POST"): "test_new_call_refuses_a_fund_not_acted_on",
    ("instructor.new_fund", "GET"): "test_new_fund_offers_the_authorities_acted_in",
    ("instructor.new_fund", "POST"): "test_new_fund_refuses_an_authority_not_acted_in",
    ("api_calls.list_calls", "GET"): "test_api_call_list",
    ("api_calls.create_call", "POST"): "test_api_new_call_refuses_a_fund_not_acted_on",
    ("api_funds.create_fund", "POST"): "test_api_new_fund_refuses_an_authority_not_acted_in",
    ("api_applications.list_applications", "GET"): "test_api_application_list",
    ("api_exports.balance_of_year", "GET"): "test_api_year_workbook_is_for_exporters",
    ("api_authorities.list_authorities", "GET"): "test_api_authority_list_is_for_staff",
    ("api_authorities.create_authority", "POST"): "test_admin_only_routes",
    ("admin.home", "GET"): "test_admin_only_routes",
    ("admin.authorities_list", "GET"): "test_admin_only_routes",
    ("admin.new_authority", "GET"): "test_admin_only_routes",
    ("admin.new_authority", "POST"): "test_admin_only_routes",
}

#: Routes outside the authority dimension, and why.
NOT_AUTHORITY = {
    **{(e, m): "public, or the user's own session" for e, m in (
        ("public.index", "GET"), ("public.accessibility", "GET"), ("public.login", "GET"),
        ("public.login", "POST"), ("public.logout", "POST"), ("public.register", "GET"),
        ("public.register", "POST"), ("public.forgot_password", "GET"),
        ("public.forgot_password", "POST"), ("public.reset_password", "GET"),
        ("public.reset_password", "POST"), ("public.language", "GET"),
        ("public.dashboard", "GET"), ("public.invitation", "GET"),
        ("public.invitation", "POST"), ("manager.accept", "GET"), ("manager.accept", "POST"),
        ("favicon", "GET"), ("static", "GET"), ("health", "GET"), ("ready", "GET"),
        ("api_auth.token", "POST"), ("api_auth.register", "POST"),
        ("api_vocabularies.list_vocabularies", "GET"), ("api-docs.openapi_json", "GET"))},
    **{(e, m): "the signed-in user's own account, data and API tokens (docs/rgpd.md); "
               "tests/web/test_account_rights.py, tests/api/test_me.py, "
               "tests/api/test_tokens.py" for e, m in (
        ("account.home", "GET"), ("account.export", "GET"), ("account.tokens", "GET"),
        ("account.tokens", "POST"), ("account.revoke", "POST"), ("account.delete", "GET"),
        ("account.delete", "POST"), ("api_auth.list_tokens", "GET"),
        ("api_auth.revoke_token", "DELETE"), ("api_me.export_me", "GET"),
        ("api_me.delete_me", "DELETE"))},
    **{(e, m): "the signed-in user's own password; tests/web/test_change_password.py, "
               "tests/api/test_change_password.py" for e, m in (
        ("account.password", "GET"), ("account.password", "POST"),
        ("api_me.change_my_password", "PUT"))},
    **{(e, m): "published open data of every authority (SPEC 6), anonymous" for e, m in (
        ("public.open_data_page", "GET"), ("public.open_data_csv", "GET"))},
    **{(e, m): "an organisation is the applicants' own, platform-wide (SPEC 2); "
               "tests/web/test_applicant_organisations.py, tests/api/test_join_requests.py"
       for e, m in (
           ("applicant.organisation_new", "GET"), ("applicant.organisation_new", "POST"),
           ("applicant.organisation", "GET"), ("applicant.organisation", "POST"),
           ("applicant.join_request", "POST"), ("applicant.invite", "POST"),
           ("applicant.decide_join_request", "POST"),
           ("api_organisations.create_organisation", "POST"),
           ("api_organisations.request_to_join", "POST"),
           ("api_organisations.list_join_requests", "GET"),
           ("api_organisations.accept_join_request", "POST"),
           ("api_organisations.decline_join_request", "POST"))},
}


def _routes(app) -> set[tuple[str, str]]:
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_is_in_the_table(app):
    covered = {(p.endpoint, p.method) for p in PROBES} | set(LISTS) | set(NOT_AUTHORITY)
    missing = sorted(_routes(app) - covered)
    assert not missing, (
        "routes missing from the authority matrix (tests/web/test_authority_matrix.py): "
        + ", ".join(f"{m} {e}" for e, m in missing))
    gone = sorted(covered - _routes(app))
    assert not gone, f"routes in the matrix that no longer exist: {gone}"


# -- the world, built once for the module ------------------------------------------------------

NAMES = {"M": "Levant", "C": "Collines", "L": "Couchant", "P": "Plateforme"}
REFERENCE = "DEL-2026-117"  # tests.factories.trigger_data's deliberation


@dataclass
class World:
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # by place
    users: dict[str, Any] = field(default_factory=dict)  # by e-mail
    web: dict[str, tuple[IsolatedClient, str]] = field(default_factory=dict)
    api: ApiClient | None = None

    def fill(self, path: str, target: str) -> str:
        return path.format(**self.objects[target])

    def web_client(self, app, email: str) -> tuple[IsolatedClient, str]:
        """A client logged in as ``email`` through the form, and its CSRF token."""
        if email not in self.web:
            client = IsolatedClient(app, app.response_class, use_cookies=True)
            assert login(client, email).status_code == 302
            page = client.get("/porteur/organisations/nouvelle") \
                if self.users[email].has_role("applicant") else client.get("/espace",
                                                                           follow_redirects=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
            assert token, f"no CSRF token for {email}"
            self.web[email] = (client, token.group(1))
        return self.web[email]


def _staff(places: dict[str, Authority | None]) -> dict[str, Any]:
    users = {f"{role}.{p.lower()}@x.org": make_user([role], email=f"{role}.{p.lower()}@x.org",
                                                    authority=places[p])
             for role in ("instructor", "finance", "juror", "manager") for p in places}
    users["juror.m2@x.org"] = make_user(["juror"], email="juror.m2@x.org",
                                        authority=places["M"])
    users["juror.p2@x.org"] = make_user(["juror"], email="juror.p2@x.org")
    users["admin.p@x.org"] = make_user(["admin"], email="admin.p@x.org")
    return users


def _attached(application: Application, applicant) -> int:
    return attachments.add_attachment(applicant, application.id, "statutes",
                                      attachments.Upload("statuts.pdf", io.BytesIO(PDF))).id


def _objects_of(place: str, authority: Authority, users: dict, org, applicant) -> dict:
    """A fund and a call of the authority, with files in the states the probes need."""
    name, key = NAMES[place], place.lower()
    call = make_call(make_fund(authority_id=authority.id, name=f"Fonds {name}"),
                     title=f"Appel {name}")
    set_jury(call, [users[f"juror.{key}@x.org"].id]
             + ([users["juror.p@x.org"].id] if place == "M" else []))
    actors = {"instructor": users[f"instructor.{key}@x.org"],
              "finance": users[f"finance.{key}@x.org"], "applicant": applicant}
    draft = make_application(call, org, title=f"Brouillon {name}")
    review = make_application(call, org, title=f"Évaluation {name}")
    review_file = _attached(review, applicant)
    out = {"call": call.id, "fund": call.fund_id, "authority": authority.id,
           "reference": REFERENCE, "draft": draft.id, "draft_file": _attached(draft, applicant),
           "submitted": bring_to(make_application(call, org, title=f"Dépôt {name}"),
                                 "submitted", actors).id,
           "review": bring_to(review, "in_review", actors).id, "review_file": review_file}
    done = bring_to(make_application(call, org, title=f"Financé {name}"), "report_approved",
                    actors)
    out["done"] = done.id
    out["repayment"] = repayments.claim(done, actors["finance"], {
        "amount_cents": 100_00, "reason": "Dépense non justifiée", "reference": "TR-1"}).id
    out["run"] = allocation.simulate(call, actors["instructor"], seed="s").id
    job = ExportJob(kind="balance_call", parameters={"call_id": call.id}, status="done",
                    requested_by_id=actors["finance"].id, progress_done=1)
    db.session.add(job)
    db.session.commit()
    out["job"] = job.id
    out["member"] = users[f"instructor.{key}@x.org"].id
    out["invitation"] = staff_invitations.invite(
        users[f"manager.{key}@x.org"], authority.id, f"recrue.{key}@x.org", ["juror"],
        lambda token: f"/invitation-equipe/{token}").id
    return out


def _platform_objects(users: dict, org, applicant) -> dict:
    """A call of a fund of no authority (platform-wide), with a submitted file."""
    call = make_call(make_fund(name="Fonds Plateforme"), title="Appel Plateforme")
    actors = {"instructor": users["instructor.p@x.org"], "applicant": applicant}
    submitted = bring_to(make_application(call, org, title="Dépôt Plateforme"), "submitted",
                         actors)
    return {"call": call.id, "fund": call.fund_id, "submitted": submitted.id}


@pytest.fixture(scope="module")
def world(app):
    with app.app_context():
        metropole = make_authority("Métropole du Levant", kind="metropole")
        places = {"M": metropole,
                  "C": make_authority("Commune des Collines", parent=metropole),
                  "L": make_authority("Métropole du Couchant", kind="metropole"), "P": None}
        users = _staff(places)
        applicant = make_user(["applicant"], email="porteuse@x.org")
        users["porteuse@x.org"] = applicant
        users["autre@x.org"] = make_user(["applicant"], email="autre@x.org")
        make_organisation([users["autre@x.org"]])
        org = make_organisation([applicant])
        built = World(users=users)
        for place in ("M", "C", "L"):
            built.objects[place] = _objects_of(place, places[place], users, org, applicant)
        built.objects["P"] = _platform_objects(users, org, applicant)
        db.session.commit()
        built.api = ApiClient(IsolatedClient(app, app.response_class))
        yield built
        db.session.rollback()
        db.session.execute(update(Authority).values(parent_id=None))
        db.session.commit()
        _empty_tables()
        db.session.remove()


# -- the probes ---------------------------------------------------------------------------------

def _fingerprint() -> dict[str, list]:
    """Every row of every table (the world is small), but the logins' own bookkeeping:
    compared before and after the action routes' requests."""
    db.session.rollback()  # a fresh snapshot
    return {table.name: sorted(map(tuple, db.session.execute(select(table)).all()), key=repr)
            for table in db.metadata.sorted_tables if table.name not in QUIET_TABLES}


#: What a request writes whatever it asks: bearer tokens, the last login.
QUIET_TABLES = {"api_token", "user_account"}


def _send(world: World, app, probe: Probe, subject: Subject):
    user = world.users[subject.email]
    path = world.fill(probe.path, subject.target)
    if probe.api:
        data = probe.data
        if probe.multipart:
            return world.api.request(probe.method, path, as_=user, data=data,
                                     content_type="multipart/form-data")
        return world.api.request(probe.method, path, as_=user, json=data)
    client, token = world.web_client(app, subject.email)
    if probe.method == "GET":
        return client.get(path)
    form = {world.fill(k, subject.target): world.fill(v, subject.target)
            for k, v in (probe.data or {}).items()}
    return client.open(path, method=probe.method, data={**form, "csrf_token": token})


@pytest.mark.parametrize("probe", PROBES, ids=[p.id for p in PROBES])
def test_the_matrix(app, world, probe):
    before = _fingerprint() if probe.method != "GET" else None
    wrong = []
    for subject in SUBJECTS:
        expected = probe.expected(subject)
        if expected == SKIP:
            continue
        response = _send(world, app, probe, subject)
        if response.status_code != expected:
            wrong.append(f"{subject.label} on {subject.target}: expected {expected}, "
                         f"got {response.status_code}")
    assert not wrong, f"{probe.id}:\n  " + "\n  ".join(wrong)
    if before is not None:
        after = _fingerprint()
        changed = [name for name in before if before[name] != after[name]]
        assert not changed, f"{probe.id} changed the database: {changed}"


# -- what the routes without an object id list ----------------------------------------------------

#: The calls a user holding a staff role in a place reads (SPEC 2: its authority's and
#: its descendants'; all when platform-wide), by the place's name, by hand.
READS = {"m": {"Levant", "Collines"}, "c": {"Collines"}, "l": {"Couchant"},
         "p": {"Levant", "Collines", "Couchant"}}
PLACE_NAMES = {"Levant", "Collines", "Couchant"}


def _shown(page_text: str, prefix: str) -> set[str]:
    return {name for name in PLACE_NAMES if f"{prefix} {name}" in page_text}


def _get(world: World, app, email: str, path: str):
    return world.web_client(app, email)[0].get(path)


def _refused_to_others(world, app, path: str, allowed: set[str], status: int = 403) -> None:
    others = [e for e in ("instructor.m@x.org", "finance.m@x.org", "juror.m@x.org",
                          "manager.m@x.org", "admin.p@x.org", "porteuse@x.org")
              if e.split(".")[0].split("@")[0] not in allowed]
    assert {e: _get(world, app, e, path).status_code for e in others} == \
        {e: status for e in others}


@pytest.mark.parametrize("place", sorted(READS))
def test_instructor_home_lists_the_calls_read(app, world, place):
    page = _get(world, app, f"instructor.{place}@x.org", "/instruction/")
    assert page.status_code == 200
    assert _shown(page.text, "Appel") == READS[place]


def test_instructor_home_is_the_instructors(app, world):
    _refused_to_others(world, app, "/instruction/", {"instructor"})


@pytest.mark.parametrize("place", sorted(READS))
def test_finance_home_lists_the_calls_read(app, world, place):
    page = _get(world, app, f"finance.{place}@x.org", "/finances/")
    assert page.status_code == 200
    assert _shown(page.text, "Appel") == READS[place]
    _refused_to_others(world, app, "/finances/", {"finance"})


@pytest.mark.parametrize(("juror", "assigned"), [
    ("juror.m", {"Levant"}), ("juror.c", {"Collines"}), ("juror.l", {"Couchant"}),
    ("juror.p", {"Levant"}), ("juror.m2", set()), ("juror.p2", set())])
def test_jury_home_lists_the_assignments(app, world, juror, assigned):
    page = _get(world, app, f"{juror}@x.org", "/jury/")
    assert page.status_code == 200
    assert _shown(page.text, "Évaluation") == assigned


def test_applicant_home_lists_every_authoritys_files(app, world):
    """Applicants are platform-wide: one account files with every authority."""
    pages = [_get(world, app, "porteuse@x.org", f"/porteur/?page={n}") for n in (1, 2)]
    assert [p.status_code for p in pages] == [200, 200]
    assert _shown(" ".join(p.text for p in pages), "Brouillon") == PLACE_NAMES
    assert _shown(_get(world, app, "autre@x.org", "/porteur/").text, "Brouillon") == set()
    _refused_to_others(world, app, "/porteur/", {"porteuse"})


@pytest.mark.parametrize("place", sorted(READS))
def test_dashboards_list_the_calls_read(app, world, place):
    for role in ("instructor", "finance"):
        page = _get(world, app, f"{role}.{place}@x.org", "/tableaux-de-bord/?exercice=2026")
        assert page.status_code == 200
        assert _shown(page.text, "Appel") == READS[place]
        workbook = _get(world, app, f"{role}.{place}@x.org",
                        "/tableaux-de-bord/indicateurs.xlsx?exercice=2026")
        assert workbook.status_code == 200
    for path in ("/tableaux-de-bord/", "/tableaux-de-bord/indicateurs.xlsx"):
        _refused_to_others(world, app, path, {"instructor", "finance"})


def test_exports_list_is_for_exporters(app, world):
    for email in ("instructor.c@x.org", "finance.l@x.org", "finance.p@x.org"):
        assert _get(world, app, email, "/exports/").status_code == 200
    _refused_to_others(world, app, "/exports/", {"instructor", "finance"})


def test_manager_home_goes_to_the_managed_team(app, world):
    """A manager manages its own authority only; a platform-wide manager none (the
    admins manage them all)."""
    for place in ("M", "C", "L"):
        page = _get(world, app, f"manager.{place.lower()}@x.org", "/equipes")
        assert page.status_code == 302
        assert page.headers["Location"].endswith(
            f"/collectivites/{world.objects[place]['authority']}/equipe")
    assert _get(world, app, "manager.p@x.org", "/equipes").status_code == 200
    assert _get(world, app, "admin.p@x.org", "/equipes").headers["Location"].endswith(
        "/admin/collectivites")
    for email in ("instructor.m@x.org", "finance.m@x.org", "juror.m@x.org",
                  "porteuse@x.org"):
        assert _get(world, app, email, "/equipes").status_code == 403


#: The funds an instructor creates calls in: its authorities' own (a parent only reads
#: its children's), every fund when platform-wide.
ACTS_IN = {"m": {"Levant"}, "c": {"Collines"}, "l": {"Couchant"},
           "p": {"Levant", "Collines", "Couchant"}}


@pytest.mark.parametrize("place", sorted(ACTS_IN))
def test_new_call_offers_the_funds_acted_on(app, world, place):
    page = _get(world, app, f"instructor.{place}@x.org", "/instruction/appels/nouveau")
    assert page.status_code == 200
    assert _shown(page.text, "Fonds") == ACTS_IN[place]


@pytest.mark.parametrize("place", sorted(ACTS_IN))
def test_new_fund_offers_the_authorities_acted_in(app, world, place):
    page = _get(world, app, f"instructor.{place}@x.org", "/instruction/dispositifs/nouveau")
    assert page.status_code == 200
    offered = {n for n in PLACE_NAMES if f">Métropole du {n}<" in page.text
               or f">Commune des {n}<" in page.text}
    assert offered == ACTS_IN[place]
    assert ("Toute la plateforme" in page.text) == (place == "p")


def _post_form(world, app, email: str, path: str, data: dict):
    client, token = world.web_client(app, email)
    return client.post(path, data={**data, "csrf_token": token})


# (the instructor's place, the fund's or the authority's place, the refusal), by hand
BODY_REFERENCES = [("m", "C", 403), ("m", "L", 404), ("c", "M", 404), ("l", "M", 404)]


@pytest.mark.parametrize(("place", "target", "status"), BODY_REFERENCES)
def test_new_call_refuses_a_fund_not_acted_on(app, world, place, target, status):
    """The page offers no such fund: the choice is refused on the form (422)."""
    before = _fingerprint()
    page = _post_form(world, app, f"instructor.{place}@x.org", "/instruction/appels/nouveau",
                      {"fund_id": str(world.objects[target]["fund"]), "title": "Appel pirate"})
    assert page.status_code == 422
    assert 'id="fund_id-error"' in page.text or "fund_id" in page.text
    assert _fingerprint() == before


@pytest.mark.parametrize(("place", "target", "status"), BODY_REFERENCES)
def test_new_fund_refuses_an_authority_not_acted_in(app, world, place, target, status):
    """A fund goes in an authority its instructor acts in: any other is refused (403),
    a child's included (its parent only reads it)."""
    before = _fingerprint()
    page = _post_form(world, app, f"instructor.{place}@x.org",
                      "/instruction/dispositifs/nouveau", {
                          "authority_id": str(world.objects[target]["authority"]),
                          "name": "Fonds pirate", "owner_name": "Pirate",
                          "owner_siret": "73282932000074", "owner_product_line": "74_epci"})
    assert page.status_code == 403
    assert _fingerprint() == before


EVERY_CALL = {*PLACE_NAMES, "Plateforme"}  # the platform-wide fund's call too
SEES = {  # GET /api/v1/calls: who sees which calls (SPEC 2 and 7.1), by hand
    "instructor.m": READS["m"], "instructor.c": READS["c"], "instructor.l": READS["l"],
    "instructor.p": EVERY_CALL, "finance.m": READS["m"], "finance.l": READS["l"],
    "manager.c": READS["c"], "manager.p": EVERY_CALL, "juror.m": READS["m"],
    "juror.m2": READS["m"], "juror.c": READS["c"], "juror.p2": EVERY_CALL,
    "admin.p": EVERY_CALL, "porteuse": EVERY_CALL, "autre": EVERY_CALL}


@pytest.mark.parametrize("who", sorted(SEES))
def test_api_call_list(world, who):
    body = world.api.get("/calls?per_page=100", as_=world.users[f"{who}@x.org"]).get_json()
    listed = {item["title"].removeprefix("Appel ") for item in body["items"]}
    assert listed == SEES[who]
    assert body["total"] == len(SEES[who])


def _call_body(fund_id: int) -> dict:
    return {"fund_id": fund_id, "title": "Appel pirate", "fiscal_year": 2027,
            "opens_at": "2027-01-10T09:00:00+01:00", "closes_at": "2027-03-10T12:00:00+01:00",
            "budget_cents": 10_000_00}


@pytest.mark.parametrize(("place", "target", "status"), BODY_REFERENCES)
def test_api_new_call_refuses_a_fund_not_acted_on(world, place, target, status):
    """Another authority's fund is unknown to the caller (422 on ``fund_id``, as any
    unknown fund); a child's fund is read, and refused (403)."""
    before = _fingerprint()
    response = world.api.post("/calls", as_=world.users[f"instructor.{place}@x.org"],
                              json=_call_body(world.objects[target]["fund"]))
    assert response.status_code == (403 if status == 403 else 422), response.get_json()
    if status != 403:
        assert response.get_json()["error"]["fields"]["fund_id"] == ["Dispositif inconnu."]
    assert _fingerprint() == before


def test_api_new_call_in_the_own_fund(world):
    """The own authority's instructor creates its call (then it is removed again)."""
    from aap.models import Call

    response = world.api.post("/calls", as_=world.users["instructor.c@x.org"],
                              json=_call_body(world.objects["C"]["fund"]))
    assert response.status_code == 201, response.get_json()
    db.session.rollback()
    db.session.delete(db.session.get(Call, response.get_json()["id"]))
    db.session.commit()


@pytest.mark.parametrize(("place", "target", "status"), BODY_REFERENCES)
def test_api_new_fund_refuses_an_authority_not_acted_in(world, place, target, status):
    before = _fingerprint()
    response = world.api.post("/funds", as_=world.users[f"instructor.{place}@x.org"], json={
        "authority_id": world.objects[target]["authority"], "name": "Fonds pirate",
        "owner_name": "Pirate", "owner_siret": "73282932000074",
        "imputation": {"chapter": "65", "nature": "65748", "function": "", "subpolicy": ""}})
    assert response.status_code == 403, response.get_json()
    assert _fingerprint() == before


LISTED = {  # GET /api/v1/applications: which calls' files each one lists, by hand
    "instructor.m": READS["m"], "instructor.c": READS["c"], "instructor.p": EVERY_CALL,
    "finance.l": READS["l"], "admin.p": EVERY_CALL, "juror.m": {"Levant"},
    "juror.c": {"Collines"}, "juror.m2": set(), "manager.m": set(),
    "porteuse": EVERY_CALL, "autre": set()}


@pytest.mark.parametrize("who", sorted(LISTED))
def test_api_application_list(world, who):
    body = world.api.get("/applications?per_page=100",
                         as_=world.users[f"{who}@x.org"]).get_json()
    calls = {world_place for item in body["items"] for world_place, objects
             in world.objects.items() if objects["call"] == item["call_id"]}
    assert {NAMES[p] for p in calls} == LISTED[who]
    drafts = [i for i in body["items"] if i["state"] == "draft"]
    assert bool(drafts) == (who == "porteuse")  # drafts are their organisation's only


def test_api_year_workbook_is_for_exporters(world):
    for who, status in (("instructor.c", 200), ("finance.l", 200), ("finance.p", 200),
                        ("juror.m", 403), ("manager.m", 403), ("admin.p", 403),
                        ("porteuse", 403)):
        response = world.api.get("/exports/balance.xlsx?fiscal_year=2026",
                                 as_=world.users[f"{who}@x.org"])
        assert response.status_code == status, who


def test_api_authority_list_is_for_staff(world):
    for who, status in (("instructor.c", 200), ("finance.l", 200), ("juror.m2", 200),
                        ("manager.p", 200), ("admin.p", 200), ("porteuse", 403)):
        assert world.api.get("/authorities", as_=world.users[f"{who}@x.org"]).status_code \
            == status, who


def test_admin_only_routes(app, world):
    for path in ("/admin/", "/admin/collectivites", "/admin/collectivites/nouvelle"):
        assert _get(world, app, "admin.p@x.org", path).status_code == 200
        _refused_to_others(world, app, path, {"admin"})
    before = _fingerprint()
    assert _post_form(world, app, "admin.p@x.org", "/admin/collectivites/nouvelle",
                      {"name": ""}).status_code == 422
    for email in ("manager.m@x.org", "instructor.p@x.org"):
        assert _post_form(world, app, email, "/admin/collectivites/nouvelle",
                          {"name": ""}).status_code == 403
    for email, status in (("admin.p@x.org", 422), ("manager.p@x.org", 403),
                          ("instructor.p@x.org", 403)):
        assert world.api.post("/authorities", as_=world.users[email],
                              json=BAD).status_code == status
    assert _fingerprint() == before


# (who, status on the platform-wide fund's call and its file), by hand: a fund with no
# authority is the platform-wide staff's only (SPEC 2)
PLATFORM_FUND = [("instructor.m", 404), ("instructor.c", 404), ("finance.l", 404),
                 ("instructor.p", 200), ("finance.p", 200)]


@pytest.mark.parametrize(("who", "status"), PLATFORM_FUND)
def test_a_fund_of_no_authority_is_the_platform_staffs_only(app, world, who, status):
    objects, user = world.objects["P"], world.users[f"{who}@x.org"]
    assert _get(world, app, user.email, f"/dossiers/{objects['submitted']}").status_code \
        == status
    assert world.api.get(f"/calls/{objects['call']}", as_=user).status_code == status
    if who.startswith("instructor"):
        assert _get(world, app, user.email,
                    f"/instruction/appels/{objects['call']}").status_code == status
        put = world.api.put(f"/calls/{objects['call']}/jury", as_=user, json=BAD)
        assert put.status_code == (422 if status == 200 else 404)
    assert world.api.get(f"/calls/{objects['call']}",
                         as_=world.users["autre@x.org"]).status_code == 200  # applicants

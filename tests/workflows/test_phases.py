"""The workflow's phases are data: declared once in ``workflows/application.py``, and every
set of states elsewhere derives from them. The expected phases are written out here by
hand from SPEC section 4, not read from the definition."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from workflows import application
from workflows.application import PHASE_DOCS, PHASES, STATES, TRIGGER_LABELS
from workflows.engine import Workflow

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = ROOT / "workflows" / "application.py"
STATE_NAMES = frozenset(s["name"] for s in STATES)
# The application's own code; the tests write states out by hand on purpose (oracles).
SOURCES = ("aap", "forms", "workflows", "scripts", "bench")

# SPEC section 4, by hand. The rows of the table and the budget rules say which states
# each question is about.
GRANT_AND_AFTER = {"granted", "contracted", "in_progress", "report_submitted",
                   "report_approved", "closed", "cancelled"}
SPEC_PHASES = {
    # "draft" is edited by the applicant; "incomplete" until it is resubmitted
    "editable": {"draft", "incomplete"},
    # "draft … proposed | withdraw"
    "before_decision": {"draft", "submitted", "incomplete", "eligible", "in_review",
                        "reviewed", "waitlisted", "proposed"},
    # eligible → open_review (jury assigned) → in_review → close_review → reviewed
    "jury": {"eligible", "in_review", "reviewed"},
    "assignable": {"eligible", "in_review"},
    # scored or being scored, and not withdrawn: from in_review on, except ineligible
    "ranked": {"in_review", "reviewed", "waitlisted", "proposed", "rejected",
               *GRANT_AND_AFTER},
    # "reviewed | propose / waitlist / reject" and what follows
    "allocated": {"waitlisted", "proposed", "rejected", *GRANT_AND_AFTER},
    "decided": {"rejected", *GRANT_AND_AFTER},
    "funded": GRANT_AND_AFTER,
    # a grant that stands: not cancelled ("cancel … frees the unpaid part")
    "standing": GRANT_AND_AFTER - {"cancelled"},
    # "granted / contracted | pay"
    "awaiting_payment": {"granted", "contracted"},
    # "granted … in_progress | cancel"
    "cancellable": {"granted", "contracted", "in_progress"},
    # "Payments are recorded from granted to report_approved": later ones from in_progress
    "payable": {"granted", "contracted", "in_progress", "report_submitted", "report_approved"},
    "later_payments": {"in_progress", "report_submitted", "report_approved"},
    # "in_progress | submit_report", approve_report, close
    "report": {"in_progress", "report_submitted", "report_approved", "closed"},
    # "report_approved | close | balance paid or repayment claimed"; "a cancelled grant
    # commits only what was paid"
    "justified": {"report_approved", "closed"},
    "claimable": {"report_approved", "closed", "cancelled"},
    "settled": {"closed", "cancelled"},
    "terminal": {"ineligible", "rejected", "closed", "withdrawn", "cancelled"},
}
# "message required", "motivation required", "reason": the triggers whose form asks why.
SPEC_COMMENT_REQUIRED = {"request_completion", "declare_ineligible", "request_report_changes",
                         "cancel"}


def _state_literals_in_python(path: Path) -> list[tuple[int, list[str]]]:
    """Tuples, lists and sets of two or more string literals that are all state names."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Tuple | ast.List | ast.Set) and len(node.elts) >= 2:
            values = [e.value for e in node.elts
                      if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if len(values) == len(node.elts) and set(values) <= STATE_NAMES:
                found.append((node.lineno, values))
    return found


LITERAL_LIST = re.compile(r"[(\[]\s*((?:['\"]\w+['\"]\s*,\s*)+['\"]\w+['\"])\s*,?\s*[)\]]")


def _state_literals_in_template(path: Path) -> list[tuple[int, list[str]]]:
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for match in LITERAL_LIST.finditer(line):
            values = re.findall(r"['\"](\w+)['\"]", match.group(1))
            if set(values) <= STATE_NAMES:
                found.append((number, values))
    return found


def _offenders(paths) -> list[str]:
    out = []
    for path in paths:
        scan = _state_literals_in_python if path.suffix == ".py" else \
            _state_literals_in_template
        out.extend(f"{path.relative_to(ROOT)}:{line}: {values}" for line, values in scan(path))
    return out


def test_no_module_declares_its_own_set_of_states():
    python = [p for folder in SOURCES for p in sorted((ROOT / folder).rglob("*.py"))
              if p != DEFINITION]
    templates = sorted((ROOT / "templates").rglob("*.html"))
    assert len(python) > 50 and templates
    offenders = _offenders([*python, *templates])
    assert not offenders, ("derive these sets from workflows.application.PHASES:\n"
                           + "\n".join(offenders))


def test_the_scan_finds_a_literal_set_of_states(tmp_path):
    """The scan itself: what it must refuse, and what it must let through."""
    module = tmp_path / "module.py"
    module.write_text('DONE = ("closed", "cancelled")\nif state in ["draft", "incomplete"]:\n'
                      '    pass\nONE = ("closed",)\nMIXED = ("closed", "payment")\n'
                      'SORTS = ("recent", "score")\n', encoding="utf-8")
    assert _state_literals_in_python(module) == [(1, ["closed", "cancelled"]),
                                                 (2, ["draft", "incomplete"])]
    template = tmp_path / "page.html"
    template.write_text("{% if app.state in ('granted', 'contracted') %}\n"
                        "{% if app.state == 'draft' %}{% for k in ('a', 'b') %}\n",
                        encoding="utf-8")
    assert _state_literals_in_template(template) == [(1, ["granted", "contracted"])]


def test_the_phases_are_spec_section_4():
    assert {name: set(states) for name, states in PHASES.items()} == SPEC_PHASES
    assert set(PHASE_DOCS) == set(PHASES)
    assert all(len(doc) > 30 for doc in PHASE_DOCS.values())


def test_the_phases_agree_with_the_transitions():
    """The phases the transitions use, and the end states, are what the machine does."""
    def sources(trigger: str) -> set[str]:
        return {s for t in application.TRANSITIONS if t["trigger"] == trigger
                for s in t["source"]}

    assert sources("withdraw") == set(PHASES["before_decision"])
    assert sources("cancel") == set(PHASES["cancellable"])
    assert sources("pay") == set(PHASES["awaiting_payment"])
    leaving = {s for t in application.TRANSITIONS for s in t["source"]}
    assert STATE_NAMES - leaving == set(PHASES["terminal"])


def test_the_modules_use_the_phases(app):
    from aap.api import serializers
    from aap.services import calls, conventions, jury, repayments
    from aap.services import finance as finance_service
    from aap.services.exports import jury as jury_export
    from aap.web import applicant, finance, instructor_jury

    derived = {
        "funded": finance.FINANCE_STATES,
        "allocated": calls.RANKED_STATES,
        "decided": serializers.DECIDED_STATES,
        "assignable": jury.ASSIGNABLE_STATES,
        "ranked": instructor_jury.RANKED_STATES,
        "jury": instructor_jury.WORKING_STATES,
        "report": applicant.REPORT_STATES,
        "editable": application.EDITABLE_STATES,
        "before_decision": application.BEFORE_DECISION,
        "cancellable": application.GRANTED_UNTIL_PAID,
        "later_payments": application.LATER_PAYMENT_STATES,
        "terminal": application.TERMINAL_STATES,
        "claimable": repayments.CLAIM_STATES,
        "justified": repayments.REPORTED_STATES,
        "settled": repayments.SETTLED_STATES,
        "standing": conventions.GRANTED_STATES,
        "payable": finance_service.PAYABLE_STATES,
    }
    for phase, states in derived.items():
        assert set(states) == SPEC_PHASES[phase], phase
    assert set(jury_export.REVIEWED_STATES) == SPEC_PHASES["ranked"] | {"withdrawn"}


def test_the_workflow_exposes_its_phases(app):
    from workflows import get_workflow

    workflow = get_workflow()
    assert {name: set(workflow.phase(name)) for name in workflow.phases} == SPEC_PHASES
    with pytest.raises(KeyError):
        workflow.phase("nowhere")
    broken = {**application.DEFINITION, "phases": {"paid": ("granted", "paid_out")}}
    with pytest.raises(ValueError, match="paid_out"):
        Workflow(broken, workflow.hooks)


def test_the_comment_required_triggers_come_from_the_guards():
    from forms.instruction import COMMENT_REQUIRED

    assert set(application.triggers_guarded_by("comment_required")) == SPEC_COMMENT_REQUIRED
    assert set(COMMENT_REQUIRED) == SPEC_COMMENT_REQUIRED


def test_the_action_labels_are_the_definition_s(app):
    from forms.instruction import ACTION_LABELS

    with app.test_request_context("/"):
        for trigger, label in TRIGGER_LABELS.items():
            assert str(ACTION_LABELS[trigger]) == label, trigger
        assert str(ACTION_LABELS["payment"]) == "Enregistrer un versement"
    with app.test_request_context("/?lang=en"):
        from flask_babel import refresh

        refresh()
        # translated when shown (the French label is the msgid)
        assert str(ACTION_LABELS["cancel"]) != TRIGGER_LABELS["cancel"]


def test_the_architecture_notes_name_every_phase():
    notes = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = notes.split("## Phases")[1].split("## ")[0]
    assert all(f"`{name}`" in section for name in PHASES), "describe the new phase"

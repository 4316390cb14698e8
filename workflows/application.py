"""The application (*dossier*) workflow of SPEC section 4, as data.

Each transition names its trigger, source states, destination, the roles that may fire
it, its guards and effects (functions registered by name in ``workflows.guards`` and
``workflows.effects``) and who is notified (a mail template per trigger). The phases
(``PHASES``) name the sets of states the rest of the application asks about; the labels
of states and triggers are the French msgids of the translation catalogue.
"""

from __future__ import annotations


def N_(text: str) -> str:
    """Marks a label for the translation catalogue (``scripts/i18n`` extracts it); the
    pages translate it when they show it."""
    return text


NAME = "application"
INITIAL = "draft"

STATES: list[dict[str, str]] = [
    {"name": "draft", "label": N_("Brouillon")},
    {"name": "submitted", "label": N_("Déposé")},
    {"name": "incomplete", "label": N_("À compléter")},
    {"name": "ineligible", "label": N_("Irrecevable")},
    {"name": "eligible", "label": N_("Recevable")},
    {"name": "in_review", "label": N_("En instruction par le jury")},
    {"name": "reviewed", "label": N_("Évalué")},
    {"name": "waitlisted", "label": N_("Sur liste d'attente")},
    {"name": "proposed", "label": N_("Proposé au financement")},
    {"name": "rejected", "label": N_("Refusé")},
    {"name": "granted", "label": N_("Subvention accordée")},
    {"name": "contracted", "label": N_("Convention signée")},
    {"name": "in_progress", "label": N_("En cours (versement effectué)")},
    {"name": "report_submitted", "label": N_("Compte rendu déposé")},
    {"name": "report_approved", "label": N_("Compte rendu approuvé")},
    {"name": "closed", "label": N_("Clos")},
    {"name": "withdrawn", "label": N_("Retiré")},
    {"name": "cancelled", "label": N_("Annulé")},
]

#: The phases of the workflow: named sets of states that the pages, services and exports
#: ask about ("may the applicant still edit it?", "is it on the money trail?"). They are
#: declared here once; every other module derives its sets from them (a test refuses a
#: literal list of state names anywhere else). What each phase means is in ``PHASE_DOCS``.
PHASES: dict[str, tuple[str, ...]] = {
    "editable": ("draft", "incomplete"),
    "before_decision": ("draft", "submitted", "incomplete", "eligible", "in_review",
                        "reviewed", "waitlisted", "proposed"),
    "jury": ("eligible", "in_review", "reviewed"),
    "assignable": ("eligible", "in_review"),
    "ranked": ("in_review", "reviewed", "waitlisted", "proposed", "rejected", "granted",
               "contracted", "in_progress", "report_submitted", "report_approved", "closed",
               "cancelled"),
    "allocated": ("waitlisted", "proposed", "rejected", "granted", "contracted",
                  "in_progress", "report_submitted", "report_approved", "closed",
                  "cancelled"),
    "decided": ("rejected", "granted", "contracted", "in_progress", "report_submitted",
                "report_approved", "closed", "cancelled"),
    "funded": ("granted", "contracted", "in_progress", "report_submitted", "report_approved",
               "closed", "cancelled"),
    "standing": ("granted", "contracted", "in_progress", "report_submitted",
                 "report_approved", "closed"),
    "awaiting_payment": ("granted", "contracted"),
    "cancellable": ("granted", "contracted", "in_progress"),
    "payable": ("granted", "contracted", "in_progress", "report_submitted", "report_approved"),
    "later_payments": ("in_progress", "report_submitted", "report_approved"),
    "report": ("in_progress", "report_submitted", "report_approved", "closed"),
    "justified": ("report_approved", "closed"),
    "claimable": ("report_approved", "closed", "cancelled"),
    "settled": ("closed", "cancelled"),
    "terminal": ("ineligible", "rejected", "closed", "withdrawn", "cancelled"),
}

PHASE_DOCS: dict[str, str] = {
    "editable": "The applicant edits the file: the draft, and after a request for "
                "completion until it is resubmitted.",
    "before_decision": "From the draft to the proposal: no grant yet, so the applicant may "
                       "withdraw (SPEC: draft … proposed, withdraw).",
    "jury": "The jury's work: eligible (jurors can be assigned), in review (jurors score), "
            "reviewed (scored, waiting for the allocation).",
    "assignable": "Jurors can still be assigned: eligible, or in review.",
    "ranked": "Scored or being scored and not withdrawn, in the running or decided: what "
              "the ranking page and the jury workbook rank.",
    "allocated": "Reached through the ranking (a proposal, the waitlist, a refusal, a "
                 "grant and what follows): the allocation settings have been used.",
    "decided": "The outcome is decided (refused, or granted and what follows): the "
               "applicant may see the jury's score.",
    "funded": "A grant was decided: the money trail of finance (decision, convention, "
              "payments, report, repayment), cancelled grants included.",
    "standing": "A grant stands: decided and not cancelled (convention, payments, report, "
                "closing).",
    "awaiting_payment": "Granted, convention signed or not: the first payment fires pay.",
    "cancellable": "Granted until the report: the instructor may cancel the grant "
                   "(SPEC: granted … in_progress, cancel); the unpaid part is freed.",
    "payable": "Payments are recorded from the grant until the report is approved (the "
               "first fires pay, the next ones are audited actions).",
    "later_payments": "After the first payment and until the report is approved: later "
                      "payments are recorded without a state change.",
    "report": "The final report (CERFA 15059): due, filed, approved, then archived.",
    "justified": "The report is approved: it tells what the grant justifies.",
    "claimable": "A repayment (titre de recette) may be claimed: the approved report tells "
                 "how the money was used, the file is closed, or the grant was cancelled "
                 "after payments.",
    "settled": "Closed or cancelled: the grant commits only what was paid less what was "
               "claimed back.",
    "terminal": "The end of the file: no trigger leaves these states.",
}

# The phases under the names the services used before.
BEFORE_DECISION = PHASES["before_decision"]
GRANTED_UNTIL_PAID = PHASES["cancellable"]
LATER_PAYMENT_STATES = PHASES["later_payments"]
EDITABLE_STATES = PHASES["editable"]
TERMINAL_STATES = PHASES["terminal"]

APPLICANT = "applicant"
INSTRUCTOR = "instructor"
FINANCE = "finance"

# What each trigger is called in messages (French, like the state labels).
TRIGGER_LABELS: dict[str, str] = {
    "submit": N_("Déposer le dossier"),
    "request_completion": N_("Demander des compléments"),
    "resubmit": N_("Redéposer le dossier complété"),
    "declare_ineligible": N_("Déclarer irrecevable"),
    "declare_eligible": N_("Déclarer recevable"),
    "open_review": N_("Ouvrir l'évaluation par le jury"),
    "close_review": N_("Clore l'évaluation"),
    "propose": N_("Proposer au financement"),
    "waitlist": N_("Mettre sur liste d'attente"),
    "reject": N_("Refuser"),
    "promote": N_("Proposer au financement (depuis la liste d'attente)"),
    "grant": N_("Accorder la subvention"),
    "sign_convention": N_("Enregistrer la convention signée"),
    "pay": N_("Enregistrer un versement"),
    "submit_report": N_("Déposer le compte rendu"),
    "request_report_changes": N_("Demander des corrections du compte rendu"),
    "approve_report": N_("Approuver le compte rendu"),
    "close": N_("Clore le dossier"),
    "withdraw": N_("Retirer le dossier"),
    "cancel": N_("Annuler la subvention"),
}

TRANSITIONS: list[dict] = [
    {"trigger": "submit", "source": ["draft"], "dest": "submitted", "roles": [APPLICANT],
     "guards": ["call_open", "application_ready"],
     "effects": ["assign_reference", "stamp_submission"],
     "notify": ["applicant", "instructors"]},
    {"trigger": "request_completion", "source": ["submitted"], "dest": "incomplete",
     "roles": [INSTRUCTOR], "guards": ["comment_required", "completion_deadline"],
     "effects": ["open_completion"], "notify": ["applicant"]},
    {"trigger": "resubmit", "source": ["incomplete"], "dest": "submitted",
     "roles": [APPLICANT], "guards": ["before_completion_deadline", "application_ready"],
     "effects": ["close_completion"], "notify": ["applicant", "instructors"]},
    {"trigger": "declare_ineligible", "source": ["submitted"], "dest": "ineligible",
     "roles": [INSTRUCTOR], "guards": ["comment_required"], "notify": ["applicant"]},
    {"trigger": "declare_eligible", "source": ["submitted"], "dest": "eligible",
     "roles": [INSTRUCTOR], "notify": ["applicant"]},
    {"trigger": "open_review", "source": ["eligible"], "dest": "in_review",
     "roles": [INSTRUCTOR], "guards": ["jury_assigned"], "effects": ["assign_jury"],
     "notify": ["jurors"]},
    {"trigger": "close_review", "source": ["in_review"], "dest": "reviewed",
     "roles": [INSTRUCTOR], "guards": ["reviews_complete_or_forced"]},
    {"trigger": "propose", "source": ["reviewed"], "dest": "proposed",
     "roles": [INSTRUCTOR], "guards": ["proposed_amount"], "effects": ["set_proposed"]},
    {"trigger": "waitlist", "source": ["reviewed"], "dest": "waitlisted",
     "roles": [INSTRUCTOR], "effects": ["clear_proposed"]},
    {"trigger": "reject", "source": ["reviewed", "waitlisted", "proposed"], "dest": "rejected",
     "roles": [INSTRUCTOR], "effects": ["clear_proposed"], "notify": ["applicant"]},
    {"trigger": "promote", "source": ["waitlisted"], "dest": "proposed",
     "roles": [INSTRUCTOR], "guards": ["proposed_amount", "budget_available_for_proposal"],
     "effects": ["set_proposed"]},
    {"trigger": "grant", "source": ["proposed"], "dest": "granted", "roles": [INSTRUCTOR],
     "guards": ["decision_recorded", "budget_available"], "effects": ["record_decision"],
     "notify": ["applicant", "finance"]},
    {"trigger": "sign_convention", "source": ["granted"], "dest": "contracted",
     "roles": [INSTRUCTOR], "guards": ["convention_recorded"],
     "effects": ["record_convention"], "notify": ["applicant", "finance"]},
    {"trigger": "pay", "source": PHASES["awaiting_payment"], "dest": "in_progress",
     "roles": [FINANCE], "guards": ["payment_valid", "convention_if_required"],
     "effects": ["record_payment"], "notify": ["applicant"]},
    {"trigger": "submit_report", "source": ["in_progress"], "dest": "report_submitted",
     "roles": [APPLICANT], "guards": ["report_valid"], "effects": ["record_report"],
     "notify": ["applicant", "instructors"]},
    {"trigger": "request_report_changes", "source": ["report_submitted"],
     "dest": "in_progress", "roles": [INSTRUCTOR], "guards": ["comment_required"],
     "notify": ["applicant"]},
    {"trigger": "approve_report", "source": ["report_submitted"], "dest": "report_approved",
     "roles": [INSTRUCTOR], "notify": ["applicant", "finance"]},
    {"trigger": "close", "source": ["report_approved"], "dest": "closed", "roles": [FINANCE],
     "guards": ["balance_settled"], "effects": ["settle_balance"], "notify": ["applicant"]},
    {"trigger": "withdraw", "source": PHASES["before_decision"], "dest": "withdrawn",
     "roles": [APPLICANT], "effects": ["clear_proposed"], "notify": ["instructors"]},
    {"trigger": "cancel", "source": PHASES["cancellable"], "dest": "cancelled",
     "roles": [INSTRUCTOR], "guards": ["comment_required"], "effects": ["free_unpaid"],
     "notify": ["applicant", "finance"]},
]

DEFINITION = {
    "name": NAME,
    "initial": INITIAL,
    "states": STATES,
    "transitions": TRANSITIONS,
    "trigger_labels": TRIGGER_LABELS,
    "phases": PHASES,
}


def triggers_guarded_by(guard: str) -> frozenset[str]:
    """The triggers one of whose transitions has ``guard`` (e.g. ``comment_required``:
    the triggers whose form asks for a motivation)."""
    return frozenset(t["trigger"] for t in TRANSITIONS if guard in t.get("guards", ()))

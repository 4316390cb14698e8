"""The application (*dossier*) workflow of SPEC section 4, as data.

Each transition names its trigger, source states, destination, the roles that may fire
it, its guards and effects (functions registered by name in ``workflows.guards`` and
``workflows.effects``) and who is notified (a mail template per trigger).
"""

from __future__ import annotations

NAME = "application"
INITIAL = "draft"

STATES: list[dict[str, str]] = [
    {"name": "draft", "label": "Brouillon"},
    {"name": "submitted", "label": "Déposé"},
    {"name": "incomplete", "label": "À compléter"},
    {"name": "ineligible", "label": "Irrecevable"},
    {"name": "eligible", "label": "Recevable"},
    {"name": "in_review", "label": "En instruction par le jury"},
    {"name": "reviewed", "label": "Évalué"},
    {"name": "waitlisted", "label": "Sur liste d'attente"},
    {"name": "proposed", "label": "Proposé au financement"},
    {"name": "rejected", "label": "Refusé"},
    {"name": "granted", "label": "Subvention accordée"},
    {"name": "contracted", "label": "Convention signée"},
    {"name": "in_progress", "label": "En cours (versement effectué)"},
    {"name": "report_submitted", "label": "Compte rendu déposé"},
    {"name": "report_approved", "label": "Compte rendu approuvé"},
    {"name": "closed", "label": "Clos"},
    {"name": "withdrawn", "label": "Retiré"},
    {"name": "cancelled", "label": "Annulé"},
]

BEFORE_DECISION = [
    "draft", "submitted", "incomplete", "eligible", "in_review", "reviewed",
    "waitlisted", "proposed",
]
GRANTED_UNTIL_PAID = ["granted", "contracted", "in_progress"]
# Payments after the first one are recorded in these states without a state change.
LATER_PAYMENT_STATES = ["in_progress", "report_submitted", "report_approved"]
EDITABLE_STATES = ["draft", "incomplete"]
TERMINAL_STATES = ["ineligible", "rejected", "closed", "withdrawn", "cancelled"]

APPLICANT = "applicant"
INSTRUCTOR = "instructor"
FINANCE = "finance"

# What each trigger is called in messages (French, like the state labels).
TRIGGER_LABELS: dict[str, str] = {
    "submit": "Déposer le dossier",
    "request_completion": "Demander des compléments",
    "resubmit": "Redéposer le dossier complété",
    "declare_ineligible": "Déclarer irrecevable",
    "declare_eligible": "Déclarer recevable",
    "open_review": "Ouvrir l'évaluation par le jury",
    "close_review": "Clore l'évaluation",
    "propose": "Proposer au financement",
    "waitlist": "Mettre sur liste d'attente",
    "reject": "Refuser",
    "promote": "Proposer au financement (depuis la liste d'attente)",
    "grant": "Accorder la subvention",
    "sign_convention": "Enregistrer la convention signée",
    "pay": "Enregistrer un versement",
    "submit_report": "Déposer le compte rendu",
    "request_report_changes": "Demander des corrections du compte rendu",
    "approve_report": "Approuver le compte rendu",
    "close": "Clore le dossier",
    "withdraw": "Retirer le dossier",
    "cancel": "Annuler la subvention",
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
    {"trigger": "pay", "source": ["granted", "contracted"], "dest": "in_progress",
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
    {"trigger": "withdraw", "source": BEFORE_DECISION, "dest": "withdrawn",
     "roles": [APPLICANT], "effects": ["clear_proposed"], "notify": ["instructors"]},
    {"trigger": "cancel", "source": GRANTED_UNTIL_PAID, "dest": "cancelled",
     "roles": [INSTRUCTOR], "guards": ["comment_required"], "effects": ["free_unpaid"],
     "notify": ["applicant", "finance"]},
]

DEFINITION = {
    "name": NAME,
    "initial": INITIAL,
    "states": STATES,
    "transitions": TRANSITIONS,
    "trigger_labels": TRIGGER_LABELS,
}

"""The instruction's action forms: one form per workflow trigger (the inputs its guards
need), the bulk-action form of the back-office list."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from aap.models import Application
from aap.timeutil import now, to_paris
from forms.fields import EuroField, MultiCheckboxField, ServiceProblems
from workflows.application import TRIGGER_LABELS, triggers_guarded_by

COMMENT_MAX = 5000

#: What each trigger is called on its button (and the title of its form): the workflow
#: definition's labels, translated when shown; a later payment is recorded like ``pay``.
ACTION_LABELS = {trigger: _l(label) for trigger, label in TRIGGER_LABELS.items()}
ACTION_LABELS["payment"] = ACTION_LABELS["pay"]
#: Triggers whose motivation is required by the workflow's guards.
COMMENT_REQUIRED = triggers_guarded_by("comment_required")
#: Triggers that end a file or refuse it (their button says so).
DANGEROUS = {"declare_ineligible", "reject", "withdraw", "cancel"}
#: The engine's field paths -> the form's field names.
FIELD_MAP = {
    "amount_cents": "amount", "decision": "decision_body", "decision.body": "decision_body",
    "decision.reference": "decision_reference", "decision.date": "decision_date",
    "convention": "convention_reference", "convention.reference": "convention_reference",
    "convention.signed_on": "convention_signed_on", "convention.schedule": "advance_share",
    "repayment.amount_cents": "repayment_amount", "repayment.claimed_on": "repayment_amount",
}


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


class ActionForm(ServiceProblems, FlaskForm):
    """A trigger with an optional comment; subclasses add the trigger's data."""

    FIELD_MAP = FIELD_MAP

    comment = TextAreaField(_l("Commentaire (facultatif)"),
                            validators=[Length(max=COMMENT_MAX)], render_kw={"rows": 3})
    trigger = ""

    def setup(self, app: Application) -> None:
        """Defaults that depend on the application (amounts, dates)."""

    def engine_data(self) -> dict:
        data = self.extra_data()
        comment = (self.comment.data or "").strip()
        if comment:
            data["comment"] = comment
        return data

    def extra_data(self) -> dict:
        return {}



class MotivatedForm(ActionForm):
    comment = TextAreaField(_l("Motivation (obligatoire)"),
                            validators=[Length(max=COMMENT_MAX)],
                            render_kw={"rows": 4, "required": True})


class CompletionForm(MotivatedForm):
    comment = TextAreaField(_l("Message au porteur : pièces ou précisions attendues "
                               "(obligatoire)"), validators=[Length(max=COMMENT_MAX)],
                            render_kw={"rows": 4, "required": True})
    deadline = DateField(_l("À fournir avant le (inclus, heure de Paris)"),
                         validators=[Optional()])

    def extra_data(self) -> dict:
        return {"deadline": _iso(self.deadline.data)} if self.deadline.data else {}


class CloseReviewForm(ActionForm):
    force = BooleanField(_l("Clore malgré des évaluations manquantes"))
    comment = TextAreaField(_l("Motif (obligatoire pour clore malgré des évaluations "
                               "manquantes)"), validators=[Length(max=COMMENT_MAX)],
                            render_kw={"rows": 3})

    def extra_data(self) -> dict:
        return {"force": True} if self.force.data else {}


class ProposeForm(ActionForm):
    amount = EuroField(_l("Montant proposé (€)"))

    def setup(self, app: Application) -> None:
        self.amount.data = app.proposed_cents or app.requested_cents

    def extra_data(self) -> dict:
        return {"amount_cents": self.amount.data} if self.amount.data is not None else {}


class GrantForm(ActionForm):
    amount = EuroField(_l("Montant accordé (€)"))
    decision_body = StringField(_l("Instance de décision"), validators=[Length(max=200)],
                                render_kw={"placeholder": "Bureau de la Métropole"})
    decision_reference = StringField(_l("Référence de la délibération"),
                                     validators=[Length(max=100)])
    decision_date = DateField(_l("Date de la décision"), validators=[Optional()])

    def setup(self, app: Application) -> None:
        self.amount.data = app.proposed_cents or app.requested_cents

    def extra_data(self) -> dict:
        return {"amount_cents": self.amount.data,
                "decision": {"body": self.decision_body.data or "",
                             "reference": self.decision_reference.data or "",
                             "date": _iso(self.decision_date.data)}}


class ConventionForm(ActionForm):
    convention_reference = StringField(_l("Référence de la convention"),
                                       validators=[Length(max=100)])
    convention_signed_on = DateField(_l("Date de signature"), validators=[Optional()])
    advance_share = DecimalField(_l("Avance (%)"), places=None, default=Decimal(80),
                                 validators=[Optional(), NumberRange(min=0, max=100)])
    instalment_share = DecimalField(_l("Acompte (%)"), places=None, default=Decimal(0),
                                    validators=[Optional(), NumberRange(min=0, max=100)])
    balance_share = DecimalField(_l("Solde sur compte rendu (%)"), places=None,
                                 default=Decimal(20),
                                 validators=[Optional(), NumberRange(min=0, max=100)])

    def extra_data(self) -> dict:
        schedule = [{"kind": kind, "share": str((Decimal(value) / 100).normalize())}
                    for kind, value in (("advance", self.advance_share.data),
                                        ("instalment", self.instalment_share.data),
                                        ("balance", self.balance_share.data)) if value]
        return {"convention": {"reference": self.convention_reference.data or "",
                               "signed_on": _iso(self.convention_signed_on.data),
                               "schedule": schedule}}


class PaymentForm(ActionForm):
    kind = SelectField(_l("Nature du versement"), choices=[
        ("advance", _l("Avance")), ("instalment", _l("Acompte")), ("balance", _l("Solde"))])
    amount = EuroField(_l("Montant versé (€)"))
    paid_on = DateField(_l("Date du versement"), validators=[Optional()])
    mandate = StringField(_l("Numéro de mandat"), validators=[Length(max=60)])

    def setup(self, app: Application) -> None:
        self.amount.data = max(app.granted_cents - app.paid_cents, 0) or None
        self.paid_on.data = to_paris(now()).date()
        self.kind.data = "balance" if app.payments else "advance"

    def extra_data(self) -> dict:
        return {"kind": self.kind.data, "amount_cents": self.amount.data,
                "paid_on": _iso(self.paid_on.data), "mandate": self.mandate.data or ""}


class CloseForm(ActionForm):
    release_unpaid = BooleanField(_l("Libérer le reliquat non versé (motif obligatoire)"))
    repayment_amount = EuroField(_l("Titre de reversement : montant à reverser (€)"))
    repayment_reference = StringField(_l("Référence du titre de reversement"),
                                      validators=[Length(max=60)])
    comment = TextAreaField(_l("Motif"), validators=[Length(max=COMMENT_MAX)],
                            render_kw={"rows": 3})

    def extra_data(self) -> dict:
        data: dict = {}
        if self.repayment_amount.data:
            data["repayment"] = {"amount_cents": self.repayment_amount.data,
                                 "reference": self.repayment_reference.data or ""}
        elif self.release_unpaid.data:
            data["release_unpaid"] = True
        return data


FORMS: dict[str, type[ActionForm]] = {
    "submit": ActionForm, "resubmit": ActionForm, "withdraw": ActionForm,
    "request_completion": CompletionForm, "declare_eligible": ActionForm,
    "declare_ineligible": MotivatedForm, "open_review": ActionForm,
    "close_review": CloseReviewForm, "propose": ProposeForm, "waitlist": ActionForm,
    "reject": ActionForm, "promote": ProposeForm, "grant": GrantForm,
    "sign_convention": ConventionForm, "pay": PaymentForm, "payment": PaymentForm,
    "request_report_changes": MotivatedForm, "approve_report": ActionForm,
    "close": CloseForm, "cancel": MotivatedForm,
}


def action_form(trigger: str, app: Application, *, fresh: bool = False) -> ActionForm:
    """The form of a trigger, its ids prefixed by the trigger (several on one page):
    ``fresh``, empty with its defaults; else filled from the posted data."""
    form = FORMS[trigger](prefix=trigger, **({"formdata": None} if fresh else {}))
    form.trigger = trigger
    if fresh:
        form.setup(app)
    return form


BULK_TRIGGERS = ("declare_eligible", "declare_ineligible", "request_completion",
                 "open_review", "close_review", "waitlist", "reject")


class BulkForm(FlaskForm):
    ids = MultiCheckboxField(_l("Dossiers sélectionnés"), coerce=int, validate_choice=False,
                             choices=[])
    trigger = SelectField(_l("Action"), choices=[
        ("", _l("— Choisir une action —"))] + [(t, ACTION_LABELS[t]) for t in BULK_TRIGGERS])
    comment = TextAreaField(_l("Message ou motivation (obligatoire pour l'irrecevabilité "
                               "et les demandes de compléments)"),
                            validators=[Length(max=COMMENT_MAX)], render_kw={"rows": 2})
    deadline = DateField(_l("Échéance des compléments"), validators=[Optional()])
    force = BooleanField(_l("Clore l'évaluation malgré des évaluations manquantes"))

    def validate_trigger(self, field) -> None:
        if field.data not in BULK_TRIGGERS:
            raise ValidationError(_l("Choisissez une action."))

    def validate_ids(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Cochez au moins un dossier."))

    def engine_data(self) -> dict:
        data: dict = {}
        comment = (self.comment.data or "").strip()
        if comment:
            data["comment"] = comment
        if self.trigger.data == "request_completion" and self.deadline.data:
            data["deadline"] = self.deadline.data.isoformat()
        if self.trigger.data == "close_review" and self.force.data:
            data["force"] = True
        return data

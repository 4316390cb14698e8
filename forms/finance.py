"""The finance forms of the dossier page: claim a repayment (*titre de reversement*),
pre-filled with what the authority proposes to claim; record that it was received."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from aap.services.repayments import REASON_MAX, REFERENCE_MAX, Proposal, today
from forms.fields import EuroField, ServiceProblems

#: The service's field names -> the form's.
FIELD_MAP = {"amount_cents": "amount", "reason": "reason", "reference": "reference",
             "claimed_on": "claimed_on", "received_on": "received_on"}


class FinanceForm(ServiceProblems, FlaskForm):
    FIELD_MAP = FIELD_MAP


class RepaymentForm(FinanceForm):
    amount = EuroField(_l("Montant à reverser (€)"))
    reference = StringField(_l("Numéro du titre de recette"),
                            validators=[Length(max=REFERENCE_MAX)])
    claimed_on = DateField(_l("Date d'émission"), validators=[Optional()])
    reason = TextAreaField(_l("Motif (obligatoire)"), validators=[Length(max=REASON_MAX)],
                           render_kw={"rows": 4, "required": True})

    def setup(self, proposal: Proposal | None) -> None:
        """The proposal pre-filled (the officer may claim another amount)."""
        if proposal is not None and proposal.amount_cents:
            self.amount.data = proposal.amount_cents
            self.reason.data = proposal.reason
        self.claimed_on.data = today()

    def service_data(self) -> dict:
        return {"amount_cents": self.amount.data, "reason": self.reason.data or "",
                "reference": self.reference.data or "",
                "claimed_on": self.claimed_on.data}


class ReceivedForm(FinanceForm):
    received_on = DateField(_l("Date d'encaissement"), validators=[Optional()])

    def setup(self) -> None:
        self.received_on.data = today()


def repayment_form(*, fresh: bool, proposal: Proposal | None = None) -> RepaymentForm:
    form = RepaymentForm(prefix="repayment", **({"formdata": None} if fresh else {}))
    if fresh:
        form.setup(proposal)
    return form


def received_form(repayment_id: int, *, fresh: bool) -> ReceivedForm:
    form = ReceivedForm(prefix=f"received-{repayment_id}",
                        **({"formdata": None} if fresh else {}))
    if fresh:
        form.setup()
    return form

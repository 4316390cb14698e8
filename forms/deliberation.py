"""The deliberation form: which proposed applications one decision grants, and the
decision itself (body, reference, date). The service checks the decision again and reports
its problems per field (``aap.services.deliberations.clean``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional, ValidationError

from aap.services.deliberations import BODY_MAX, REFERENCE_MAX
from forms.fields import MultiCheckboxField, ServiceProblems

#: The service's field names -> the form's.
SERVICE_FIELDS = {"application_ids": "ids"}


class DeliberationForm(ServiceProblems, FlaskForm):
    FIELD_MAP = SERVICE_FIELDS

    ids = MultiCheckboxField(_l("Dossiers accordés par la délibération"), coerce=int,
                             validate_choice=False, choices=[])
    body = StringField(_l("Instance de décision"), validators=[Length(max=BODY_MAX)],
                       render_kw={"placeholder": "Bureau de la Métropole",
                                  "autocomplete": "off"})
    reference = StringField(_l("Référence de la délibération"),
                            validators=[Length(max=REFERENCE_MAX)],
                            render_kw={"placeholder": "DEL-2026-117", "autocomplete": "off"})
    date = DateField(_l("Date de la délibération"), validators=[Optional()])

    def validate_ids(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Cochez au moins un dossier."))

    def deliberation(self) -> dict:
        return {"body": self.body.data or "", "reference": self.reference.data or "",
                "date": self.date.data.isoformat() if self.date.data else None}


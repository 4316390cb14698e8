"""The application form, in sections; the budget is the CERFA 12156 table."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, IntegerField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from aap.models import Application, Call
from aap.vocabulary import ATTACHMENT_KINDS, BUDGET_LINES, DOMAINS, GROUNDS
from forms.fields import EuroField, MultiCheckboxField

LIMITS = {"title": 300, "summary": 5000, "objectives": 5000, "target_public": 2000}
PROBLEM_FIELDS = {"requested_cents": "requested", "envelope": "envelope"}


def line_field_name(side: str, code: str) -> str:
    return f"{side}_{code}"


class ApplicationForm(FlaskForm):
    title = TextAreaField(_l("Titre du projet"), validators=[Length(max=LIMITS["title"])],
                          render_kw={"rows": 2, "maxlength": LIMITS["title"]})
    summary = TextAreaField(_l("Résumé"), validators=[Length(max=LIMITS["summary"])],
                            render_kw={"rows": 6})
    objectives = TextAreaField(_l("Objectifs"), validators=[Length(max=LIMITS["objectives"])],
                               render_kw={"rows": 5})
    target_public = TextAreaField(_l("Public visé"),
                                  validators=[Length(max=LIMITS["target_public"])],
                                  render_kw={"rows": 3})
    domains = MultiCheckboxField(_l("Domaines"), choices=[], validate_choice=True)
    grounds = MultiCheckboxField(_l("Motifs de discrimination traités"), choices=[],
                                 validate_choice=True)
    territories = TextAreaField(
        _l("Territoires (une commune ou un quartier prioritaire par ligne)"),
        validators=[Length(max=5000)], render_kw={"rows": 4})
    # checked by the service (an unknown key is refused there, in French)
    envelope = SelectField(_l("Enveloppe"), choices=[], validate_choice=False)
    beneficiaries = IntegerField(_l("Bénéficiaires attendus"),
                                 validators=[Optional(), NumberRange(min=0, max=10_000_000)])
    starts_on = DateField(_l("Début de l'action"), validators=[Optional()])
    ends_on = DateField(_l("Fin de l'action"), validators=[Optional()])
    requested = EuroField(_l("Montant demandé (€)"))
    # The attachment travels with the rest of the form (multipart), so that adding a file
    # also saves what was typed, and nothing typed is lost.
    attachment_kind = SelectField(_l("Nature de la pièce"), choices=[], validate_choice=False)
    attachment_file = FileField(_l("Fichier"))

    def validate_ends_on(self, field) -> None:
        """The action may not end before it starts (the service checks it too, for the API)."""
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("La date de fin précède la date de début."))

    @classmethod
    def for_call(cls, call: Call, application: Application | None = None, **kwargs
                 ) -> ApplicationForm:
        """The form with one euro field per CERFA line (a class per call's envelopes)."""
        attrs = {line_field_name(side, code): EuroField(label)
                 for side, lines in BUDGET_LINES.items() for code, label in lines.items()}
        form_class = type("CallApplicationForm", (cls,), attrs)
        form = form_class(obj=None, **kwargs)
        form.domains.choices = [(k, str(v)) for k, v in DOMAINS.items()]
        form.grounds.choices = [(k, str(v)) for k, v in GROUNDS.items()]
        form.envelope.choices = [("", _l("— Choisir —"))] + [
            (e.key, e.label) for e in call.envelopes]
        form.attachment_kind.choices = [(k, str(v)) for k, v in ATTACHMENT_KINDS.items()]
        if application is not None and not form.is_submitted():
            form.load(application)
        return form

    def line_fields(self, side: str) -> list:
        return [self[line_field_name(side, code)] for code in BUDGET_LINES[side]]

    def load(self, app: Application) -> None:
        for name in ("title", "summary", "objectives", "target_public", "beneficiaries",
                     "starts_on", "ends_on"):
            self[name].data = getattr(app, name)
        self.domains.data, self.grounds.data = list(app.domains), list(app.grounds)
        self.territories.data = "\n".join(app.territories)
        self.envelope.data = next(
            (e.key for e in app.call.envelopes if e.id == app.envelope_id), "")
        self.requested.data = app.requested_cents or None
        budget = app.budget()
        for side, lines in BUDGET_LINES.items():
            for code in lines:
                self[line_field_name(side, code)].data = budget[side].get(code)

    def values(self) -> dict:
        """The data for ``aap.services.applications`` (cents, lists, envelope key)."""
        return {
            "title": self.title.data or "", "summary": self.summary.data or "",
            "objectives": self.objectives.data or "",
            "target_public": self.target_public.data or "",
            "domains": self.domains.data or [], "grounds": self.grounds.data or [],
            "territories": [t.strip() for t in (self.territories.data or "").splitlines()
                            if t.strip()],
            "envelope": self.envelope.data or None,
            "beneficiaries": self.beneficiaries.data or 0,
            "starts_on": self.starts_on.data, "ends_on": self.ends_on.data,
            "requested_cents": self.requested.data or 0,
            "budget": {side: {code: self[line_field_name(side, code)].data
                              for code in lines if self[line_field_name(side, code)].data}
                       for side, lines in BUDGET_LINES.items()},
        }

    def show_problems(self, problems: dict[str, list[str]]) -> list[str]:
        """Attach the engine's per-field problems to the fields; return the others."""
        general = []
        for key, messages in problems.items():
            name = PROBLEM_FIELDS.get(key, key)
            parts = key.split(".")
            if len(parts) == 3 and parts[0] == "budget":  # budget.charges.64
                name = line_field_name(parts[1], parts[2])
            if name in self._fields and name != "csrf_token":
                self[name].errors = [*self[name].errors, *messages]
            else:
                general.extend(messages)
        return general

    def totals(self) -> dict[str, int]:
        """Each side's total of what is typed (valid amounts only), in cents."""
        return {side: sum(self[line_field_name(side, code)].data or 0 for code in lines)
                for side, lines in BUDGET_LINES.items()}


class ReportForm(FlaskForm):
    """The final report (CERFA 15059): realised lines against the provisional budget."""

    narrative = TextAreaField(_l("Actions réalisées"), validators=[Length(max=10_000)],
                              render_kw={"rows": 8})
    beneficiaries_reached = IntegerField(
        _l("Bénéficiaires atteints"),
        validators=[InputRequired(_l("Indiquez le nombre de bénéficiaires atteints.")),
                    NumberRange(min=0, max=10_000_000,
                                message=_l("Un nombre entre 0 et 10 000 000."))],
        render_kw={"inputmode": "numeric"})
    gap_explanation = TextAreaField(_l("Explication des écarts"),
                                    validators=[Length(max=10_000)], render_kw={"rows": 5})

    @classmethod
    def build(cls, application: Application, **kwargs) -> ReportForm:
        attrs = {line_field_name(side, code): EuroField(label)
                 for side, lines in BUDGET_LINES.items() for code, label in lines.items()}
        form = type("CallReportForm", (cls,), attrs)(**kwargs)
        report = application.report
        if report is not None and not form.is_submitted():
            form.narrative.data = report.narrative
            form.gap_explanation.data = report.gap_explanation
            form.beneficiaries_reached.data = report.beneficiaries_reached
            realised = report.realised()
            for side, lines in BUDGET_LINES.items():
                for code in lines:
                    form[line_field_name(side, code)].data = realised[side].get(code)
        return form

    def line_fields(self, side: str) -> list:
        return [self[line_field_name(side, code)] for code in BUDGET_LINES[side]]

    def realised(self) -> dict[str, dict[str, int]]:
        return {side: {code: self[line_field_name(side, code)].data or 0 for code in lines
                       if self[line_field_name(side, code)].data}
                for side, lines in BUDGET_LINES.items()}

    def values(self) -> dict:
        return {"realised": self.realised(), "narrative": self.narrative.data or "",
                "beneficiaries_reached": self.beneficiaries_reached.data or 0,
                "gap_explanation": self.gap_explanation.data or ""}

    def show_problems(self, problems: dict[str, list[str]]) -> list[str]:
        general = []
        for key, messages in problems.items():
            parts = key.split(".")
            name = line_field_name(parts[1], parts[2]) if len(parts) == 3 else key
            if name in self._fields and name != "csrf_token":
                self[name].errors = [*self[name].errors, *messages]
            else:
                general.extend(messages)
        return general

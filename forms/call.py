"""Call configuration: the fund, the call (dates in Paris time, budget and envelopes,
eligibility rules, scoring grid, allocation rule) and its jury."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from aap.models import Call
from aap.models.calls import OVERFLOW_RULES
from aap.timeutil import PARIS, to_paris
from aap.vocabulary import PRODUCT_LINES
from forms.fields import EuroField, MultiCheckboxField

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
EXTRA_ROWS = 2
OVERFLOW_LABELS = {
    "partial": _l("Financer partiellement le suivant s'il reste assez (sinon liste d'attente)"),
    "skip": _l("Passer au suivant qui tient dans le budget"),
    "stop": _l("S'arrêter au premier dossier qui ne tient pas"),
}
#: The service's field names -> the form's (see ``aap.services.calls``).
SERVICE_FIELDS = {"budget_cents": "budget", "rules": "max_request", "fund_id": "fund_id",
                  "convention_threshold_cents": "convention_threshold"}
ROW_LABELS = {"envelopes": _l("Enveloppe"), "grid": _l("Critère")}
#: A locked field of the service -> the inputs it covers in the form.
LOCK_INPUTS = {
    "rules": ("min_request", "max_request", "max_share"),
}


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:60]


class EnvelopeRow(Form):
    key = StringField(_l("Code"), validators=[Optional(), Length(max=60)])
    label = StringField(_l("Libellé"), validators=[Optional(), Length(max=200)])
    budget = EuroField(_l("Montant (€)"))

    def blank(self) -> bool:
        return not (self.key.data or self.label.data or self.budget.data)


class CriterionRow(Form):
    key = StringField(_l("Code"), validators=[Optional(), Length(max=60)])
    label = StringField(_l("Critère"), validators=[Optional(), Length(max=300)])
    weight = DecimalField(_l("Poids"), places=None,
                          validators=[Optional(), NumberRange(min=Decimal("0.001"), max=1000)])
    max = IntegerField(_l("Note maximale"), validators=[Optional(), NumberRange(min=1, max=1000)])

    def blank(self) -> bool:
        return not (self.key.data or self.label.data or self.weight.data or self.max.data)


class FundForm(FlaskForm):
    name = StringField(_l("Nom du dispositif"), validators=[InputRequired(), Length(max=300)])
    owner_name = StringField(_l("Collectivité attribuante"),
                             validators=[InputRequired(), Length(max=300)])
    owner_siret = StringField(_l("SIRET de l'attribuant"),
                              validators=[InputRequired(), Length(max=20)],
                              render_kw={"inputmode": "numeric", "autocomplete": "off"})
    chapter = StringField(_l("Chapitre"), default="65", validators=[Length(max=10)])
    nature = StringField(_l("Nature"), default="65748", validators=[Length(max=10)])
    function = StringField(_l("Fonction"), validators=[Length(max=10)])
    subpolicy = StringField(_l("Sous-politique"), validators=[Length(max=20)])
    owner_product_line = SelectField(
        _l("Ligne du budget CERFA où figure la subvention demandée"), default="74_epci",
        choices=[(k, v) for k, v in PRODUCT_LINES.items() if k.startswith("74_")])
    notification_ue = BooleanField(_l("Aide notifiée à la Commission européenne"))

    def values(self) -> dict:
        return {
            "name": self.name.data, "owner_name": self.owner_name.data,
            "owner_siret": self.owner_siret.data,
            "imputation": {"chapter": self.chapter.data or "65",
                           "nature": self.nature.data or "65748",
                           "function": self.function.data or "",
                           "subpolicy": self.subpolicy.data or ""},
            "owner_product_line": self.owner_product_line.data,
            "notification_ue": bool(self.notification_ue.data),
        }


def _percent(value: Decimal | None) -> Decimal | None:
    return None if value is None else (Decimal(value) * 100).normalize()


def _share(value: Decimal | None) -> Decimal | None:
    return None if value is None else (Decimal(value) / 100).quantize(Decimal("0.0001"))


class CallForm(FlaskForm):
    fund_id = SelectField(_l("Dispositif"), coerce=int, validate_choice=True)
    title = StringField(_l("Titre de l'appel"), validators=[InputRequired(), Length(max=300)])
    description = TextAreaField(_l("Présentation"), validators=[Length(max=20000)],
                                render_kw={"rows": 5})
    fiscal_year = IntegerField(_l("Exercice budgétaire"),
                               validators=[InputRequired(), NumberRange(min=2000, max=2100)],
                               render_kw={"inputmode": "numeric"})
    opens_at = DateTimeLocalField(_l("Ouverture (heure de Paris)"), format=DATETIME_FORMAT,
                                  validators=[InputRequired()])
    closes_at = DateTimeLocalField(_l("Clôture (heure de Paris)"), format=DATETIME_FORMAT,
                                   validators=[InputRequired()])
    budget = EuroField(_l("Budget de l'appel (€)"), validators=[InputRequired()])
    envelopes = FieldList(FormField(EnvelopeRow), min_entries=1)
    min_request = EuroField(_l("Montant minimum demandé (€)"))
    max_request = EuroField(_l("Montant maximum demandé (€)"))
    max_share = DecimalField(_l("Part maximale du coût du projet (%)"), places=None,
                             validators=[Optional(), NumberRange(min=Decimal("0.01"), max=100)],
                             render_kw={"inputmode": "decimal"})
    grid = FieldList(FormField(CriterionRow), min_entries=1)
    scale = IntegerField(_l("Échelle de la note totale (sur)"), default=20,
                         validators=[InputRequired(), NumberRange(min=1, max=1000)])
    min_total = DecimalField(_l("Note totale minimale pour être finançable"), places=None,
                             default=Decimal(0),
                             validators=[InputRequired(), NumberRange(min=0, max=1000)])
    min_reviews = IntegerField(_l("Nombre minimum d'évaluations par dossier"), default=1,
                               validators=[InputRequired(), NumberRange(min=0, max=100)])
    disagreement_threshold = DecimalField(
        _l("Seuil de désaccord entre jurés (écart type)"), places=None, default=Decimal(4),
        validators=[InputRequired(), NumberRange(min=0, max=1000)])
    overflow = SelectField(_l("Quand le dossier suivant ne tient pas dans le budget"),
                           choices=[(k, OVERFLOW_LABELS[k]) for k in OVERFLOW_RULES],
                           default="partial")
    partial_min_share = DecimalField(
        _l("Part minimale d'un financement partiel (%)"), places=None, default=Decimal(50),
        validators=[InputRequired(), NumberRange(min=0, max=100)])
    completion_days = IntegerField(_l("Délai par défaut pour compléter un dossier (jours)"),
                                   default=15,
                                   validators=[InputRequired(), NumberRange(min=1, max=365)])
    convention_threshold = EuroField(_l("Convention obligatoire au-delà de (€)"),
                                     default=23_000_00)
    report_gap_threshold = DecimalField(
        _l("Écart à expliquer dans le compte rendu financier au-delà de (%)"), places=None,
        default=Decimal(15), validators=[Optional(), NumberRange(min=0, max=100)],
        render_kw={"inputmode": "decimal"})

    def __init__(self, *args, funds=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.group_errors: dict[str, list[str]] = {}
        self.fund_id.choices = [(f.id, f.name) for f in funds]

    # --- loading ------------------------------------------------------------------
    def load(self, values: dict) -> None:
        """Fill the form from the service's data (``calls.current_values``/``clone_values``)."""
        for name in ("fund_id", "title", "description", "fiscal_year", "scale",
                     "min_reviews", "overflow", "completion_days"):
            if name in self._fields and name in values:
                self[name].data = values[name]
        for name in ("opens_at", "closes_at"):
            if name in self._fields and values.get(name):
                self[name].data = to_paris(values[name]).replace(tzinfo=None)
        if "budget_cents" in values:
            self.budget.data = values["budget_cents"]
        rules = values.get("rules") or {}
        for name, key in (("min_request", "min_request_cents"),
                          ("max_request", "max_request_cents")):
            if name in self._fields:
                self[name].data = rules.get(key)
        if "max_share" in self._fields:
            self.max_share.data = _percent(rules.get("max_share_of_cost"))
        for name in ("min_total", "disagreement_threshold"):
            if name in self._fields and values.get(name) is not None:
                self[name].data = Decimal(values[name]).normalize()
        if "partial_min_share" in self._fields and values.get("partial_min_share") is not None:
            self.partial_min_share.data = _percent(values["partial_min_share"])
        if "convention_threshold" in self._fields and \
                values.get("convention_threshold_cents") is not None:
            self.convention_threshold.data = values["convention_threshold_cents"]
        if "report_gap_threshold" in self._fields and \
                values.get("report_gap_threshold") is not None:
            self.report_gap_threshold.data = _percent(values["report_gap_threshold"])
        self._rows("envelopes", [
            {"key": e["key"], "label": e["label"], "budget": e["budget_cents"]}
            for e in values.get("envelopes") or []])
        self._rows("grid", [
            {"key": c["key"], "label": c["label"], "weight": Decimal(c["weight"]).normalize(),
             "max": c["max"]} for c in values.get("grid") or []])

    def _rows(self, name: str, rows: list[dict]) -> None:
        if name not in self._fields:
            return
        field = self[name]
        while field.entries:
            field.pop_entry()
        for row in rows:
            field.append_entry(row)
        for _ in range(EXTRA_ROWS):
            field.append_entry()

    def add_blank_rows(self) -> None:
        """After a refused post: room for one more envelope and criterion."""
        for name in ("envelopes", "grid"):
            if name in self._fields and not any(e.form.blank() for e in self[name].entries):
                self[name].append_entry()

    # --- reading ------------------------------------------------------------------
    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for entry in self["envelopes"].entries if "envelopes" in self._fields else []:
            row = entry.form
            if row.blank():
                continue
            ok &= _required(row.label, _l("Le libellé de l'enveloppe est obligatoire."))
            ok &= _required(row.budget, _l("Le montant de l'enveloppe est obligatoire."))
            if not row.key.data and row.label.data and not slug(row.label.data):
                row.key.errors.append(_l("Donnez un code (lettres et chiffres)."))
                ok = False
        for entry in self["grid"].entries if "grid" in self._fields else []:
            row = entry.form
            if not row.blank():
                ok &= _required(row.label, _l("Le libellé du critère est obligatoire."))
                ok &= _required(row.max, _l("La note maximale est obligatoire."))
        return ok

    def values(self) -> dict:
        """The data for ``calls.create_call``/``update_call`` (locked inputs removed
        from the form are left out)."""
        out: dict = {}
        for name in ("fund_id", "fiscal_year", "scale", "min_reviews", "overflow",
                     "completion_days", "opens_at", "closes_at"):
            if name in self._fields:
                value = self[name].data
                if isinstance(value, datetime):
                    value = value.replace(tzinfo=PARIS)
                out[name] = value
        if "title" in self._fields:
            out["title"] = (self.title.data or "").strip()
            out["description"] = (self.description.data or "").strip()
        out["budget_cents"] = self.budget.data
        if "max_request" in self._fields:
            out["rules"] = {"min_request_cents": self.min_request.data,
                            "max_request_cents": self.max_request.data,
                            "max_share_of_cost": _share(self.max_share.data)}
        for name in ("min_total", "disagreement_threshold"):
            if name in self._fields:
                out[name] = self[name].data
        if "partial_min_share" in self._fields:
            out["partial_min_share"] = _share(self.partial_min_share.data)
        # left blank: the call keeps its threshold (the default for a new call)
        if "convention_threshold" in self._fields and self.convention_threshold.data is not None:
            out["convention_threshold_cents"] = self.convention_threshold.data
        if "report_gap_threshold" in self._fields and self.report_gap_threshold.data is not None:
            out["report_gap_threshold"] = _share(self.report_gap_threshold.data)
        if "envelopes" in self._fields:
            out["envelopes"] = [
                {"key": (e.form.key.data or "").strip() or slug(e.form.label.data),
                 "label": e.form.label.data.strip(), "budget_cents": e.form.budget.data}
                for e in self.envelopes.entries if not e.form.blank()]
        if "grid" in self._fields:
            out["grid"] = [
                {"key": (c.form.key.data or "").strip() or slug(c.form.label.data),
                 "label": c.form.label.data.strip(), "weight": c.form.weight.data or 1,
                 "max": c.form.max.data}
                for c in self.grid.entries if not c.form.blank()]
        return out

    # --- errors -------------------------------------------------------------------
    def show_problems(self, problems: dict[str, list[str]]) -> list[str]:
        """Attach the service's per-field problems to the form; return the others."""
        general: list[str] = []
        for key, messages in problems.items():
            name = SERVICE_FIELDS.get(key, key)
            if name in ("envelopes", "grid") and name in self._fields:
                self.group_errors.setdefault(name, []).extend(messages)
            elif name in self._fields and name != "csrf_token":
                self[name].errors = [*self[name].errors, *messages]
            else:
                general.extend(messages)
        return general

    def error_list(self) -> list[tuple[str, str, list[str]]]:
        """(anchor, label, messages) of every error, nested rows included, in order."""
        out: list[tuple[str, str, list[str]]] = []
        for field in self:
            if field.name == "csrf_token":
                continue
            if isinstance(field, FieldList):
                for message in self.group_errors.get(field.name, []):
                    out.append((f"{field.id}-legend", "", [message]))
                for i, entry in enumerate(field.entries, 1):
                    for sub in entry.form:
                        if sub.errors:
                            out.append((sub.id, f"{ROW_LABELS[field.name]} {i} — "
                                        f"{sub.label.text}", list(sub.errors)))
            elif field.errors:
                out.append((field.id, str(field.label.text), list(field.errors)))
        return out


class JuryForm(FlaskForm):
    juror_ids = MultiCheckboxField(_l("Membres du jury"), coerce=int, validate_choice=True)

    @classmethod
    def for_call(cls, call: Call, jurors: list, **kwargs) -> JuryForm:
        form = cls(**kwargs)
        form.juror_ids.choices = [(u.id, f"{u.display_name} ({u.email})") for u in jurors]
        if not form.is_submitted():
            form.juror_ids.data = [m.user_id for m in call.jury]
        return form


def _required(field, message) -> bool:
    """A filled row's field that must not stay empty; False (with the message) if not."""
    if field.errors or field.data not in (None, ""):
        return not field.errors
    field.errors.append(message)
    return False

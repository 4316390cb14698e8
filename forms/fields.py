"""Custom WTForms fields: euros typed the French way, stored as cents; multi-checkboxes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, StringField
from wtforms.validators import StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from aap.money import MAX_CENTS, euros_to_cents, format_eur


class EuroField(StringField):
    """An amount in euros ("12 500", "12 500,50 €") whose ``data`` is integer cents."""

    def __init__(self, label=None, validators=None, **kwargs) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        self.raw = valuelist[0] if valuelist else ""
        text = (self.raw or "").strip()
        if not text:
            self.data = None
            return
        try:
            cents = euros_to_cents(text)
        except ValueError as exc:
            self.data = None
            raise ValueError(
                _l("Montant invalide : tapez par exemple 12 500 ou 12 500,50.")) from exc
        if cents < 0:
            self.data = None
            raise ValueError(_l("Le montant ne peut pas être négatif."))
        if cents > MAX_CENTS:
            self.data = None
            raise ValueError(_l("Montant invraisemblable."))
        self.data = cents

    def pre_validate(self, form) -> None:
        """A required amount typed as blanks only is missing (InputRequired sees text)."""
        if self.flags.required and self.data is None and not self.process_errors:
            raise StopValidation(str(_l("Indiquez un montant.")))

    def _value(self) -> str:
        if getattr(self, "raw", None) is not None and self.errors:
            return self.raw  # give back exactly what was typed
        if self.data is None:
            return ""
        return format_eur(self.data).replace("\u202f€", "").replace("\xa0€", "").strip()


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ServiceProblems:
    """A form that shows a service's refusal: each per-field problem is attached to its
    input (``FIELD_MAP``: the service's field name → the form's), the others are returned
    to be shown above the form."""

    FIELD_MAP: dict[str, str] = {}

    def show_problems(self, problems: dict[str, list[str]] | None) -> list[str]:
        general: list[str] = []
        for key, messages in (problems or {}).items():
            name = self.FIELD_MAP.get(key, key)
            if name in self._fields and name != "csrf_token":
                self[name].errors = [*self[name].errors, *messages]
            else:
                general.extend(messages)
        return general

    def error_fields(self) -> list:
        return [f for f in self if f.errors and f.name != "csrf_token"]

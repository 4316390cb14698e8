"""Allocation runs: the what-if parameters of a simulation, and the commit confirmation."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from aap.allocation import OVERFLOW_RULES
from aap.allocation.engine import Parameters
from forms.call import OVERFLOW_LABELS
from forms.fields import EuroField

AGGREGATION_LABELS = {
    "mean": _l("Moyenne des notes des jurés"),
    "median": _l("Médiane des notes"),
    "centred": _l("Moyenne corrigée de la sévérité de chaque juré"),
    "normalized": _l("Notes centrées-réduites par juré"),
}
PERCENT = Decimal(100)


def _plain(value: Decimal | None) -> Decimal | None:
    """50.0000 shown as 50, 10.000 as 10: what a person would type."""
    return None if value is None else Decimal(format(Decimal(value).normalize(), "f"))


class AllocationForm(FlaskForm):
    """Every field starts from the call's setting; what the instructor changes is the
    what-if of the run."""

    budget = EuroField(_l("Budget à répartir (€)"), validators=[InputRequired()])
    min_total = DecimalField(_l("Note minimale pour être finançable"), places=None,
                             validators=[InputRequired(), NumberRange(min=0, max=1000)])
    overflow = SelectField(_l("Quand le dossier suivant ne tient pas dans le budget"),
                           choices=[(k, OVERFLOW_LABELS[k]) for k in OVERFLOW_RULES])
    partial_min_share = DecimalField(
        _l("Part minimale d'un financement partiel (%)"), places=None,
        validators=[InputRequired(), NumberRange(min=0, max=100)])
    aggregation = SelectField(_l("Agrégation des notes"),
                              choices=list(AGGREGATION_LABELS.items()))
    grey_zone = DecimalField(_l("Zone grise autour de la ligne de financement (points)"),
                             places=None, validators=[InputRequired(),
                                                      NumberRange(min=0, max=1000)])
    pool_leftovers = BooleanField(_l("Mettre en commun les reliquats des enveloppes"))
    cap_per_application = EuroField(_l("Plafond par dossier (€)"))
    cap_share_of_cost = DecimalField(_l("Plafond en part du coût du projet (%)"), places=None,
                                     validators=[Optional(), NumberRange(min=0.01, max=100)])
    cap_per_organisation = EuroField(_l("Plafond par organisation sur l'appel (€)"))
    seed = StringField(_l("Graine du tirage au sort"),
                       validators=[InputRequired(), Length(max=200)])

    def fill(self, params: Parameters) -> None:
        """Show the call's settings (and what is left of its budget) as the defaults."""
        self.budget.data = params.budget_cents
        self.min_total.data = _plain(params.min_total)
        self.overflow.data = params.overflow
        self.partial_min_share.data = _plain(params.partial_min_share * PERCENT)
        self.aggregation.data = params.aggregation
        self.grey_zone.data = _plain(params.grey_zone)
        self.pool_leftovers.data = params.pool_leftovers
        self.cap_per_application.data = params.cap_per_application_cents
        self.cap_share_of_cost.data = (None if params.cap_share_of_cost is None
                                       else _plain(params.cap_share_of_cost * PERCENT))
        self.cap_per_organisation.data = params.cap_per_organisation_cents
        self.seed.data = params.seed

    def overrides(self) -> dict:
        """The parameters as the allocation service takes them."""
        share = self.cap_share_of_cost.data
        return {
            "budget_cents": self.budget.data, "min_total": self.min_total.data,
            "overflow": self.overflow.data,
            "partial_min_share": self.partial_min_share.data / PERCENT,
            "aggregation": self.aggregation.data, "grey_zone": self.grey_zone.data,
            "pool_leftovers": bool(self.pool_leftovers.data),
            "cap_per_application_cents": self.cap_per_application.data,
            "cap_share_of_cost": None if share is None else share / PERCENT,
            "cap_per_organisation_cents": self.cap_per_organisation.data,
        }


class CommitForm(FlaskForm):
    confirm = BooleanField(
        _l("Je confirme : chaque dossier de la répartition passe dans l'état proposé, en "
           "liste d'attente ou refusé, et les porteurs refusés sont prévenus."),
        validators=[InputRequired(message=_l("Cochez la case pour confirmer."))])

"""The juror's forms: the scoring grid (one score and one comment per criterion, built
for the call's grid), the declaration of a conflict of interest, the confirmation."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from aap.models import Call, Review
from forms.fields import MultiCheckboxField

COMMENT_MAX = 5000
_SAFE = re.compile(r"[^A-Za-z0-9_]")


def criterion_field(prefix: str, key: str) -> str:
    return f"{prefix}_{_SAFE.sub('_', key)}"


class ScoreField(StringField):
    """A score typed the French way ("3", "3,5" or "3.5"); ``data`` is a Decimal or None."""

    def __init__(self, label=None, validators=None, *, max_score: int = 5, **kwargs) -> None:
        self.max_score = max_score
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        self.raw = valuelist[0] if valuelist else ""
        text = (self.raw or "").strip().replace("\u202f", "").replace(" ", "")
        self.data = None
        if not text:
            return
        try:
            value = Decimal(text.replace(",", "."))
        except InvalidOperation as exc:
            raise ValueError(_l("Tapez un nombre, par exemple 3 ou 3,5.")) from exc
        if not value.is_finite():
            raise ValueError(_l("Tapez un nombre, par exemple 3 ou 3,5."))
        if not Decimal(0) <= value <= self.max_score:
            raise ValueError(_l("La note doit être comprise entre 0 et %(max)s.",
                                max=self.max_score))
        if value != value.quantize(Decimal("0.01")):
            raise ValueError(_l("Deux décimales au plus, par exemple 3,25."))
        self.data = value

    def _value(self) -> str:
        if getattr(self, "raw", None) is not None and self.errors:
            return self.raw  # give back exactly what was typed
        if self.data is None:
            return ""
        text = format(self.data.normalize(), "f")
        return text.replace(".", ",")


class ReviewForm(FlaskForm):
    comment = TextAreaField(_l("Appréciation générale"),
                            validators=[Length(max=COMMENT_MAX, message=_l(
                                "%(max)d caractères au maximum."))],
                            render_kw={"rows": 5})

    @classmethod
    def for_call(cls, call: Call, review: Review | None = None, **kwargs) -> ReviewForm:
        """A form class with one score and one comment field per criterion of the grid."""
        attrs = {}
        for criterion in call.criteria:
            attrs[criterion_field("score", criterion.key)] = ScoreField(
                _l("Note sur %(max)s", max=criterion.max_score), max_score=criterion.max_score,
                render_kw={"inputmode": "decimal", "autocomplete": "off",
                           "data-weight": str(criterion.weight),
                           "data-max": str(criterion.max_score)})
            attrs[criterion_field("comment", criterion.key)] = TextAreaField(
                _l("Commentaire sur ce critère (facultatif)"),
                validators=[Length(max=COMMENT_MAX, message=_l(
                    "%(max)d caractères au maximum."))],
                render_kw={"rows": 3})
        form_class = type("CallReviewForm", (cls,), attrs)
        form = form_class(**kwargs)
        form.call = call
        if review is not None and not form.is_submitted():
            form.load(review)
        return form

    def score_field(self, key: str):
        return self[criterion_field("score", key)]

    def comment_field(self, key: str):
        return self[criterion_field("comment", key)]

    def load(self, review: Review) -> None:
        given = {s.criterion_key: s for s in review.scores}
        for criterion in self.call.criteria:
            row = given.get(criterion.key)
            self.score_field(criterion.key).data = row.score if row else None
            self.comment_field(criterion.key).data = row.comment if row else ""
        self.comment.data = review.comment or ""

    def check_grid(self, submit: bool) -> bool:
        """A comment needs its criterion's score (it is stored with it); a submission
        needs every criterion scored. Messages on the fields; False when any."""
        ok = True
        for criterion in self.call.criteria:
            score, comment = self.score_field(criterion.key), self.comment_field(criterion.key)
            if score.errors:
                ok = False
                continue
            if score.data is None and submit:
                score.errors = [*score.errors, str(_l(
                    "Notez ce critère avant de transmettre votre évaluation."))]
                ok = False
            elif score.data is None and (comment.data or "").strip():
                score.errors = [*score.errors, str(_l(
                    "Notez ce critère pour enregistrer son commentaire."))]
                ok = False
        return ok

    def values(self) -> dict:
        """The data for ``aap.services.reviews.save_review``."""
        scores = {c.key: self.score_field(c.key).data for c in self.call.criteria
                  if self.score_field(c.key).data is not None}
        comments = {c.key: (self.comment_field(c.key).data or "").strip()
                    for c in self.call.criteria}
        return {"scores": scores, "comments": comments,
                "comment": (self.comment.data or "").strip(), "replace_scores": True}

    def show_problems(self, problems: dict[str, list[str]]) -> list[str]:
        """Attach the service's per-field problems (``scores.key``) to the fields."""
        general = []
        for name, messages in problems.items():
            prefix, _, key = name.partition(".")
            target = {"scores": "score", "comments": "comment"}.get(prefix)
            field_name = criterion_field(target, key) if target and key else None
            if field_name and field_name in self._fields:
                self[field_name].errors = [*self[field_name].errors, *messages]
            else:
                general.extend(messages)
        return general


class ConflictForm(FlaskForm):
    reason = TextAreaField(
        _l("Nature du lien (facultatif)"),
        validators=[Length(max=2000, message=_l("%(max)d caractères au maximum."))],
        render_kw={"rows": 3})


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token."""


# ---- the instructor's jury forms ----

class AssignmentForm(FlaskForm):
    mode = RadioField(_l("Mode d'attribution"), choices=[
        SelectChoice("all", _l("Tout le jury sur chaque dossier")),
        SelectChoice("envelope",
                     _l("Par enveloppe : les jurés choisis ci-dessous pour chaque enveloppe")),
        SelectChoice("balanced", _l("N jurés par dossier, répartis selon la charge de chacun")),
    ], default="all", validators=[InputRequired(_l("Choisissez un mode d'attribution."))])
    per_application = IntegerField(
        _l("Nombre de jurés par dossier (mode réparti)"), default=2,
        validators=[Optional(), NumberRange(min=1, max=50, message=_l(
            "Entre %(min)s et %(max)s jurés."))],
        render_kw={"inputmode": "numeric", "min": 1, "max": 50})

    @classmethod
    def for_call(cls, call: Call, jurors: list, **kwargs) -> AssignmentForm:
        attrs = {envelope_field(e.key): MultiCheckboxField(e.label, coerce=int, choices=[
            SelectChoice(str(u.id), u.display_name) for u in jurors], validate_choice=True)
            for e in call.envelopes}
        form = type("CallAssignmentForm", (cls,), attrs)(**kwargs)
        form.call = call
        return form

    def envelope_fields(self) -> list:
        return [self[envelope_field(e.key)] for e in self.call.envelopes]

    def by_envelope(self) -> dict[str, list[int]]:
        return {e.key: list(self[envelope_field(e.key)].data or [])
                for e in self.call.envelopes}


def envelope_field(key: str) -> str:
    return criterion_field("envelope", key)


class RecordConflictForm(FlaskForm):
    application_id = SelectField(_l("Dossier"), coerce=int, validate_choice=True)
    juror_id = SelectField(_l("Juré"), coerce=int, validate_choice=True)
    reason = TextAreaField(_l("Nature du conflit"), validators=[
        InputRequired(_l("Précisez la nature du conflit.")),
        Length(max=2000, message=_l("%(max)d caractères au maximum."))],
        render_kw={"rows": 2})


class CloseReviewForm(FlaskForm):
    force = BooleanField(_l("Clore aussi les dossiers dont des évaluations manquent"))
    reason = TextAreaField(
        _l("Motif (obligatoire pour clore avec des évaluations manquantes)"),
        validators=[Length(max=2000, message=_l("%(max)d caractères au maximum."))],
        render_kw={"rows": 2})

    def validate_reason(self, field) -> None:
        if self.force.data and not (field.data or "").strip():
            raise ValidationError(_l("Indiquez pourquoi vous closez malgré les évaluations "
                                     "manquantes."))

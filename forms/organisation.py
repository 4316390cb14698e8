from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from forms.validators import EmailAddress


class OrganisationForm(FlaskForm):
    name = StringField(_l("Raison sociale"), validators=[
        DataRequired(_l("La raison sociale est obligatoire.")), Length(max=300)])
    siret = StringField(_l("SIRET (14 chiffres)"), validators=[
        DataRequired(_l("Le SIRET est obligatoire.")), Length(max=20)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"})
    rna = StringField(_l("Numéro RNA (W suivi de 9 chiffres)"),
                      validators=[Optional(), Length(max=12)])
    address = StringField(_l("Adresse"), validators=[
        DataRequired(_l("L'adresse est obligatoire.")), Length(max=300)],
        render_kw={"autocomplete": "street-address"})
    postcode = StringField(_l("Code postal"), validators=[
        DataRequired(_l("Le code postal est obligatoire.")), Length(max=10)],
        render_kw={"inputmode": "numeric", "autocomplete": "postal-code"})
    city = StringField(_l("Commune"), validators=[
        DataRequired(_l("La commune est obligatoire.")), Length(max=120)])
    legal_representative = StringField(_l("Représentant légal"), validators=[
        DataRequired(_l("Le représentant légal est obligatoire.")), Length(max=200)])
    email = EmailField(_l("Courriel de contact"), validators=[
        Optional(), EmailAddress(), Length(max=254)])
    phone = StringField(_l("Téléphone"), validators=[Optional(), Length(max=30)],
                        render_kw={"autocomplete": "tel"})
    iban = StringField(_l("IBAN"), validators=[Optional(), Length(max=42)],
                       render_kw={"autocomplete": "off"})
    bic = StringField(_l("BIC"), validators=[Optional(), Length(max=11)])

    def values(self) -> dict:
        return {name: field.data for name, field in self._fields.items()
                if name != "csrf_token"}


class InvitationForm(FlaskForm):
    email = EmailField(_l("Adresse électronique de la personne à inviter"), validators=[
        DataRequired(_l("Indiquez une adresse.")), EmailAddress(),
        Length(max=254)])


class JoinRequestForm(FlaskForm):
    """Ask the members of an organisation (found by its SIRET) to let me join it."""

    message = TextAreaField(
        _l("Message aux membres (facultatif)"),
        validators=[Optional(), Length(max=1000, message=_l(
            "1 000 caractères au maximum."))],
        render_kw={"rows": 4, "maxlength": 1000})

"""Forms of the account pages: API tokens and the deletion of the account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length


class TokenForm(FlaskForm):
    label = StringField(_l("Nom du jeton"), validators=[
        DataRequired(_l("Nommez le jeton (par exemple : logiciel financier).")),
        Length(max=100, message=_l("100 caractères au plus."))],
        render_kw={"autocomplete": "off", "maxlength": 100})
    days = SelectField(_l("Durée de validité"), coerce=int, default=30, choices=[
        (7, _l("7 jours")), (30, _l("30 jours")), (90, _l("90 jours")), (365, _l("1 an"))],
        validate_choice=True)


class RevokeTokenForm(FlaskForm):
    """CSRF only: the token to revoke is in the URL."""


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Mot de passe actuel"), validators=[
        DataRequired(_l("Saisissez votre mot de passe pour confirmer."))],
        render_kw={"autocomplete": "current-password"})
    confirm = BooleanField(_l("Je comprends que la suppression est définitive."), validators=[
        DataRequired(_l("Cochez la case pour confirmer la suppression."))])

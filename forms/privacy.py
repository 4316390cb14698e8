"""Forms of the account pages: API tokens and the deletion of the account."""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length


class TokenForm(FlaskForm):
    label = StringField(_l("Nom du jeton"), validators=[
        DataRequired(_l("Nommez le jeton (par exemple : logiciel financier).")),
        Length(max=100, message=_l("100 caractères au plus."))],
        render_kw={"autocomplete": "off", "maxlength": 100})
    days = SelectField(_l("Durée de validité"), coerce=int, default=30, choices=[
        (7, _l("7 jours")), (30, _l("30 jours")), (90, _l("90 jours")), (365, _l("1 an"))],
        validate_choice=True)
    #: One value per page shown: posting the same page again (a reload of the answer
    #: that shows the new token) does not create a second token.
    once = HiddenField(default=lambda: secrets.token_urlsafe(16))


class RevokeTokenForm(FlaskForm):
    """CSRF only: the token to revoke is in the URL."""


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Mot de passe actuel"), validators=[
        DataRequired(_l("Saisissez votre mot de passe pour confirmer."))],
        render_kw={"autocomplete": "current-password"})
    confirm = BooleanField(_l("Je comprends que la suppression est définitive."), validators=[
        DataRequired(_l("Cochez la case pour confirmer la suppression."))])

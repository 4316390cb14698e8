from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from forms.validators import EmailAddress


class RegisterForm(FlaskForm):
    name = StringField(_l("Nom et prénom"), validators=[
        DataRequired(_l("Indiquez votre nom.")), Length(max=200)],
        render_kw={"autocomplete": "name"})
    email = EmailField(_l("Adresse électronique"), validators=[
        DataRequired(_l("Indiquez votre adresse électronique.")),
        EmailAddress(), Length(max=254)],
        render_kw={"autocomplete": "email"})
    password = PasswordField(_l("Mot de passe (12 caractères au moins)"),
                             validators=[DataRequired(_l("Choisissez un mot de passe.")),
                                         Length(max=200)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Confirmez le mot de passe"), validators=[
        EqualTo("password", _l("Les deux mots de passe diffèrent."))],
        render_kw={"autocomplete": "new-password"})


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Adresse électronique"), validators=[
        DataRequired(_l("Indiquez votre adresse électronique.")),
        EmailAddress(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("Nouveau mot de passe"), validators=[
        DataRequired(_l("Choisissez un mot de passe.")), Length(max=200)],
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Confirmez le mot de passe"), validators=[
        EqualTo("password", _l("Les deux mots de passe diffèrent."))],
        render_kw={"autocomplete": "new-password"})


class ChangePasswordForm(FlaskForm):
    """« Mon compte » → change the password: the current one, the new one twice. The
    policy (aap.services.accounts.password_problems) is checked by the service."""

    current_password = PasswordField(_l("Mot de passe actuel"), validators=[
        DataRequired(_l("Saisissez votre mot de passe actuel.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("Nouveau mot de passe"), validators=[
        DataRequired(_l("Choisissez un mot de passe."))],
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Confirmez le nouveau mot de passe"), validators=[
        DataRequired(_l("Confirmez le nouveau mot de passe.")),
        EqualTo("new_password", _l("Les deux mots de passe diffèrent."))],
        render_kw={"autocomplete": "new-password"})

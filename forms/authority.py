"""Authorities (admin), their staff (managers) and the acceptance of a staff invitation."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from aap.services import identifiers
from aap.services.staff_invitations import STAFF_ROLE_LABELS
from forms.account import RegisterForm
from forms.fields import MultiCheckboxField, ServiceProblems
from forms.validators import EmailAddress

#: The kinds of authority (SPEC 3), as the admin reads them.
KIND_LABELS = {
    "metropole": _l("métropole"),
    "council": _l("conseil de territoire"),
    "commune": _l("commune"),
    "department": _l("département"),
    "region": _l("région"),
    "other": _l("autre"),
}
NO_PARENT = ""


class AuthorityForm(ServiceProblems, FlaskForm):
    """Create or edit an authority; ``parent_id`` choices are set by the view (never the
    authority itself nor one of its descendants)."""

    FIELD_MAP = {"parent": "parent_id"}

    name = StringField(_l("Nom"), validators=[
        DataRequired(_l("Indiquez le nom de la collectivité.")),
        Length(max=200, message=_l("200 caractères au maximum."))])
    kind = SelectField(_l("Type"), choices=[SelectChoice("", _l("— Choisir —")),
                                            *(SelectChoice(k, v) for k, v in KIND_LABELS.items())],
                       validators=[DataRequired(_l("Choisissez le type de collectivité."))],
                       validate_choice=False)
    siret = StringField(_l("SIRET (14 chiffres)"), validators=[
        DataRequired(_l("Indiquez le SIRET de la collectivité.")),
        Length(max=20, message=_l("Le SIRET compte 14 chiffres."))],
        render_kw={"inputmode": "numeric", "autocomplete": "off"})
    parent_id = SelectField(_l("Collectivité parente"), choices=[], validate_choice=False)

    def validate_siret(self, field) -> None:
        """Checked here too, so that a wrong SIRET shows with the form's other problems."""
        try:
            identifiers.clean_siret(field.data or "")
        except ValueError as exc:
            raise ValidationError(_(str(exc))) from exc

    def set_parents(self, authorities: list[tuple[int, str]]) -> None:
        self.parent_id.choices = [
            SelectChoice(NO_PARENT, _l("Aucune (collectivité de premier rang)")),
            *(SelectChoice(str(i), name) for i, name in authorities)]

    def values(self) -> dict:
        """The fields as the authorities service takes them."""
        parent = self.parent_id.data
        return {"name": (self.name.data or "").strip(), "kind": self.kind.data,
                "siret": (self.siret.data or "").strip(),
                "parent_id": int(parent) if parent and parent.isdecimal() else None}


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(role, _l(label)) for role, label in STAFF_ROLE_LABELS.items()]


class StaffMemberForm(ServiceProblems, FlaskForm):
    """Add someone to the team: an existing account gets the roles now, an address with
    no account is sent an invitation."""

    email = EmailField(_l("Adresse électronique"), validators=[
        DataRequired(_l("Indiquez une adresse.")), EmailAddress(), Length(max=254)],
        render_kw={"autocomplete": "off", "spellcheck": "false"})
    roles = MultiCheckboxField(_l("Rôles dans la collectivité"), choices=_role_choices,
                               validate_choice=False)

    def validate_roles(self, field) -> None:
        """At least one role (not DataRequired: its flag would make every box required)."""
        if not field.data:
            raise ValidationError(str(_l("Choisissez au moins un rôle.")))


class MemberRolesForm(FlaskForm):
    """The roles of one member in the authority; none removes the person from the team."""

    roles = MultiCheckboxField(_l("Rôles"), choices=_role_choices, validate_choice=False)


class AcceptStaffInvitationForm(ServiceProblems, RegisterForm):
    """The invited person's new account: its address is the invitation's, not typed."""

    email = None

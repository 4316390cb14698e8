"""WTForms validators shared by the forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from aap.services import emails


class EmailAddress:
    """An e-mail address, checked by ``aap.services.emails`` as the API and the services do
    (an empty field is left to ``Optional`` or ``DataRequired``)."""

    def __init__(self, message=None) -> None:
        self.message = message or _l("Adresse électronique invalide.")

    def __call__(self, form, field) -> None:
        if field.data and not emails.is_valid(field.data):
            raise ValidationError(str(self.message))

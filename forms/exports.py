"""The small form behind every « export » button: which export, of what (hidden fields
checked by the jobs service, which refuses anything malformed)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import InputRequired, Length, Optional

#: The parameters an export button may carry (each kind reads the ones it needs).
PARAMETERS = ("call_id", "fiscal_year")


class StartExportForm(FlaskForm):
    kind = HiddenField(validators=[InputRequired(), Length(max=40)])
    call_id = HiddenField(validators=[Optional(), Length(max=12)])
    fiscal_year = HiddenField(validators=[Optional(), Length(max=12)])

    def parameters(self) -> dict[str, str]:
        return {name: getattr(self, name).data for name in PARAMETERS
                if getattr(self, name).data}

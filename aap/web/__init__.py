"""Server-rendered web UI: one blueprint per audience."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext

from aap.extensions import login_manager
from aap.web.helpers import N_

# Flask-Login's message, set in the factory; listed here for the extractor.
LOGIN_MESSAGE = N_("Connectez-vous pour accéder à cette page.")


def register_web(app: Flask) -> None:
    from aap.web import (
        account,
        admin,
        applicant,
        dossier,
        finance,
        instructor,
        instructor_allocation,  # noqa: F401 - adds the allocation pages to the instructor bp
        instructor_decisions,
        instructor_jury,  # noqa: F401 - adds the jury pages to the instructor blueprint
        jury,
        manager,
        public,
    )

    # Flask-Login shows its messages through this callback: translated like the rest
    login_manager.localize_callback = gettext
    for module in (public, applicant, instructor, jury, finance, admin, dossier,
                   instructor_decisions, manager, account):
        app.register_blueprint(module.bp)

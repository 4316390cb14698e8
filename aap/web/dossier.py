"""One application, for anyone allowed to see it: its file and its timeline."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from aap.services import applications, audit
from aap.vocabulary import BUDGET_LINES
from workflows import get_workflow

bp = Blueprint("dossier", __name__, url_prefix="/dossiers")


@bp.get("/<int:application_id>")
@login_required
def detail(application_id: int):
    app = applications.get_visible(current_user, application_id)
    workflow = get_workflow(app.call.workflow)
    return render_template(
        "dossier/detail.html", app=app, events=audit.trail(app.id),
        budget=app.budget(), lines=BUDGET_LINES,
        triggers=[s.trigger for s in workflow.allowed_for(current_user, app)],
    )

"""One application, for anyone allowed to see it: its file and its timeline."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from aap.services import applications, audit
from aap.vocabulary import BUDGET_LINES
from workflows import get_workflow

bp = Blueprint("dossier", __name__, url_prefix="/dossiers")


def budget_rows(budget: dict[str, dict[str, int]]) -> dict[str, list[tuple[str, int]]]:
    """Each side's (label, cents) lines in the order of the CERFA form, unknown codes last."""
    rows: dict[str, list[tuple[str, int]]] = {}
    for side, lines in BUDGET_LINES.items():
        amounts = budget.get(side, {})
        order = {code: i for i, code in enumerate(lines)}
        rows[side] = [(lines.get(code, code), cents) for code, cents in
                      sorted(amounts.items(), key=lambda item: (order.get(item[0], 999), item[0]))]
    return rows


@bp.get("/<int:application_id>")
@login_required
def detail(application_id: int):
    app = applications.get_visible(current_user, application_id)
    workflow = get_workflow(app.call.workflow)
    return render_template(
        "dossier/detail.html", app=app, events=audit.trail(app.id),
        budget=budget_rows(app.budget()),
        triggers=[s.trigger for s in workflow.allowed_for(current_user, app)],
    )

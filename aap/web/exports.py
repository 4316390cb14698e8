"""Background exports in the web UI: start one (POST, CSRF), follow its progress on a
page that refreshes itself until the file is ready, download it (its requester only),
and « Mes exports », the user's recent exports. The jobs service does the work."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import HiddenField
from wtforms.validators import Length, Optional

from aap.services import jobs, policies
from aap.web.access import page_arg
from forms.exports import StartExportForm as BaseStartExportForm

bp = Blueprint("exports", __name__, url_prefix="/exports")
PER_PAGE = 25
#: Seconds between two automatic refreshes of a pending job's page.
REFRESH_SECONDS = 2


class StartExportForm(BaseStartExportForm):
    """The export button's form, with the authority a year's workbook may be narrowed to
    (checked by the jobs service like the other parameters)."""

    authority_id = HiddenField(validators=[Optional(), Length(max=12)])

    def parameters(self) -> dict[str, str]:
        params = super().parameters()
        if self.authority_id.data:
            params["authority_id"] = self.authority_id.data
        return params


def _exporter_only() -> None:
    if not policies.may_export(current_user):
        abort(403, description=_("Les exports sont réservés aux finances et à l'instruction."))


@bp.post("/")
@login_required
def start():
    form = StartExportForm()
    if not form.validate():
        abort(400, description=_("Demande d'export invalide."))
    job = jobs.start(form.kind.data, form.parameters(), current_user)
    return redirect(url_for(".job", job_id=job.id), 303)


@bp.get("/")
@login_required
def mine():
    _exporter_only()
    page = page_arg(request.args.get("page"))
    items, total = jobs.recent_jobs(current_user, page, PER_PAGE)
    return render_template("exports/list.html", items=items, total=total, page=page,
                           pages=max(1, -(-total // PER_PAGE)),
                           descriptions=jobs.descriptions(items))


@bp.get("/<int:job_id>")
@login_required
def job(job_id: int):
    found = jobs.job_for(current_user, job_id)
    auto = request.args.get("auto") != "0"
    response = make_response(render_template(
        "exports/job.html", job=found, description=jobs.descriptions([found])[found.id],
        auto=auto, refresh=REFRESH_SECONDS))
    if found.pending and auto:
        # The HTTP form of <meta http-equiv="refresh">: no script needed, and the page
        # offers a link that stops it (RGAA 13.1).
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:job_id>/fichier")
@login_required
def download(job_id: int):
    path, name = jobs.file_for(current_user, job_id)
    response = send_file(path, as_attachment=True, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response

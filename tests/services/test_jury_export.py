import io

import pandas as pd
from openpyxl import load_workbook

from aap.services import reviews
from aap.services.exports import jury
from tests.factories import PASSWORD


def _scored_call(world):
    apps = [world.bring_to(world.application(), "in_review") for _ in range(3)]
    marks = {world.users["juror"]: [(5, 5), (3, 2), (1, 1)],
             world.users["juror2"]: [(4, 4), (2, 2), (0, 1)]}
    for juror, per_app in marks.items():
        for app, (p, f) in zip(apps, per_app, strict=True):
            reviews.save_review(juror, app, {"scores": {"pertinence": p, "faisabilite": f},
                                             "submit": True})
    return apps


def test_the_jury_workbook_has_scores_aggregates_and_a_chart(client, world):
    apps = _scored_call(world)
    token = client.post("/api/v1/auth/token", json={
        "email": world.users["instructor"].email, "password": PASSWORD}).get_json()["token"]
    response = client.get(f"/api/v1/calls/{world.call.id}/exports/jury.xlsx",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    content = response.data
    sheets = pd.read_excel(io.BytesIO(content), sheet_name=None)
    assert list(sheets) == ["Dossiers", "Jurés", "Distribution"]
    rows = sheets["Dossiers"].set_index("Référence")
    first = rows.loc[apps[0].reference]
    assert first["Julie Jurée"] == 20.0 and first["Jules Juré"] == 16.0
    assert first["Score (mean)"] == 18.0 and first["Rang"] == 1
    assert rows.loc[apps[2].reference]["Rang"] == 3
    jurors = sheets["Jurés"].set_index("Juré")
    assert jurors.loc["Jules Juré", "Moyenne donnée"] < jurors.loc["Julie Jurée",
                                                                   "Moyenne donnée"]
    workbook = load_workbook(io.BytesIO(content))
    assert workbook["Distribution"]._charts, "the distribution chart is native"
    assert workbook["Dossiers"].freeze_panes == "A2"


def test_only_instructors_get_the_jury_report(client, world):
    for role in ("applicant", "finance", "juror"):
        token = client.post("/api/v1/auth/token", json={
            "email": world.users[role].email, "password": PASSWORD}).get_json()["token"]
        response = client.get(f"/api/v1/calls/{world.call.id}/exports/jury.xlsx",
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403


def test_an_empty_call_still_gives_a_workbook(world):
    assert jury.build(world.call)[:2] == b"PK"

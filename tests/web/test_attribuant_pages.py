"""The convention and the applicant's pages name the fund's attribuant as the exports do:
the authority that runs the fund (its name and SIRET), not the owner typed on the fund."""

from __future__ import annotations

from aap.extensions import db
from aap.services import conventions
from tests import factories

AUTHORITY, SIRET = "Ville de Vitrolles", "21130117100014"
OLD_OWNER = "Nom saisi sur le dispositif"


def _vitrolles_call(world):
    commune = factories.make_authority(AUTHORITY, "commune", siret=SIRET)
    world.fund.authority_id = commune.id
    world.fund.owner_name = OLD_OWNER
    db.session.commit()
    return world.call


def test_the_convention_is_signed_for_the_authority(world):
    _vitrolles_call(world)
    granted = world.bring_to(world.application(requested_cents=25_000_50), "granted")
    html = conventions.render_html(conventions.document(world.users["instructor"],
                                                        granted.id))
    assert f"<strong>{AUTHORITY}</strong>, SIRET {SIRET}" in html
    assert OLD_OWNER not in html


def test_the_applicant_asks_the_authority_for_the_grant(client, world, log_in):
    call = _vitrolles_call(world)
    log_in(world.users["applicant"])
    page = client.get(f"/porteur/appels/{call.id}/nouveau-dossier").text
    assert AUTHORITY in page and OLD_OWNER not in page

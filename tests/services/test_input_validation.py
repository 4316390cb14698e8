"""Invalid data refused with a French message by the services (web and API alike): an action
that ends before it starts, filenames with bidirectional or control characters, e-mail
addresses that are not addresses."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select, text

from aap.errors import ValidationFailed
from aap.extensions import db
from aap.models import Application, Attachment, AuditEvent
from aap.services import accounts, applications, attachments, emails, organisations
from tests import factories

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
REVERSED = {"ends_on": ["La date de fin précède la date de début."]}


# -- an action may not end before it starts -----------------------------------------------

def test_create_refuses_an_end_before_the_start(world):
    user = world.users["applicant"]
    with pytest.raises(ValidationFailed) as caught:
        applications.create(user, {"call_id": world.call.id, "organisation_id": world.org.id,
                                   "title": "Inversé", "starts_on": date(2026, 9, 1),
                                   "ends_on": date(2026, 8, 31)})
    assert caught.value.fields == REVERSED
    db.session.rollback()
    assert db.session.scalar(select(Application).where(Application.title == "Inversé")) is None
    one_day = applications.create(user, {
        "call_id": world.call.id, "organisation_id": world.org.id,
        "starts_on": date(2026, 9, 1), "ends_on": date(2026, 9, 1)})
    assert one_day.starts_on == one_day.ends_on == date(2026, 9, 1)


def test_the_reversed_dates_are_reported_with_the_other_problems(world):
    app = factories.make_application(world.call, world.org, starts_on=date(2026, 9, 1))
    with pytest.raises(ValidationFailed) as caught:
        applications.update(world.users["applicant"], app.id,
                            {"ends_on": date(2026, 8, 1), "title": "x" * 301})
    assert set(caught.value.fields) == {"title", "ends_on"}
    assert caught.value.fields["ends_on"] == REVERSED["ends_on"]


@pytest.mark.parametrize(("change", "refused"), [
    ({"ends_on": date(2026, 8, 31)}, True),  # before the stored start
    ({"starts_on": date(2027, 1, 1)}, True),  # after the stored end
    ({"starts_on": date(2026, 12, 31), "ends_on": date(2026, 12, 1)}, True),
    ({"ends_on": date(2026, 9, 1)}, False),  # same day as the start
    ({"starts_on": None}, False),  # one date unknown: nothing to compare
    ({"title": "Titre seul"}, False),
])
def test_update_compares_with_the_stored_date_left_out(world, change, refused):
    app = factories.make_application(world.call, world.org, starts_on=date(2026, 9, 1),
                                     ends_on=date(2026, 12, 31))
    user = world.users["applicant"]
    if refused:
        with pytest.raises(ValidationFailed) as caught:
            applications.update(user, app.id, {**change, "title": "Pas enregistré"})
        assert caught.value.fields == REVERSED
        db.session.rollback()
        stored = db.session.get(Application, app.id)
        assert (stored.starts_on, stored.ends_on) == (date(2026, 9, 1), date(2026, 12, 31))
        assert stored.title != "Pas enregistré"
    else:
        applications.update(user, app.id, change)
        stored = db.session.get(Application, app.id)
        for name, value in change.items():
            assert getattr(stored, name) == value


# -- filenames --------------------------------------------------------------------------

# Each character the name must lose: bidirectional embeddings, overrides and isolates,
# marks, zero-width characters, BOM, C0 and C1 controls, DEL.
INVISIBLE = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F,
                              0x061C, 0x200B, 0x200C, 0x200D, 0xFEFF, 0x2060, 0x00AD, 0x0000,
                              0x0007, 0x001B, 0x007F, 0x0080, 0x009B)]
# ... and those that separate words: a space instead
BLANKS = ["\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_invisible_characters_are_removed(char):
    assert attachments.clean_filename(f"rap{char}port.pdf", "pdf") == "rapport.pdf"


@pytest.mark.parametrize("char", BLANKS, ids=lambda c: f"U+{ord(c):04X}")
def test_line_breaks_and_tabs_become_one_space(char):
    assert attachments.clean_filename(f"rapport{char}{char}final.pdf", "pdf") == \
        "rapport final.pdf"


@pytest.mark.parametrize(("typed", "stored"), [
    ("facture\u202efdp.exe", "facturefdp.exe.pdf"),  # reads "facture exe.pdf" otherwise
    ("facture\u202Egnp.pdf", "facturegnp.pdf"),
    ("\u2067\u202e\u200b", "piece.pdf"),  # nothing left: a sane name
    ("\u202e.pdf", "piece.pdf"),
    ("", "piece.pdf"),
    ("../../etc/passwd", "passwd.pdf"),
    ("C:\\Users\\camille\\Statuts.PDF", "Statuts.PDF"),
    ("  .Statuts  2025 .pdf", "Statuts 2025.pdf"),
    ("شهادة.pdf", "شهادة.pdf"),  # right-to-left letters are letters: kept
    ("x" * 300 + ".pdf", "x" * 200 + ".pdf"),
])
def test_clean_filename(typed, stored):
    assert attachments.clean_filename(typed, "pdf") == stored


def test_the_stored_name_has_no_override(world):
    app = factories.make_application(world.call, world.org)
    attachment = attachments.add_attachment(
        world.users["applicant"], app.id, "statutes",
        attachments.Upload("facture\u202efdp.exe", io.BytesIO(PDF)))
    db.session.expire_all()
    stored = db.session.get(Attachment, attachment.id)
    assert stored.filename == "facturefdp.exe.pdf"
    raw = db.session.execute(text("SELECT filename FROM attachment WHERE id = :id"),
                             {"id": attachment.id}).scalar_one()
    assert raw == "facturefdp.exe.pdf"
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.application_id == app.id, AuditEvent.action == "upload")).one()
    assert event.data["filename"] == "facturefdp.exe.pdf"


def test_a_name_stored_before_is_shown_clean_without_being_rewritten(world):
    app = factories.make_application(world.call, world.org)
    attachment = attachments.add_attachment(
        world.users["applicant"], app.id, "statutes",
        attachments.Upload("statuts.pdf", io.BytesIO(PDF)))
    db.session.execute(text("UPDATE attachment SET filename = :name WHERE id = :id"),
                       {"name": "statuts\u202efdp.exe.pdf", "id": attachment.id})
    db.session.commit()
    db.session.expire_all()
    loaded, _path = attachments.open_attachment(world.users["applicant"], app.id,
                                                attachment.id)
    assert loaded.filename == "statutsfdp.exe.pdf"
    assert not db.session.dirty
    db.session.commit()
    raw = db.session.execute(text("SELECT filename FROM attachment WHERE id = :id"),
                             {"id": attachment.id}).scalar_one()
    assert raw == "statuts\u202efdp.exe.pdf"


# -- e-mail addresses ----------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["nope", "nope@", "@exemple.fr", "a b@exemple.fr",
                                   "camille@exemple", "camille@@exemple.fr",
                                   "camille@exemple..fr", "camille@localhost", " "])
def test_not_an_address(typed):
    with pytest.raises(ValueError, match=r"^Adresse électronique invalide\.$"):
        emails.normalise(typed)
    assert not emails.is_valid(typed)


def test_an_address_is_normalised():
    assert emails.normalise("  Camille.Martin@Exemple.FR ") == "Camille.Martin@exemple.fr"


def test_organisation_email_is_checked():
    data = {"name": "A", "siret": "73282932000074", "address": "1 rue", "postcode": "13001",
            "city": "Marseille", "legal_representative": "C. M."}
    with pytest.raises(ValidationFailed) as caught:
        organisations.clean({**data, "email": "nope"})
    assert caught.value.fields == {"email": ["Adresse électronique invalide."]}
    assert organisations.clean({**data, "email": "Contact@Exemple.FR"})["email"] == \
        "Contact@exemple.fr"
    assert organisations.clean({**data, "email": "  "})["email"] is None


def test_invitation_and_registration_refuse_nope(world):
    with pytest.raises(ValidationFailed) as caught:
        organisations.invite(world.users["applicant"], world.org, "nope", lambda t: t)
    assert caught.value.fields == {"email": ["Adresse électronique invalide."]}
    with pytest.raises(ValidationFailed) as caught:
        accounts.register("nope", "Ateliers-du-samedi-2026", "Camille")
    assert "email" in caught.value.fields

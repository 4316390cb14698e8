"""Attachments: type checked by content, size capped, stored outside the web root under
random names, served only to those who may see the application. An application holds at
most MAX_ATTACHMENTS_PER_APPLICATION files and MAX_APPLICATION_UPLOAD_BYTES in all,
checked under the application's row lock (ASVS 12.1.3). The original filename is
kept for display and download, without path, control or format characters (a right-to-left
override makes "facture\u202efdp.exe" read "facture exe.pdf")."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import BinaryIO

import filetype
from flask import current_app
from sqlalchemy import event, func, select
from sqlalchemy.orm.attributes import set_committed_value

from aap.database import lock, write_transaction
from aap.errors import Conflict, Forbidden, ValidationFailed
from aap.extensions import db
from aap.models import Application, Attachment, User
from aap.models.accounts import Role
from aap.services import audit, policies
from aap.services.applications import get_visible
from aap.vocabulary import ATTACHMENT_KINDS
from workflows.application import EDITABLE_STATES

ALLOWED_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHUNK = 64 * 1024
MEBIBYTE = 1024 * 1024


class TooLarge(ValidationFailed):
    status, code = 413, "too_large"


@dataclass(frozen=True)
class Usage:
    """What an application's attachments take, against the configured limits."""

    count: int
    used_bytes: int
    max_count: int
    max_bytes: int

    @property
    def bytes_left(self) -> int:
        return max(0, self.max_bytes - self.used_bytes)

    @property
    def full(self) -> bool:
        return self.count >= self.max_count or self.used_bytes >= self.max_bytes

    @classmethod
    def of(cls, attachments: Iterable[Attachment]) -> Usage:
        """The usage of attachments already loaded (no query: the form page)."""
        sizes = [a.size for a in attachments]
        return cls.with_limits(len(sizes), sum(sizes))

    @classmethod
    def with_limits(cls, count: int, used_bytes: int) -> Usage:
        config = current_app.config
        return cls(count, used_bytes, config["MAX_ATTACHMENTS_PER_APPLICATION"],
                   config["MAX_APPLICATION_UPLOAD_BYTES"])


class AttachmentLimit(ValidationFailed):
    """A limit of the application's attachments is reached; ``usage`` lets the web UI
    say how many files and how much space are left."""

    def __init__(self, message: str, usage: Usage, size: int = 0) -> None:
        super().__init__(message, fields={"file": [message]})
        self.usage, self.size = usage, size


class TooManyAttachments(AttachmentLimit):
    code = "too_many_attachments"


class AttachmentQuotaExceeded(AttachmentLimit):
    code = "attachment_quota_exceeded"


def usage(application_id: int) -> Usage:
    """The application's attachments as committed (under the row lock: as they stand)."""
    count, used = db.session.execute(
        select(func.count(Attachment.id), func.coalesce(func.sum(Attachment.size), 0))
        .where(Attachment.application_id == application_id)).one()
    return Usage.with_limits(count, int(used))


def check_room(current: Usage, size: int) -> None:
    """Refuse one more file of ``size`` bytes when the count or the total would pass."""
    if current.count >= current.max_count:
        raise TooManyAttachments(
            "Ce dossier a atteint le nombre maximal de pièces jointes "
            f"({current.max_count}) : retirez-en une pour en ajouter une autre.",
            current, size)
    if current.used_bytes + size > current.max_bytes:
        raise AttachmentQuotaExceeded(
            f"Place insuffisante : le fichier fait {_mb(size, ROUND_CEILING)} Mo et il "
            f"reste {_mb(current.bytes_left)} Mo sur les {_mb(current.max_bytes)} Mo "
            "permis pour les pièces du dossier.", current, size)


def _mb(size: int, rounding: str = ROUND_FLOOR) -> str:
    """Mebibytes to one decimal, French style (« 2,5 »): room left rounds down, a file's
    size up, so that the message never promises room there is not."""
    value = (Decimal(size) / MEBIBYTE).quantize(Decimal("0.1"), rounding=rounding)
    return f"{value:f}".replace(".", ",").removesuffix(",0")


@dataclass(frozen=True)
class Upload:
    filename: str
    stream: BinaryIO


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read_capped(stream: BinaryIO, limit: int) -> bytes:
    data = bytearray()
    while chunk := stream.read(CHUNK):
        data.extend(chunk)
        if len(data) > limit:
            raise TooLarge(f"Fichier trop volumineux : {limit // (1024 * 1024)} Mo au maximum.",
                           fields={"file": ["Fichier trop volumineux."]})
    return bytes(data)


def detect_type(content: bytes) -> tuple[str, str]:
    """The (extension, MIME type) recognised from the bytes, or ValidationFailed."""
    kind = filetype.guess(content)
    if kind is None or kind.extension not in ALLOWED_TYPES:
        raise ValidationFailed(
            "Type de fichier refusé : PDF, PNG, JPEG, ODT, ODS, DOCX ou XLSX uniquement.",
            code="unsupported_type", fields={"file": ["Type de fichier refusé."]})
    return kind.extension, ALLOWED_TYPES[kind.extension]


# Unicode categories removed from filenames: controls (C0, DEL, C1), format characters
# (bidirectional embeddings U+202A-U+202E, isolates U+2066-U+2069, marks U+200E, U+200F
# and U+061C, zero-width characters, BOM, soft hyphen), surrogates, private use, line and
# paragraph separators. Migration 0004 applied the same rule to the names stored before.
REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
FALLBACK_NAME = "piece"


def clean_filename(name: str | None, extension: str | None = None) -> str:
    """The name to store, show and send as Content-Disposition: no directory, none of the
    characters above, blanks (tabs and line breaks included) collapsed to one space, no
    leading or trailing dot, 200 characters at most before the extension, which is added
    when the name lacks it; ``piece`` when nothing is left before it."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = "".join(" " if c.isspace() else c for c in text
                   if c.isspace() or unicodedata.category(c) not in REMOVED_CATEGORIES)
    text = " ".join(text.replace("\\", "/").rsplit("/", 1)[-1].split())
    suffix = f".{extension}" if extension else ""
    if suffix and text.lower().endswith(suffix):
        text, suffix = text[:-len(suffix)], text[-len(suffix):]
    return (text.strip(" .")[:200].rstrip(" .") or FALLBACK_NAME) + suffix


@event.listens_for(Attachment, "load")
@event.listens_for(Attachment, "refresh")
def _clean_loaded_filename(target: Attachment, *args) -> None:
    """A name stored by older code is shown and sent clean too (without writing it back)."""
    name, stored = target.__dict__.get("filename"), target.__dict__.get("stored_name")
    if name is None:
        return
    extension = stored.rsplit(".", 1)[-1] if stored and "." in stored else None
    if name != (cleaned := clean_filename(name, extension)):
        set_committed_value(target, "filename", cleaned)


def add_attachment(actor: User, application_id: int, kind: str, upload: Upload | None
                   ) -> Attachment:
    """Store the file, then its row, under the application's lock: two uploads at once
    cannot both take the last place, and a refused or failed upload leaves no file."""
    app = get_visible(actor, application_id)
    if not policies.acts_as(actor, app, Role.APPLICANT):
        raise Forbidden("Seuls les membres de l'organisation déposent des pièces.")
    _check_editable(app)
    if kind not in ATTACHMENT_KINDS:
        raise ValidationFailed("Nature de pièce inconnue.", fields={"kind": ["Inconnue."]})
    if upload is None:
        raise ValidationFailed("Aucun fichier reçu.", fields={"file": ["Obligatoire."]})
    check_room(usage(app.id), 0)  # a full application is refused before reading the file
    content = _read_capped(upload.stream, current_app.config["MAX_UPLOAD_BYTES"])
    if not content:
        raise ValidationFailed("Le fichier est vide.", fields={"file": ["Fichier vide."]})
    extension, mimetype = detect_type(content)
    path = upload_dir() / f"{secrets.token_hex(16)}.{extension}"
    try:
        with write_transaction():
            app = _locked(application_id)
            _check_editable(app)
            check_room(usage(app.id), len(content))
            path.write_bytes(content)
            attachment = Attachment(
                application_id=app.id, kind=kind, stored_name=path.name,
                filename=clean_filename(upload.filename, extension), content_type=mimetype,
                size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                uploaded_by_id=actor.id)
            db.session.add(attachment)
            db.session.flush()
            audit.record_action(app, actor, "upload", data={
                "attachment_id": attachment.id, "kind": kind, "filename": attachment.filename})
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return attachment


def _check_editable(app: Application) -> None:
    if app.state not in EDITABLE_STATES:
        raise Conflict("Les pièces ne se modifient plus dans l'état actuel du dossier.")


def _locked(application_id: int) -> Application:
    """The application row, locked (PostgreSQL: FOR UPDATE; SQLite: BEGIN IMMEDIATE)
    and reloaded, as ``applications.update`` and the workflow lock it."""
    return db.session.execute(
        lock(select(Application).where(Application.id == application_id), Application)
        .execution_options(populate_existing=True)).scalar_one()


def remove_attachment(actor: User, application_id: int, attachment_id: int) -> None:
    app = get_visible(actor, application_id)
    attachment = _attachment_of(app, attachment_id)
    if not policies.acts_as(actor, app, Role.APPLICANT):
        raise Forbidden("Seuls les membres de l'organisation retirent des pièces.")
    if app.state not in EDITABLE_STATES:
        raise Conflict("Les pièces ne se modifient plus dans l'état actuel du dossier.")
    audit.record_action(app, actor, "remove_attachment", data={
        "attachment_id": attachment.id, "filename": attachment.filename})
    db.session.delete(attachment)
    db.session.commit()
    (upload_dir() / attachment.stored_name).unlink(missing_ok=True)


def _attachment_of(app: Application, attachment_id: int) -> Attachment:
    from aap.errors import NotFound

    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.application_id != app.id:
        raise NotFound("Pièce introuvable.")
    return attachment


def open_attachment(actor: User, application_id: int, attachment_id: int
                    ) -> tuple[Attachment, Path]:
    """The attachment and its file, after checking the caller may see the application."""
    app = get_visible(actor, application_id)
    attachment = _attachment_of(app, attachment_id)
    return attachment, upload_dir() / attachment.stored_name

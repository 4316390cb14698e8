from __future__ import annotations

from flask import send_file, url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from aap.api.auth import SECURITY, application_access, current_api_user, token_required
from aap.api.schemas import Code, StrictSchema
from aap.input import accepts_multipart
from aap.models import Attachment
from aap.services import attachments
from aap.vocabulary import ATTACHMENT_KINDS

blp = Blueprint("api_attachments", __name__, description="Attachments (pièces jointes)")


class AttachmentOut(Schema):
    id = fields.Integer()
    url = fields.String()
    kind = fields.String()
    filename = fields.String()
    size = fields.Integer()
    content_type = fields.String()
    sha256 = fields.String()


class UploadForm(StrictSchema):
    kind = Code(ATTACHMENT_KINDS, "Natures de pièce", required=True)


class UploadFiles(StrictSchema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


# The upload is one multipart/form-data body with both parts (OpenAPI 3): the two
# ``arguments`` above would otherwise be documented as a Swagger 2 ``formData`` parameter.
UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["kind", "file"], "additionalProperties": False,
    "properties": {
        "kind": {"type": "string", "enum": list(ATTACHMENT_KINDS),
                 "description": "the kind of document: a code of GET /api/v1/vocabularies "
                                "(attachment_kinds)"},
        "file": {"type": "string", "format": "binary",
                 "description": "the document (its type is checked by content)"}}}}}}


def attachment_out(attachment: Attachment) -> dict:
    return {"id": attachment.id, "kind": attachment.kind, "filename": attachment.filename,
            "size": attachment.size, "content_type": attachment.content_type,
            "sha256": attachment.sha256,
            "url": url_for("api_attachments.download_attachment",
                           application_id=attachment.application_id,
                           attachment_id=attachment.id)}


@blp.route("/applications/<int:application_id>/attachments", methods=["POST"])
@blp.doc(security=SECURITY, parameters=[], requestBody=UPLOAD_BODY)
@accepts_multipart
@token_required
@application_access("applicant")
@blp.arguments(UploadForm, location="form")
@blp.arguments(UploadFiles, location="files")
@blp.response(201, AttachmentOut)
def upload_attachment(form, files, application_id):
    """Upload a file (multipart ``kind``, ``file``): type checked by content (422), size
    capped (413); only while the application is draft or incomplete.

    An application holds at most MAX_ATTACHMENTS_PER_APPLICATION files (30) and
    MAX_APPLICATION_UPLOAD_BYTES in all (100 MiB): past them, 422 with the code
    ``too_many_attachments`` or ``attachment_quota_exceeded`` (deleting an attachment
    makes room). A file over MAX_UPLOAD_BYTES is 413 ``too_large``."""
    upload = files["file"]
    attachment = attachments.add_attachment(
        current_api_user(), application_id, form["kind"],
        attachments.Upload(upload.filename or "", upload.stream))
    return attachment_out(attachment)


@blp.route("/applications/<int:application_id>/attachments/<int:attachment_id>",
           methods=["GET"])
@blp.doc(security=SECURITY)
@token_required
@blp.response(200, content_type="application/octet-stream")
def download_attachment(application_id, attachment_id):
    """The file itself, to those who may see the application (404 otherwise)."""
    attachment, path = attachments.open_attachment(current_api_user(), application_id,
                                                   attachment_id)
    return send_file(path, mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.filename, max_age=0)


@blp.route("/applications/<int:application_id>/attachments/<int:attachment_id>",
           methods=["DELETE"])
@blp.doc(security=SECURITY)
@token_required
@blp.response(204)
def delete_attachment(application_id, attachment_id):
    attachments.remove_attachment(current_api_user(), application_id, attachment_id)

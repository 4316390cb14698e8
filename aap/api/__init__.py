"""The JSON API under /api/v1, documented by an OpenAPI 3 document generated from code."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api as SmorestApi
from marshmallow import Schema, fields

from aap.extensions import csrf


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={
        "description": "Machine-readable reason, e.g. invalid_data, budget_exceeded."})
    message = fields.String(required=True, metadata={"description": "A message in French."})
    fields_ = fields.Dict(data_key="fields", keys=fields.String(),
                          values=fields.List(fields.String()),
                          metadata={"description": "Messages per field (dotted names)."})


class ErrorSchema(Schema):
    """The error body of every API error (SPEC 7.1)."""

    error = fields.Nested(ErrorBodySchema, required=True)


class Api(SmorestApi):
    """flask-smorest, without its app-wide error handlers: the app renders errors in the
    format of SPEC 7.1 for the API and as HTML pages for the web UI (and documents them
    in that format)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        return None


api = Api()


def register_api(app: Flask) -> None:
    from aap.api import (
        applications,
        attachments,
        auth_views,
        calls,
        exports,
        funds,
        jury,
        organisations,
    )

    api.init_app(app, spec_kwargs={
        "info": {"description": "AAP: appels à projets, from the call to the last payment. "
                                "Amounts are integer cents; errors are "
                                "{error: {code, message, fields}}."},
    })
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer"})
    for module in (auth_views, funds, calls, organisations, applications, attachments,
                   jury, exports):
        csrf.exempt(module.blp)  # bearer tokens, no cookies: nothing to forge
        api.register_blueprint(module.blp, url_prefix="/api/v1")

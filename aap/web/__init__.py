"""Server-rendered web UI: one blueprint per audience."""

from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    from aap.web import admin, applicant, dossier, finance, instructor, jury, public

    for module in (public, applicant, instructor, jury, finance, admin, dossier):
        app.register_blueprint(module.bp)

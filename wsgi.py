"""WSGI entry point: ``gunicorn wsgi:app``."""

from aap import create_app

app = create_app()

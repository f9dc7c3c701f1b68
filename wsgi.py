"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``."""

from dispatch.app import create_app
from dispatch.logs import configure_logging

configure_logging()
app = create_app()

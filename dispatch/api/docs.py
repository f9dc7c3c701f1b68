"""Swagger UI served from the installed swagger-ui-bundle package (works offline)."""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("docs", __name__, url_prefix="/api/docs")

PUBLIC_PREFIX = "docs."

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dispatch API</title>
<link rel="stylesheet" href="/api/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/static/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#swagger-ui",
  persistAuthorization: true, deepLinking: true});
</script></body></html>
"""


@bp.get("/")
@bp.get("")
def index() -> Response:
    return Response(PAGE, mimetype="text/html")


@bp.get("/static/<path:filename>")
def static(filename: str):
    return send_from_directory(swagger_ui_path, filename)

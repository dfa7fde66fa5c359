"""The OpenAPI page: Swagger UI from the swagger-ui-bundle package, with no inline script.

Litestar's Swagger page inlines the document and the start-up script, and links a favicon
from a CDN. Ours loads the document from ``/schema/openapi.json`` and starts Swagger UI from a
file of our own, so its Content-Security-Policy allows our own scripts only.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from litestar import Request, Router
from litestar.datastructures import ResponseHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from kernel.auth.rules import PUBLIC
from mutualab.web.rendering import static_url

SWAGGER_ASSETS = "/static/swagger"
# Swagger UI styles what it renders through the CSSOM (which style-src does not restrict) and
# draws its icons as data: images (tests/browser/test_api_page.py checks nothing is blocked).
SWAGGER_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'; form-action 'self'"
)


class SelfHostedSwagger(SwaggerRenderPlugin):
    """Swagger UI served from our own files only."""

    def __init__(self) -> None:
        super().__init__(
            js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
            css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js",
            path="/",
            favicon="",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The page: Swagger UI's files and our start-up script, the document by address."""
        title = escape(str(openapi_schema["info"]["title"]))
        document = escape(self.get_openapi_json_route(request))
        return (
            "<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8"><title>{title} API</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="stylesheet" href="{self.css_url}"></head>'
            f'<body><div id="swagger-ui" data-document="{document}"></div>'
            f'<script src="{self.js_url}"></script>'
            f'<script src="{self.standalone_preset_js_url}"></script>'
            f'<script src="{escape(static_url("swagger-init.js"))}"></script>'
            "</body></html>\n"
        ).encode()


def openapi_router() -> Router:
    """The router of ``/schema`` (the page, the document), under the page's policy."""
    return Router(
        "/schema",
        route_handlers=[],
        include_in_schema=False,
        response_headers=[ResponseHeader(name="Content-Security-Policy", value=SWAGGER_POLICY)],
    )


def swagger_assets() -> Router:
    """Swagger UI's own files, from the swagger-ui-bundle package."""
    return create_static_files_router(
        path=SWAGGER_ASSETS,
        directories=[Path(swagger_ui_bundle.swagger_ui_path)],
        include_in_schema=False,
        opt=PUBLIC,
    )

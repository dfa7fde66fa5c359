"""Rendering pages: the Jinja environment, the context every page gets, redirects."""

from __future__ import annotations

import hashlib
import uuid
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.template.config import TemplateConfig

from kernel.auth.actor import Actor, actor_of
from kernel.auth.browser import csrf_token_of
from mutualab.photo_store import photo_origin
from mutualab.web import messages
from mutualab.web.i18n import LANG_COOKIE, I18n, negotiate, translations

WEB_DIR = Path(__file__).parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
STATIC_PATH = "/static/web"

# Pages are self-contained: our stylesheet, no script, forms posting to ourselves only. The
# other security headers are the app's, on every answer (mutualab.headers).
PAGE_POLICY = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def i18n_of(request: Request[Any, Any, Any]) -> I18n:
    """The language of this request (cookie, then Accept-Language, then French)."""
    return I18n(negotiate(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")))


@cache
def _static_version(name: str) -> str:
    # Content hash in the URL: browsers may cache the file forever and still see changes.
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """The versioned URL of one of our static files."""
    return f"{STATIC_PATH}/{name}?v={_static_version(name)}"


def _i18n(context: Context) -> I18n:
    value = context.get("i18n")
    if not isinstance(value, I18n):
        raise RuntimeError("pages are rendered with an 'i18n' in their context")
    return value


@pass_context
def _gettext(context: Context, message: str) -> str:
    return _i18n(context).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    # Unformatted: the newstyle callable fills ``%(num)s`` and the template's other names.
    return translations(_i18n(context).lang).ngettext(singular, plural, n)


def upper_first(text: str) -> str:
    """``mardi 8 septembre`` -> ``Mardi 8 septembre`` (unlike ``capitalize``, keeps the rest)."""
    return text[:1].upper() + text[1:]


def environment() -> Environment:
    """The Jinja environment of the pages: autoescaped, strict about unknown names."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # The translation is chosen per render, from the "i18n" of the page's context.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True
    )
    env.filters["upper_first"] = upper_first
    env.globals.update(
        static=static_url,
        KINDS=messages.KINDS,
        KIND_SHORT=messages.KIND_SHORT,
        STATUSES=messages.STATUSES,
        ROLES=messages.ROLES,
        # A fresh idempotency key per rendered form (kernel.idempotency's FORM_FIELD).
        once_key=lambda: uuid.uuid4().hex,
    )
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Litestar's template configuration for the pages."""
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment()))


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    status_code: int = 200,
    private: bool = False,
    **context: Any,
) -> Template:
    """A rendered page with what every page needs (language, who is logged in, CSRF token)."""
    i18n = i18n_of(request)
    actor: Actor = actor_of(request)
    notice = messages.NOTICES.get(request.query_params.get("notice", ""))
    base = {
        "i18n": i18n,
        "actor": actor,
        "csrf_token": csrf_token_of(request),
        "current_path": request.url.path,
        "here": local_target(_path_and_query(request)),
        "notice": notice,
        "errors": {},
    }
    photos = photo_origin(request.app.state.settings)
    headers = {
        # Photos kept in a bucket come from its address.
        "Content-Security-Policy": (
            PAGE_POLICY.replace("img-src 'self' data:", f"img-src 'self' data: {photos}")
            if photos
            else PAGE_POLICY
        ),
        # Personal pages, and any page showing who is logged in, must not outlive the session
        # in a shared browser.
        "Cache-Control": "no-store" if private or actor.is_authenticated else "private, no-cache",
        "Content-Language": i18n.lang,
        "Vary": "Cookie, Accept-Language",
    }
    return Template(
        template_name=template,
        context={**base, **context},
        status_code=status_code,
        headers=headers,
        media_type="text/html",
    )


def _path_and_query(request: Request[Any, Any, Any]) -> str:
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path


def local_target(value: str | None, default: str = "/") -> str:
    """``value`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in value):
        return default
    return value


def see_other(path: str, **query: str) -> Redirect:
    """A 303 redirect (the answer to a form post), with an optional query string (added to
    the one ``path`` may have)."""
    joiner = "&" if "?" in path else "?"
    target = f"{path}{joiner}{urlencode(query)}" if query else path
    return Redirect(path=target, status_code=HTTP_303_SEE_OTHER)


def login_url(next_path: str | None) -> str:
    """The log-in page, coming back to ``next_path`` afterwards."""
    target = local_target(next_path, default="")
    return f"/login?{urlencode({'next': target})}" if target else "/login"

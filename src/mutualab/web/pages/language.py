"""Switching the language of the pages (kept in a cookie for a year)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.params import URLEncodedBody
from litestar.response import Redirect

from kernel.auth.rules import PUBLIC
from kernel.routes import post
from kernel.settings import Settings
from mutualab.web.i18n import DEFAULT_LANG, LANG_COOKIE, LOCALES
from mutualab.web.rendering import local_target, see_other

ONE_YEAR = 365 * 24 * 3600


@dataclass
class LanguageForm:
    """The language chosen, and the page to go back to."""

    lang: str = ""
    next: str = ""


@post("/language", name="language", opt=PUBLIC)
async def set_language(
    request: Request[Any, Any, Any], data: URLEncodedBody[LanguageForm]
) -> Redirect:
    """Show the pages in another language, then go back to the page."""
    settings: Settings = request.app.state.settings
    lang = data.lang if data.lang in LOCALES else DEFAULT_LANG
    response = see_other(local_target(data.next))
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=ONE_YEAR,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )
    return response

"""Server-rendered pages for people (French first, English second), on top of the services.

``create_app`` mounts :func:`pages_router`, :func:`static_files` and uses
:func:`template_config`; nothing here holds business rules.
"""

from __future__ import annotations

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

from kernel.auth.rules import PUBLIC
from mutualab.web.errors import PAGE_EXCEPTION_HANDLERS, negotiated_http_exception
from mutualab.web.pages.account import AccountPages
from mutualab.web.pages.attendance import CheckInPages, KioskPages
from mutualab.web.pages.booking import BookingPages
from mutualab.web.pages.invitations import InvitationPages
from mutualab.web.pages.language import set_language
from mutualab.web.pages.manage import MANAGE_PAGES
from mutualab.web.pages.memberships import MembershipPages, PlanPublicPages
from mutualab.web.pages.packs import PackPages, PackPublicPages
from mutualab.web.pages.programme import ProgrammePages, RegistrationPages, SheetPages
from mutualab.web.pages.public import PublicPages
from mutualab.web.pages.recovery import RecoveryPages
from mutualab.web.pages.series import SeriesPages
from mutualab.web.pages.tokens import TokenPages
from mutualab.web.pages.waitlist import WaitlistPages
from mutualab.web.pages.wallet import WalletPages
from mutualab.web.rendering import STATIC_DIR, STATIC_PATH, template_config

__all__ = ["negotiated_http_exception", "pages_router", "static_files", "template_config"]


def pages_router() -> Router:
    """Every page, with errors shown as pages (the API keeps its problem details)."""
    return Router(
        path="/",
        route_handlers=[
            PublicPages,
            AccountPages,
            RecoveryPages,
            InvitationPages,
            TokenPages,
            PlanPublicPages,
            MembershipPages,
            PackPublicPages,
            PackPages,
            BookingPages,
            *MANAGE_PAGES,
            CheckInPages,
            KioskPages,
            SeriesPages,
            WaitlistPages,
            WalletPages,
            ProgrammePages,
            RegistrationPages,
            SheetPages,
            set_language,
        ],
        exception_handlers=PAGE_EXCEPTION_HANDLERS,
        include_in_schema=False,
    )


def static_files() -> Router:
    """Our stylesheet; URLs carry a content hash, so browsers may keep files for a year."""
    return create_static_files_router(
        path=STATIC_PATH,
        directories=[STATIC_DIR],
        name="web_static",
        include_in_schema=False,
        opt=PUBLIC,
        cache_control=CacheControlHeader(max_age=365 * 24 * 3600, public=True),
    )

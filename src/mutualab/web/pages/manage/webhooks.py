"""The webhook subscriptions that hear a place, with their last deliveries (made and changed
through the API, /api/webhooks)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from litestar import Controller
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Template

from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.routes import get
from mutualab.web.pages.manage.common import AnyRequest, place_page
from resources.controllers import CATALOGUE
from resources.service import CatalogueService
from webhooks.controllers import provide_subscriptions
from webhooks.service import Subscriptions

# Deliveries shown per subscription: the full log is GET /api/webhooks/{id}/deliveries.
RECENT = 10


class WebhookPages(Controller):
    """Webhooks of the places I manage."""

    path = "/manage/places/{place_id:int}/webhooks"
    dependencies = {
        **CATALOGUE,
        "hooks": Provide(provide_subscriptions, sync_to_thread=False),
    }
    guards = [require_manager]

    @get("/", opt=PLACE_MANAGER)
    async def webhooks(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        hooks: NamedDependency[Subscriptions],
        place_id: FromPath[int],
    ) -> Template:
        """The place's subscriptions and how their last deliveries went."""
        found = await hooks.of_place(actor, place_id, RECENT)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        zone = ZoneInfo(place.timezone)
        return place_page(
            request,
            "manage/webhooks.html",
            place,
            "/webhooks",
            subscriptions=found,
            local=lambda moment: moment.astimezone(zone),
        )

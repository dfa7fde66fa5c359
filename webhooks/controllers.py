"""The webhook API: subscriptions of a manager's places (or any, for administrators)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_202_ACCEPTED,
    HTTP_204_NO_CONTENT,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import BEARER, MANAGER, PLACE_MANAGER
from kernel.clock import system_clock
from kernel.idempotency import IDEMPOTENCY_OPT
from kernel.routes import delete, get, patch, post
from webhooks.keys import SecretBox
from webhooks.repository import WebhookRepository
from webhooks.schemas import (
    DeliveryPage,
    DeliveryRead,
    SecretRotated,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
    SubscriptionUpdate,
)
from webhooks.service import Subscriptions

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]
StatusFilter = Annotated[
    Literal["pending", "delivered", "failed"] | None, QueryParameter(description="only these")
]
# Answers carrying a secret are never kept by the idempotency store (they would keep the
# secret in the database for a day): such a call is not replayed, it makes a new secret.
SECRET_ANSWER = {IDEMPOTENCY_OPT: False}


def provide_subscriptions(db_session: NamedDependency[AsyncSession], state: State) -> Subscriptions:
    """Subscriptions in this request's transaction."""
    settings = state.settings
    return Subscriptions(
        WebhookRepository(db_session),
        SecretBox(settings.resolved_secret_key()),
        # Wall-clock time, as the deliveries keep (receivers compare it with theirs).
        system_clock,
        allow_loopback_http=settings.webhooks_allow_http_loopback,
        allow_private_networks=settings.webhooks_allow_private_networks,
    )


Hooks = NamedDependency[Subscriptions]
Me = NamedDependency[Actor]


class WebhookController(Controller):
    """Signed webhooks: subscriptions, their secret, their delivery log."""

    path = "/api/webhooks"
    tags = ["webhooks"]
    dependencies = {"hooks": Provide(provide_subscriptions, sync_to_thread=False)}
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @get("/", opt=MANAGER)
    async def list_subscriptions(self, hooks: Hooks, actor: Me) -> list[SubscriptionRead]:
        """The subscriptions of my places (every one, for administrators)."""
        return await hooks.all(actor)

    @post("/", status_code=HTTP_201_CREATED, opt={**PLACE_MANAGER, **SECRET_ANSWER})
    async def create(
        self, hooks: Hooks, actor: Me, data: JSONBody[SubscriptionCreate]
    ) -> SubscriptionCreated:
        """Subscribe an address to events of my places; its signing secret is shown only here."""
        return await hooks.create(actor, data)

    @get("/{subscription_id:int}")
    async def get_subscription(
        self, hooks: Hooks, actor: Me, subscription_id: FromPath[int]
    ) -> SubscriptionRead:
        """A subscription (without its secret)."""
        return await hooks.read(actor, subscription_id)

    @patch("/{subscription_id:int}")
    async def update(
        self,
        hooks: Hooks,
        actor: Me,
        subscription_id: FromPath[int],
        data: JSONBody[SubscriptionUpdate],
    ) -> SubscriptionRead:
        """Change a subscription; ``active: true`` turns a disabled one back on."""
        return await hooks.update(actor, subscription_id, data)

    @delete("/{subscription_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def remove(self, hooks: Hooks, actor: Me, subscription_id: FromPath[int]) -> None:
        """Delete a subscription and its delivery log."""
        await hooks.delete(actor, subscription_id)

    @post(
        "/{subscription_id:int}/rotate-secret",
        status_code=HTTP_200_OK,
        opt={**PLACE_MANAGER, **SECRET_ANSWER},
    )
    async def rotate_secret(
        self, hooks: Hooks, actor: Me, subscription_id: FromPath[int]
    ) -> SecretRotated:
        """A new signing secret, shown only here; the old one stops signing at once."""
        return await hooks.rotate(actor, subscription_id)

    @get("/{subscription_id:int}/deliveries")
    async def deliveries(
        self,
        hooks: Hooks,
        actor: Me,
        subscription_id: FromPath[int],
        status: StatusFilter = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> DeliveryPage:
        """The delivery log: status, attempts, last answer, next attempt; newest first."""
        return await hooks.deliveries(actor, subscription_id, status, limit, offset)

    @post(
        "/{subscription_id:int}/deliveries/{delivery_id:int}/replay",
        status_code=HTTP_202_ACCEPTED,
    )
    async def replay(
        self,
        hooks: Hooks,
        actor: Me,
        subscription_id: FromPath[int],
        delivery_id: FromPath[int],
    ) -> DeliveryRead:
        """Send a delivered or failed delivery again (same id and body, signed anew)."""
        return await hooks.replay(actor, subscription_id, delivery_id)

    @post("/{subscription_id:int}/ping", status_code=HTTP_202_ACCEPTED)
    async def ping(self, hooks: Hooks, actor: Me, subscription_id: FromPath[int]) -> DeliveryRead:
        """Queue a ``webhook.ping`` delivery to the address, to try it."""
        return await hooks.ping(actor, subscription_id)


CONTROLLERS = [WebhookController]

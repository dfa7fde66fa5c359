"""A subscription disabled after persistent failure: its creator is told, by e-mail."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import User
from kernel.settings import Settings
from notifications.outbox import queue_message
from webhooks.delivery import DisabledNotice
from webhooks.models import WebhookSubscription


def disabled_notice(settings: Settings) -> DisabledNotice:
    """What the deliverer calls, in the disabling transaction: a message to the creator."""

    async def mail_creator(session: AsyncSession, subscription: WebhookSubscription) -> None:
        if subscription.created_by_user_id is None or subscription.disabled_at is None:
            return
        creator = await session.get(User, subscription.created_by_user_id)
        if creator is None or not creator.active or creator.deleted_at is not None:
            return
        places = subscription.place_ids or []
        page = (
            f"{settings.public_base_url}/manage/places/{places[0]}/webhooks"
            if len(places) == 1
            else f"{settings.public_base_url}/schema"
        )
        await queue_message(
            session,
            key=f"webhook.{subscription.id}.disabled.{subscription.disabled_at:%Y%m%dT%H%M%S%f}",
            to=creator.email,
            template="webhook_disabled",
            language=creator.language,
            context={
                "name": creator.display_name,
                "url": subscription.url,
                "description": subscription.description,
                "page": page,
            },
            place_id=places[0] if len(places) == 1 else None,
        )

    return mail_creator

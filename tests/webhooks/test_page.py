"""The back office's webhook page: the place's subscriptions and their last deliveries, for its
managers only."""

from __future__ import annotations

import httpx

from kernel.db import Database
from tests.support.accounts import Person, make_user
from tests.support.booking import Fablab, make_fablab
from tests.webhooks.support import subscribe


async def test_the_page_lists_the_places_subscriptions_and_their_deliveries(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    admin_headers: dict[str, str],
) -> None:
    other_lab = await make_fablab(api, admin_headers, slug="fablab-metz", town="Metz")
    other = await make_user(queue, "other@example.org", manages=(other_lab.place_id,))
    mine = await subscribe(api, manager, "https://hooks.example.org/porte", [lab.place_id])
    await subscribe(api, other, "https://hooks.example.org/metz", [other_lab.place_id])
    pinged = await api.post(f"/api/webhooks/{mine['id']}/ping", headers=manager.headers)
    assert pinged.status_code == 202, pinged.text

    page = await api.get(f"/manage/places/{lab.place_id}/webhooks", headers=manager.headers)
    assert page.status_code == 200, page.text
    assert "https://hooks.example.org/porte" in page.text
    assert "webhook.ping" in page.text and "En attente" in page.text
    assert "hooks.example.org/metz" not in page.text
    # Another place's manager is refused, and learns nothing of it.
    refused = await api.get(f"/manage/places/{lab.place_id}/webhooks", headers=other.headers)
    assert refused.status_code == 403
    assert "hooks.example.org/porte" not in refused.text
    theirs = await api.get(f"/manage/places/{other_lab.place_id}/webhooks", headers=other.headers)
    assert "hooks.example.org/metz" in theirs.text

"""The outbox for platform administrators: the JSON API and the back office pages."""

from __future__ import annotations

import httpx

from kernel.db import Database
from tests.notifications.support import insert_place, outbox, queued_message
from tests.support.accounts import make_user


async def test_admins_list_messages_newest_first_and_filter_by_status(
    client: httpx.AsyncClient, database: Database, admin_headers: dict[str, str]
) -> None:
    first = await queued_message(database, key="a", to="ana@example.org")
    second = await queued_message(database, key="b", to="bob@example.org", language="en")
    listed = await client.get("/api/admin/outbox", headers=admin_headers)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["total"] == 2
    assert [m["id"] for m in body["items"]] == [second, first]
    newest = body["items"][0]
    assert newest["recipient"] == "bob@example.org"
    assert newest["subject"] == "Test message from Mutualab"
    assert (newest["status"], newest["template"], newest["sent_at"]) == (
        "queued",
        "mail_test",
        None,
    )
    sent = await client.get("/api/admin/outbox?status=sent", headers=admin_headers)
    assert sent.json()["items"] == []
    wrong = await client.get("/api/admin/outbox?status=lost", headers=admin_headers)
    assert wrong.status_code in (400, 422)


async def test_one_message_with_its_bodies_and_files_but_a_sensitive_body_hidden(
    client: httpx.AsyncClient, database: Database, admin_headers: dict[str, str]
) -> None:
    shown = await queued_message(database, key="shown")
    secret = await queued_message(database, key="secret", sensitive=True, attachments=[])
    detail = await client.get(f"/api/admin/outbox/{shown}", headers=admin_headers)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert "Ce message d'essai" in body["text"]
    assert body["html"].startswith("<!DOCTYPE html>")
    [file] = body["attachments"]
    assert (file["filename"], file["content_type"], file["size"]) == (
        "reservation.ics",
        "text/calendar; method=REQUEST",
        3,
    )
    download = await client.get(file["url"], headers=admin_headers)
    assert download.status_code == 200
    assert download.content == b"ICS"
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"].startswith('attachment; filename="reservation')

    hidden = (await client.get(f"/api/admin/outbox/{secret}", headers=admin_headers)).json()
    assert (hidden["sensitive"], hidden["text"], hidden["html"]) == (True, None, None)
    missing = await client.get(f"/api/admin/outbox/{secret + 100}", headers=admin_headers)
    assert missing.status_code == 404
    no_file = await client.get(f"/api/admin/outbox/{shown}/attachments/1", headers=admin_headers)
    assert no_file.status_code == 404


async def test_managers_and_users_are_refused(
    client: httpx.AsyncClient, database: Database
) -> None:
    place_id = await insert_place(database)
    message_id = await queued_message(database)
    manager = await make_user(database, "manager@example.org", manages=(place_id,))
    citizen = await make_user(database, "citizen@example.org")
    for person in (manager, citizen):
        for path in (
            "/api/admin/outbox",
            f"/api/admin/outbox/{message_id}",
            f"/api/admin/outbox/{message_id}/attachments/0",
            "/manage/outbox",
            f"/manage/outbox/{message_id}",
        ):
            refused = await client.get(path, headers=person.headers)
            assert refused.status_code == 403, (path, refused.status_code)
            assert "reservation.ics" not in refused.text
    anonymous = await client.get("/api/admin/outbox")
    assert anonymous.status_code == 401


async def test_the_outbox_pages_show_messages_and_hide_a_sensitive_body(
    client: httpx.AsyncClient, database: Database, admin_headers: dict[str, str]
) -> None:
    shown = await queued_message(
        database, key="shown", context={"instance": "Mutualab", "requested_by": "<b>Ana</b>"}
    )
    secret = await queued_message(
        database,
        key="secret",
        sensitive=True,
        context={"instance": "Mutualab", "requested_by": "token-9f8e7d"},
    )
    listing = await client.get("/manage/outbox", headers=admin_headers)
    assert listing.status_code == 200, listing.text
    assert f'href="/manage/outbox/{shown}"' in listing.text
    assert f'href="/manage/outbox/{secret}"' in listing.text
    # No SMTP server in the test settings: the page says the messages wait.
    assert "MUTUALAB_SMTP_URL" in listing.text

    page = await client.get(f"/manage/outbox/{shown}", headers=admin_headers)
    assert page.status_code == 200
    assert 'sandbox=""' in page.text
    # The HTML body only ever appears escaped (in the frame's srcdoc and the source view).
    assert "<b>Ana</b>" not in page.text
    assert "&amp;lt;b&amp;gt;Ana" in page.text
    assert f"/api/admin/outbox/{shown}/attachments/0" in page.text

    hidden = await client.get(f"/manage/outbox/{secret}", headers=admin_headers)
    assert hidden.status_code == 200
    assert "token-9f8e7d" not in hidden.text
    assert "srcdoc" not in hidden.text


async def test_an_admin_queues_a_test_message_from_the_outbox_page(
    client: httpx.AsyncClient, database: Database, admin_headers: dict[str, str]
) -> None:
    form = await client.get("/manage/outbox", headers=admin_headers)
    assert 'value="admin@mutualab.test"' in form.text  # my address, to begin with
    refused = await client.post(
        "/manage/outbox/test", data={"to": "not an address"}, headers=admin_headers
    )
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text
    assert await outbox(database) == []

    sent = await client.post(
        "/manage/outbox/test", data={"to": " Ops@Example.org "}, headers=admin_headers
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == "/manage/outbox?notice=test_mail_queued"
    [message] = await outbox(database)
    assert (message["recipient"], message["template"], message["status"]) == (
        "Ops@example.org",
        "mail_test",
        "queued",
    )
    assert "https://mutualab.test" in message["subject"]

"""An address must be proved before joining an organisation or managing a place (issue 17,
item 4); invitations are mailed (item 5), whether or not the address has an account."""

from __future__ import annotations

import httpx
from sqlalchemy import select, text

from accounts.models import Membership, PlaceManager
from kernel.db import Database
from tests.support.accounts import Person, make_user
from tests.support.booking import make_place
from tests.support.mailbox import link_in, messages_to

SCHOOL = {
    "name": "Collège Anatole Le Braz",
    "user_type": "school",
    "billing_address": "1 rue",
    "billing_postcode": "22300",
    "billing_town": "Lannion",
}


async def _verify(database: Database, person: Person) -> None:
    async with database.writer() as session, session.begin():
        await session.exec(
            text(  # type: ignore[call-overload]
                "UPDATE user_account SET email_verified_at = now() WHERE id = :id"
            ).bindparams(id=person.user_id)
        )


async def _school(client: httpx.AsyncClient, admin: Person) -> int:
    created = await client.post("/api/organisations", json=SCHOOL, headers=admin.headers)
    assert created.status_code == 201, created.text
    organisation_id: int = created.json()["id"]
    return organisation_id


async def _rows(database: Database, model: type[Membership] | type[PlaceManager]) -> int:
    async with database.reader() as session:
        return len((await session.execute(select(model))).scalars().all())


async def test_an_unverified_person_cannot_accept_an_invitation_until_verified(
    client: httpx.AsyncClient, database: Database
) -> None:
    teacher = await make_user(database, "teacher@example.fr")
    newcomer = await make_user(database, "newcomer@example.fr", verified=False)
    school = await _school(client, teacher)
    invited = await client.post(
        f"/api/organisations/{school}/members",
        json={"email": "newcomer@example.fr", "role": "booker"},
        headers=teacher.headers,
    )
    assert invited.status_code == 201, invited.text
    (invitation,) = (await client.get("/api/me/invitations", headers=newcomer.headers)).json()
    path = f"/api/me/invitations/{invitation['id']}/accept"
    before = await _rows(database, Membership)
    refused = await client.post(path, headers=newcomer.headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "email_not_verified"
    assert await _rows(database, Membership) == before
    await _verify(database, newcomer)
    accepted = await client.post(path, headers=newcomer.headers)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["organisation_id"] == school


async def test_an_unverified_person_cannot_be_named_a_manager_until_verified(
    client: httpx.AsyncClient, database: Database, admin_headers: dict[str, str]
) -> None:
    place = await make_place(client, admin_headers)
    person = await make_user(database, "future-manager@example.fr", verified=False)
    path = f"/api/places/{place['id']}/managers"
    body = {"email": "future-manager@example.fr"}
    refused = await client.post(path, json=body, headers=admin_headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "email_not_verified"
    assert await _rows(database, PlaceManager) == 0
    await _verify(database, person)
    named = await client.post(path, json=body, headers=admin_headers)
    assert named.status_code == 201, named.text
    assert await _rows(database, PlaceManager) == 1


async def test_an_invitation_is_mailed_to_the_address_in_its_owners_language(
    client: httpx.AsyncClient, database: Database
) -> None:
    teacher = await make_user(database, "teacher@example.fr")
    await make_user(database, "known@example.fr")
    async with database.writer() as session, session.begin():
        await session.exec(
            text("UPDATE user_account SET language = 'en' WHERE email = 'known@example.fr'")  # type: ignore[call-overload]
        )
    school = await _school(client, teacher)
    path = f"/api/organisations/{school}/members"
    for email in ("known@example.fr", "nobody@example.fr", "known@example.fr"):
        answer = await client.post(
            path, json={"email": email, "role": "booker"}, headers=teacher.headers
        )
        assert answer.status_code == 201, answer.text
    (known,) = await messages_to(database, "known@example.fr")  # invited twice, mailed once
    (nobody,) = await messages_to(database, "nobody@example.fr")
    assert known.template == nobody.template == "organisation_invitation"
    assert (known.language, nobody.language) == ("en", "fr")
    assert known.subject == "Collège Anatole Le Braz invites you on Mutualab"
    assert nobody.subject == "Collège Anatole Le Braz vous invite sur Mutualab"
    assert link_in(known, "/account/invitations")
    assert "/signup" not in known.text
    assert link_in(nobody, "/signup") and link_in(nobody, "/account/invitations")
    # Made an admin instead, the address is told again.
    await client.post(
        path, json={"email": "known@example.fr", "role": "admin"}, headers=teacher.headers
    )
    assert len(await messages_to(database, "known@example.fr")) == 2

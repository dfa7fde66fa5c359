"""Tokens, personal data, organisations, rates, managers, trainings — through the API."""

from __future__ import annotations

import httpx

from kernel.db import Database
from tests.accounts.test_sessions import STRONG, csrf, sign_up
from tests.factories import make_place
from tests.support.accounts import make_user


async def test_api_tokens_are_shown_once_and_revocable(client: httpx.AsyncClient) -> None:
    assert (await sign_up(client)).status_code == 200
    headers = await csrf(client)
    created = await client.post(
        "/api/me/tokens", json={"name": "script", "scope": "read_write"}, headers=headers
    )
    assert created.status_code == 201
    token = created.json()["token"]
    listed = (await client.get("/api/me/tokens")).json()
    assert [t["name"] for t in listed] == ["script"]
    assert "token" not in listed[0]
    program = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/me", headers=program)).status_code == 200
    revoked = await client.delete(f"/api/me/tokens/{created.json()['id']}", headers=headers)
    assert revoked.status_code == 204
    gone = await client.get("/api/me", headers=program)
    assert gone.status_code == 401  # at once, no cache


async def test_read_only_token_cannot_write(client: httpx.AsyncClient, database: Database) -> None:
    reader = await make_user(database, "reader@example.fr", scope="read")
    assert (await client.get("/api/me", headers=reader.headers)).status_code == 200
    write = await client.patch("/api/me", json={"display_name": "x"}, headers=reader.headers)
    assert write.status_code == 403
    assert write.json()["code"] == "insufficient_scope"


async def test_tokens_are_stored_hashed(client: httpx.AsyncClient, database: Database) -> None:
    from sqlmodel import select

    from accounts.models import ApiToken

    person = await make_user(database, "hash@example.fr")
    async with database.reader() as session:
        stored = (await session.exec(select(ApiToken.token_sha256))).all()
    assert person.token not in stored
    assert all(len(value) == 64 for value in stored)


async def test_export_and_erase_personal_data(client: httpx.AsyncClient) -> None:
    assert (await sign_up(client)).status_code == 200
    export = await client.get("/api/me/export")
    assert export.status_code == 200
    assert export.json()["account"]["email"] == "alice@example.fr"
    headers = await csrf(client)
    refused = await client.post("/api/me/erase", json={"password": "wrong"}, headers=headers)
    assert refused.status_code == 422
    erased = await client.post("/api/me/erase", json={"password": STRONG}, headers=headers)
    assert erased.status_code == 204
    assert (await client.get("/api/me")).status_code == 401
    login = await client.post(
        "/api/auth/login",
        json={"email": "alice@example.fr", "password": STRONG},
        headers=await csrf(client),
    )
    assert login.status_code == 401
    # The address is free again: the tombstone keeps no personal data.
    assert (await sign_up(client)).status_code == 200


async def test_organisations_and_members(client: httpx.AsyncClient, database: Database) -> None:
    teacher = await make_user(database, "teacher@example.fr")
    colleague = await make_user(database, "colleague@example.fr")
    outsider = await make_user(database, "outsider@example.fr")
    body = {
        "name": "Collège Anatole Le Braz",
        "user_type": "school",
        "siret": "732 829 320 00074",
        "billing_address": "1 rue du Collège",
        "billing_postcode": "22300",
        "billing_town": "Lannion",
        "requires_purchase_order": True,
    }
    created = await client.post("/api/organisations", json=body, headers=teacher.headers)
    assert created.status_code == 201, created.text
    organisation = created.json()
    assert organisation["siren"] == "732829320"
    oid = organisation["id"]
    assert (
        await client.get(f"/api/organisations/{oid}", headers=outsider.headers)
    ).status_code == 404
    invited = await client.post(
        f"/api/organisations/{oid}/members",
        json={"email": "colleague@example.fr"},
        headers=teacher.headers,
    )
    assert invited.status_code == 201
    assert invited.json()["role"] == "booker"
    mine = (await client.get("/api/me/invitations", headers=colleague.headers)).json()
    assert [(i["organisation_name"], i["role"]) for i in mine] == [
        ("Collège Anatole Le Braz", "booker")
    ]
    accepted = await client.post(
        f"/api/me/invitations/{mine[0]['id']}/accept", headers=colleague.headers
    )
    assert accepted.status_code == 201
    assert (await client.get("/api/me/invitations", headers=colleague.headers)).json() == []
    members = (
        await client.get(f"/api/organisations/{oid}/members", headers=colleague.headers)
    ).json()
    assert {m["email"]: m["role"] for m in members} == {
        "teacher@example.fr": "admin",
        "colleague@example.fr": "booker",
    }
    by_booker = await client.patch(
        f"/api/organisations/{oid}", json={"name": "x"}, headers=colleague.headers
    )
    assert by_booker.status_code == 403
    last_admin = await client.delete(
        f"/api/organisations/{oid}/members/{teacher.user_id}", headers=teacher.headers
    )
    assert last_admin.status_code == 409
    assert last_admin.json()["code"] == "last_admin"
    leave = await client.delete(
        f"/api/organisations/{oid}/members/{colleague.user_id}", headers=colleague.headers
    )
    assert leave.status_code == 204
    me = (await client.get("/api/me", headers=teacher.headers)).json()
    assert me["organisations"] == [
        {"organisation_id": oid, "organisation_name": "Collège Anatole Le Braz", "role": "admin"}
    ]


async def test_adding_a_member_never_tells_whether_the_address_has_an_account(
    client: httpx.AsyncClient, database: Database
) -> None:
    teacher = await make_user(database, "teacher@example.fr")
    await make_user(database, "known@example.fr")
    stranger = await make_user(database, "stranger@example.fr")
    body = {
        "name": "Collège",
        "user_type": "school",
        "billing_address": "1 rue",
        "billing_postcode": "22300",
        "billing_town": "Lannion",
    }
    oid = (await client.post("/api/organisations", json=body, headers=teacher.headers)).json()["id"]
    path = f"/api/organisations/{oid}/members"
    answers = [
        await client.post(path, json={"email": email, "role": "booker"}, headers=teacher.headers)
        for email in ("known@example.fr", "nobody@example.fr")
    ]
    assert [a.status_code for a in answers] == [201, 201]
    different = ("id", "email", "created_at")
    shapes = [{k: v for k, v in a.json().items() if k not in different} for a in answers]
    assert shapes[0] == shapes[1]
    assert set(answers[0].json()) == {"id", "email", "role", "created_at"}  # nothing of the person
    listed = await client.get(f"{path[: -len('/members')]}/invitations", headers=teacher.headers)
    assert sorted(i["email"] for i in listed.json()) == ["known@example.fr", "nobody@example.fr"]
    # Nobody joins an organisation without saying so; no one else can take the invitation.
    members = (await client.get(path, headers=teacher.headers)).json()
    assert [m["email"] for m in members] == ["teacher@example.fr"]
    someone_elses = answers[0].json()["id"]
    taken = await client.post(
        f"/api/me/invitations/{someone_elses}/accept", headers=stranger.headers
    )
    assert taken.status_code == 404
    withdrawn = await client.delete(
        f"{path[: -len('/members')]}/invitations/{answers[1].json()['id']}",
        headers=teacher.headers,
    )
    assert withdrawn.status_code == 204


async def test_organisation_identity_is_validated(
    client: httpx.AsyncClient, database: Database
) -> None:
    person = await make_user(database, "boss@example.fr")
    base = {
        "name": "ACME",
        "user_type": "company",
        "billing_address": "1 rue",
        "billing_postcode": "75001",
        "billing_town": "Paris",
    }
    missing = await client.post("/api/organisations", json=base, headers=person.headers)
    assert missing.status_code == 422
    assert missing.json()["code"] == "company_identity_required"
    bad_vat = await client.post(
        "/api/organisations", json={**base, "vat_number": "FR00000000000"}, headers=person.headers
    )
    assert bad_vat.status_code == 422
    assert bad_vat.json()["errors"][0]["field"] == "vat_number"
    good = await client.post(
        "/api/organisations",
        json={**base, "vat_number": "fr 40 303 265 045"},
        headers=person.headers,
    )
    assert good.status_code == 201
    assert good.json()["vat_number"] == "FR40303265045"
    not_org = await client.post(
        "/api/organisations",
        json={**base, "user_type": "student", "vat_number": "FR40303265045"},
        headers=person.headers,
    )
    assert not_org.status_code == 422


async def test_reduced_rate_granted_by_a_manager(
    client: httpx.AsyncClient, database: Database, admin_headers: dict[str, str]
) -> None:
    assert (await sign_up(client, requested_user_type="student")).status_code == 200
    place = await make_place(client, admin_headers)
    manager = await make_user(database, "desk@example.fr", manages=(place["id"],))
    citizen = await make_user(database, "nosy@example.fr")
    found = await client.get("/api/users?email=ALICE@example.fr", headers=manager.headers)
    assert found.status_code == 200
    user = found.json()
    assert user["requested_user_type"] == "student"
    assert (
        await client.get("/api/users?email=alice@example.fr", headers=citizen.headers)
    ).status_code == 403
    granted = await client.put(
        f"/api/users/{user['id']}/user-type",
        json={"user_type": "student", "place_id": place["id"]},
        headers=manager.headers,
    )
    assert granted.status_code == 200
    assert granted.json() == {
        "user_id": user["id"],
        "place_id": place["id"],
        "user_type": "student",
    }
    me = (await client.get("/api/me")).json()
    assert (me["user_type"], me["rates"]) == ("citizen", {str(place["id"]): "student"})
    assert me["requested_user_type"] is None


async def test_place_user_types(
    client: httpx.AsyncClient, database: Database, admin_headers: dict[str, str]
) -> None:
    place = await make_place(client, admin_headers)
    other = await make_place(client, admin_headers, slug="other")
    manager = await make_user(database, "m@example.fr", manages=(place["id"],))
    body = {
        "code": "member-tregor",
        "label_fr": "Adhérent",
        "label_en": "Member",
        "place_id": place["id"],
    }
    assert (
        await client.post("/api/user-types", json=body, headers=manager.headers)
    ).status_code == 201
    foreign = await client.post(
        "/api/user-types",
        json={**body, "code": "member-x", "place_id": other["id"]},
        headers=manager.headers,
    )
    assert foreign.status_code == 403
    global_type = await client.post(
        "/api/user-types",
        json={**body, "code": "member-y", "place_id": None},
        headers=manager.headers,
    )
    assert global_type.status_code == 403
    everywhere = [t["code"] for t in (await client.get("/api/user-types")).json()]
    here = [t["code"] for t in (await client.get(f"/api/user-types?place_id={place['id']}")).json()]
    assert "member-tregor" not in everywhere
    assert "member-tregor" in here
    assert everywhere[:3] == ["citizen", "student", "job_seeker"]


async def test_managers_trainings_and_certifications(
    client: httpx.AsyncClient, database: Database, admin_headers: dict[str, str]
) -> None:
    place = await make_place(client, admin_headers)
    other = await make_place(client, admin_headers, slug="other")
    await make_user(database, "future@example.fr")
    added = await client.post(
        f"/api/places/{place['id']}/managers",
        json={"email": "future@example.fr"},
        headers=admin_headers,
    )
    assert added.status_code == 201
    manager_id = added.json()["user_id"]
    manager = await make_user(database, "m2@example.fr", manages=(place["id"],))
    stranger = await make_user(database, "s@example.fr", manages=(other["id"],))
    learner = await make_user(database, "learner@example.fr")
    listed = await client.get(f"/api/places/{place['id']}/managers", headers=manager.headers)
    assert {m["user_id"] for m in listed.json()} == {manager_id, manager.user_id}
    hidden = await client.get(f"/api/places/{place['id']}/managers", headers=stranger.headers)
    assert hidden.status_code == 403
    training = await client.post(
        f"/api/places/{place['id']}/trainings",
        json={"name": "Sécurité découpe laser", "validity_days": 365},
        headers=manager.headers,
    )
    assert training.status_code == 201
    tid = training.json()["id"]
    assert (await client.get(f"/api/places/{place['id']}/trainings")).json()[0]["id"] == tid
    url = f"/api/trainings/{tid}/certifications"
    grant = {"user_id": learner.user_id, "granted_on": "2026-11-20"}
    assert (await client.post(url, json=grant, headers=stranger.headers)).status_code == 403
    certified = await client.post(url, json=grant, headers=manager.headers)
    assert certified.status_code == 201
    assert certified.json()["expires_on"] == "2027-11-20"
    mine = (await client.get("/api/me", headers=learner.headers)).json()["certifications"]
    assert [(c["training_id"], c["expires_on"]) for c in mine] == [(tid, "2027-11-20")]
    backwards = await client.post(
        url, json={**grant, "expires_on": "2026-01-01"}, headers=manager.headers
    )
    assert backwards.status_code == 422
    revoked = await client.delete(f"{url}/{learner.user_id}", headers=manager.headers)
    assert revoked.status_code == 204
    assert (await client.get(url, headers=manager.headers)).json() == []
    removed = await client.delete(
        f"/api/places/{place['id']}/managers/{manager_id}", headers=admin_headers
    )
    assert removed.status_code == 204

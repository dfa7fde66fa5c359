"""Small factories: build valid catalogue payloads and create them through the API."""

from __future__ import annotations

from typing import Any

import httpx

VALID_SIRET = "73282932000074"


def place_payload(**overrides: Any) -> dict[str, Any]:
    """A valid new place."""
    payload: dict[str, Any] = {
        "slug": "fablab-lannion",
        "name": "Fablab de Lannion",
        "address": "1 rue de la Mairie",
        "postcode": "22300",
        "town": "Lannion",
        "latitude": 48.73,
        "longitude": -3.46,
        "timezone": "Europe/Paris",
        "operator_name": "Commune de Lannion",
        "operator_siret": VALID_SIRET,
        "description": "Atelier de fabrication numérique",
    }
    payload.update(overrides)
    return payload


def resource_payload(**overrides: Any) -> dict[str, Any]:
    """A valid new resource."""
    payload: dict[str, Any] = {"name": "Imprimante 3D", "kind": "machine"}
    payload.update(overrides)
    return payload


async def make_place(
    client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    """Create a place through the API and return its representation."""
    response = await client.post("/api/places", json=place_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def make_resource(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    place_id: int,
    **overrides: Any,
) -> dict[str, Any]:
    """Create a resource through the API and return its representation."""
    response = await client.post(
        f"/api/places/{place_id}/resources", json=resource_payload(**overrides), headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body

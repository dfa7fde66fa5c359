"""Factur-X through the API: a public buyer registered with its SIRET and Chorus Pro service
code, booked on its engagement number, gets invoices and credit notes whose Factur-X passes the
EN 16931 rules and carries what Chorus Pro reads; only those who may see the invoice get it."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import timedelta
from typing import Any

import httpx
import pikepdf
from lxml import etree

from billing.facturx.cii import NSMAP
from kernel.db import Database
from tests.billing.facturx_rules import assert_valid
from tests.billing.support import START, PricedLab, checkout
from tests.support.accounts import make_user

Client = httpx.AsyncClient
TOWN_HALL = {
    "name": "Mairie de Trébeurden",
    "user_type": "public_body",
    "siret": "21220343400007",
    "billing_address": "Place de la Mairie",
    "billing_postcode": "22560",
    "billing_town": "Trébeurden",
    "requires_purchase_order": True,
    "chorus_service_code": "SERVICE-JEUNESSE",
}


def embedded_xml(pdf: bytes) -> bytes:
    """The factur-x.xml a receiver extracts from the PDF."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        return bytes(document.attachments["factur-x.xml"].get_file().read_bytes())


def first(xml: bytes, path: str) -> str:
    values = etree.fromstring(xml).xpath(path, namespaces=NSMAP)
    return str(values[0]) if values else ""


async def _town_hall(api: Client, lab: PricedLab, database: Database, admin: dict[str, str]) -> Any:
    clerk = await make_user(database, "secretariat@trebeurden.fr")
    missing = await api.post(
        "/api/organisations", json={**TOWN_HALL, "siret": None}, headers=clerk.headers
    )
    assert missing.status_code == 422, missing.text
    assert missing.json()["code"] == "public_body_siret_required"
    assert "siret" in missing.text
    created = await api.post("/api/organisations", json=TOWN_HALL, headers=clerk.headers)
    assert created.status_code == 201, created.text
    organisation = created.json()
    assert organisation["chorus_service_code"] == "SERVICE-JEUNESSE"
    assert organisation["public_buyer"] is True  # a public body always is
    verified = await api.post(
        f"/api/organisations/{organisation['id']}/verification", headers=admin
    )
    assert verified.status_code == 200, verified.text
    # The place invoices public bodies.
    settings = await api.get(
        f"/api/places/{lab.place_id}/billing-settings", headers=lab.manager.headers
    )
    body = settings.json()
    body["payment_methods"] = {**body["payment_methods"], "public_body": ["invoice"]}
    changed = await api.put(
        f"/api/places/{lab.place_id}/billing-settings",
        json={k: body[k] for k in ("invoice_prefix", "seller_vat_number", "payment_methods",
                                   "refund_tiers", "hold_minutes")},
        headers=lab.manager.headers,
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    return clerk, organisation["id"]


async def test_a_public_buyer_gets_valid_facturx_invoices_and_credit_notes(
    api: Client, lab: PricedLab, database: Database, admin_headers: dict[str, str]
) -> None:
    clerk, town_hall = await _town_hall(api, lab, database, admin_headers)
    items = [(lab.lab.printer, 1), (lab.lab.room, 1), (lab.lab.seats, 3)]
    end = START + timedelta(hours=2)

    without = await checkout(
        api, clerk, items, START, end, method="invoice", organisation_id=town_hall
    )
    assert without.status_code == 422, without.text
    assert without.json()["code"] == "purchase_order_required"

    booked = await checkout(
        api, clerk, items, START, end, method="invoice", organisation_id=town_hall,
        purchase_order="ENG-2027-000123",
    )  # fmt: skip
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["booking"]["id"]
    billing = await api.get(f"/api/bookings/{booking_id}/billing", headers=clerk.headers)
    (invoice,) = billing.json()["documents"]

    response = await api.get(f"/api/invoices/{invoice['id']}/facturx", headers=clerk.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert f"{invoice['number']}-facturx.pdf" in response.headers["content-disposition"]
    xml = embedded_xml(response.content)
    assert_valid(xml)
    assert first(xml, "//ram:BuyerReference/text()") == "SERVICE-JEUNESSE"
    assert (
        first(xml, "//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID/text()")
        == "ENG-2027-000123"
    )
    buyer_id = "//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID"
    assert first(xml, f"{buyer_id}/text()") == TOWN_HALL["siret"]
    assert first(xml, f"{buyer_id}/@schemeID") == "0009"
    assert first(xml, "//ram:GrandTotalAmount/text()") == (
        f"{invoice['total_incl_vat_cents'] / 100:.2f}"
    )
    categories = etree.fromstring(xml).xpath(
        "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode/text()",
        namespaces=NSMAP,
    )
    assert sorted(categories) == ["E", "S", "S"]

    # Cancelled (a full refund 48 h ahead): the credit note is Factur-X too, naming the invoice.
    cancelled = await api.post(f"/api/bookings/{booking_id}/cancel", json={}, headers=clerk.headers)
    assert cancelled.status_code == 200, cancelled.text
    billing = await api.get(f"/api/bookings/{booking_id}/billing", headers=clerk.headers)
    (credit_note,) = [d for d in billing.json()["documents"] if d["kind"] == "credit_note"]
    response = await api.get(f"/api/invoices/{credit_note['id']}/facturx", headers=clerk.headers)
    assert response.status_code == 200, response.text
    xml = embedded_xml(response.content)
    assert_valid(xml)
    assert first(xml, "//rsm:ExchangedDocument/ram:TypeCode/text()") == "381"
    assert (
        first(xml, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()")
        == invoice["number"]
    )

    # The place's manager downloads it too; anyone else is told it does not exist.
    managed = await api.get(f"/api/invoices/{invoice['id']}/facturx", headers=lab.manager.headers)
    assert managed.status_code == 200
    stranger = await make_user(database, "curieux@example.fr")
    hidden = await api.get(f"/api/invoices/{invoice['id']}/facturx", headers=stranger.headers)
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "invoice_not_found"
    missing = await api.get("/api/invoices/999999/facturx", headers=clerk.headers)
    assert missing.status_code == 404

    # A citizen's invoice of the same days is not for Chorus Pro.
    ana = await make_user(database, "ana@example.fr")
    paid_on_site = await checkout(
        api, ana, lab.lab.printer, START, START + timedelta(hours=1), method="on_site"
    )
    assert paid_on_site.status_code == 201, paid_on_site.text
    recorded = await api.post(
        f"/api/payments/{paid_on_site.json()['payment']['id']}/record",
        json={"means": "cash"},
        headers=lab.manager.headers,
    )
    assert recorded.status_code == 200, recorded.text

    export = f"/api/places/{lab.place_id}/facturx-export"
    zipped = await api.get(
        export, params={"from": "2027-03-01", "to": "2027-04-01"}, headers=lab.manager.headers
    )
    assert zipped.status_code == 200, zipped.text
    assert zipped.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        names = archive.namelist()
        assert names == [
            f"{invoice['number']}.pdf",
            f"{credit_note['number']}.pdf",
            "bordereau.csv",
            "SHA256SUMS",
        ]
        for name in names[:2]:
            pdf = archive.read(name)
            assert_valid(embedded_xml(pdf))
            assert (
                f"{hashlib.sha256(pdf).hexdigest()}  {name}" in archive.read("SHA256SUMS").decode()
            )
        slip = archive.read("bordereau.csv").decode("utf-8-sig").splitlines()
        assert slip[1].split(";")[4:8] == [
            TOWN_HALL["name"], TOWN_HALL["siret"], "SERVICE-JEUNESSE", "ENG-2027-000123"
        ]  # fmt: skip
    before = await api.get(
        export, params={"from": "2027-01-01", "to": "2027-03-01"}, headers=lab.manager.headers
    )
    with zipfile.ZipFile(io.BytesIO(before.content)) as archive:
        assert archive.namelist() == ["bordereau.csv", "SHA256SUMS"]
    backwards = await api.get(
        export, params={"from": "2027-04-01", "to": "2027-03-01"}, headers=lab.manager.headers
    )
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["field"] == "to"
    too_long = await api.get(
        export, params={"from": "2026-01-01", "to": "2027-03-01"}, headers=lab.manager.headers
    )
    assert too_long.status_code == 422
    assert too_long.json()["code"] == "period_too_long"


async def test_a_public_buyer_keeps_its_siret_and_may_change_its_service_code(
    api: Client, lab: PricedLab, database: Database, admin_headers: dict[str, str]
) -> None:
    clerk, town_hall = await _town_hall(api, lab, database, admin_headers)
    kept = await api.patch(
        f"/api/organisations/{town_hall}", json={"public_buyer": False}, headers=clerk.headers
    )
    assert kept.status_code == 200 and kept.json()["public_buyer"] is True
    # A public school books at the school rate and is a public buyer: its SIRET is required.
    school = {**TOWN_HALL, "name": "Collège Yves Coppens", "user_type": "school"}
    anonymous = {k: v for k, v in school.items() if k != "siret"}
    refused = await api.post(
        "/api/organisations", json={**anonymous, "public_buyer": True}, headers=clerk.headers
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "siret"
    private = await api.post("/api/organisations", json=anonymous, headers=clerk.headers)
    assert private.status_code == 201, private.text
    assert private.json()["public_buyer"] is False
    becoming = await api.patch(
        f"/api/organisations/{private.json()['id']}",
        json={"public_buyer": True},
        headers=clerk.headers,
    )
    assert becoming.status_code == 422
    assert becoming.json()["code"] == "public_body_siret_required"
    dropped = await api.patch(
        f"/api/organisations/{town_hall}", json={"siret": None}, headers=clerk.headers
    )
    assert dropped.status_code == 422
    assert dropped.json()["code"] == "public_body_siret_required"
    changed = await api.patch(
        f"/api/organisations/{town_hall}",
        json={"chorus_service_code": "SERVICE-ECOLES"},
        headers=clerk.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["chorus_service_code"] == "SERVICE-ECOLES"
    bad = await api.patch(
        f"/api/organisations/{town_hall}",
        json={"chorus_service_code": "<script>"},
        headers=clerk.headers,
    )
    assert bad.status_code == 422
    assert "chorus_service_code" in bad.text

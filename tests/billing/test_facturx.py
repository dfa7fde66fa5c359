"""Factur-X of invoices and credit notes, without a database: every generated XML passes the
Factur-X EN 16931 XSD, the CEN EN 16931 CII schematron and the Factur-X profile's schematron,
for random lines, rates, exemptions, buyers and credit notes; the PDF is a PDF/A-3 carrying it.

EN 16931 rules these tests exercise (through the schematrons, which name them on failure):
BR-01..BR-16 (mandatory fields), BR-CO-10, BR-CO-13, BR-CO-14, BR-CO-15, BR-CO-16 (totals),
BR-CO-17 and BR-CO-18 (VAT breakdown), BR-CO-25 (due date or terms), BR-CO-26 (seller
identified), BR-S-01..BR-S-10, BR-E-01..BR-E-10, BR-O-01..BR-O-14 (VAT categories), BR-43 (line
charge reason), BR-DEC-* (two decimals), and BR-55 (the credited invoice, BT-25).
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pypdf import PdfReader

from accounts.models import Organisation, User
from billing.facturx import facturx_pdf, facturx_xml
from billing.facturx.cii import NSMAP
from billing.invoicing import (
    breakdown_of,
    buyer_of,
    credit_lines,
    invoice_lines,
    seller_of,
)
from billing.models import PlaceBilling
from billing.pricing import (
    QuoteRequestLine,
    Rate,
    VatRegime,
    credit_breakdown,
    quote,
)
from resources.models import Place
from tests.billing.facturx_rules import assert_valid, problems
from tests.support.booking import paris

FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
SIRET = "21220113100001"  # a commune's (Luhn-valid)
SCHOOL_SIRET = "19220001200008"


def place(*, siret: str | None = SIRET) -> Place:
    return Place(
        slug="fablab",
        name="Fablab de Lannion",
        address="1 rue des Écoles",
        postcode="22300",
        town="Lannion",
        email="fablab@lannion.example",
        operator_name="Commune de Lannion",
        operator_siret=siret,
    )


def billing(vat_number: str | None = "FR61212201138") -> PlaceBilling:
    return PlaceBilling(place_id=1, invoice_prefix="FLT", seller_vat_number=vat_number)


def organisation(*, service_code: str | None = None, siret: str | None = SCHOOL_SIRET) -> Any:
    return Organisation(
        name="Lycée Félix Le Dantec",
        user_type_code="public_body",
        siret=siret,
        siren=siret[:9] if siret else None,
        billing_address="Rue des Cordiers",
        billing_postcode="22300",
        billing_town="Lannion",
        billing_email="gestion@lycee.example",
        chorus_service_code=service_code,
    )


PERSON = User(email="camille@example.org", display_name="Camille Martin")


def invoice_content(
    charged: dict[str, Any],
    *,
    buyer: dict[str, Any],
    seller: dict[str, Any],
    method: str = "invoice",
    paid: bool = False,
    purchase_order: str | None = None,
    period: bool = False,
) -> dict[str, Any]:
    """An invoice's content as billing.invoicing seals it, from a charged quote."""
    return {
        "type": "invoice",
        "title": "Facture",
        "number": "FLT-2027-000042",
        "issued_on": "2027-03-01",
        "issued_at": "2027-03-01T08:00:00.000000Z",
        "currency": "EUR",
        "operation_category": "Prestation de services",
        "seller": seller,
        "buyer": buyer,
        "booking": None
        if period
        else {
            "id": 1,
            "reference": "MUT-7Q2K",
            "starts_at": "2027-03-08T09:00:00.000000Z",
            "ends_at": "2027-03-08T11:00:00.000000Z",
            "local_start": "2027-03-08 10:00",
            "local_end": "2027-03-08 12:00",
            "timezone": "Europe/Paris",
        },
        "service_date": None if period else "2027-03-08",
        "corrects": None,
        **(
            {
                "period": {
                    "key": "2027-03",
                    "label": "mars 2027",
                    "first": "2027-03-01",
                    "last": "2027-03-31",
                    "first_text": "1er mars 2027",
                    "last_text": "31 mars 2027",
                    "timezone": "Europe/Paris",
                },
                "sessions": [],
            }
            if period
            else {}
        ),
        "lines": invoice_lines(charged),
        "vat_breakdown": charged["breakdown"],
        "total_excl_vat_cents": charged["total_excl_vat_cents"],
        "total_vat_cents": charged["total_vat_cents"],
        "total_incl_vat_cents": charged["total_incl_vat_cents"],
        "mentions": charged["mentions"],
        "payment": {
            "method": method,
            "method_label": "Paiement sur facture",
            "status": "paid" if paid else "due",
            "paid_on": "2027-03-01" if paid else None,
            "due_on": None if paid else "2027-03-31",
            "purchase_order": purchase_order,
            "terms": "Payée le 01/03/2027." if paid else "À payer au plus tard le 31/03/2027.",
            "late_penalties": "Pénalités de retard : trois fois le taux d'intérêt légal.",
            "recovery_indemnity": "Indemnité forfaitaire pour frais de recouvrement : 40 €.",
        },
        "reason": None,
    }


def credit_note_content(invoice: dict[str, Any], amount_incl_cents: int) -> dict[str, Any]:
    """A credit note of part or all of an invoice, as billing.invoicing seals it."""
    credited = credit_breakdown(
        breakdown_of({"breakdown": invoice["vat_breakdown"]}), amount_incl_cents
    )
    whole = amount_incl_cents == invoice["total_incl_vat_cents"]
    return {
        **invoice,
        "type": "credit_note",
        "title": "Avoir",
        "number": "FLT-AV-2027-000003",
        "issued_on": "2027-03-05",
        "corrects": {"number": invoice["number"], "issued_on": invoice["issued_on"]},
        "lines": credit_lines(invoice, credited, "Remboursement partiel", whole=whole),
        "vat_breakdown": [
            {
                "kind": b.kind.value,
                "rate": f"{b.rate:.2f}",
                "base_cents": b.base_cents,
                "vat_cents": b.vat_cents,
            }
            for b in credited
        ],
        "total_excl_vat_cents": sum(b.base_cents for b in credited),
        "total_vat_cents": sum(b.vat_cents for b in credited),
        "total_incl_vat_cents": amount_incl_cents,
        "payment": {**invoice["payment"], "status": "credit", "due_on": None, "paid_on": None},
        "reason": "Annulation par le lieu",
    }


def charged_quote(lines: list[QuoteRequestLine]) -> dict[str, Any]:
    """A quote as a payment stores it."""
    priced = quote(lines)
    return {**priced.canonical(), "mentions": list(priced.mentions)}


START = paris(2027, 3, 8, 10)

REGIMES = st.one_of(
    st.sampled_from(["20", "10", "5.5", "2.1", "8.5", "13"]).map(VatRegime.taxable),
    st.just(VatRegime.exempt()),
    st.just(VatRegime.exempt("Exonération de TVA, art. 261, 4, 4° du CGI (enseignement)")),
    st.just(VatRegime.out_of_scope()),
)


@st.composite
def request_lines(draw: st.DrawFn) -> list[QuoteRequestLine]:
    # A seller under the franchise charges no VAT on any line.
    franchise = draw(st.integers(0, 9)) == 0
    count = draw(st.integers(1, 5))
    lines = []
    for index in range(count):
        minutes = draw(st.integers(1, 16 * 60))
        rate = Rate(
            hourly_cents=draw(st.integers(0, 20_000)),
            per_unit=draw(st.booleans()),
            flat_fee_cents=draw(st.sampled_from([0, 0, 250, 500, 1999])),
            minimum_cents=draw(st.sampled_from([0, 0, 1000, 4500])),
            free=draw(st.integers(0, 9)) == 0,
        )
        lines.append(
            QuoteRequestLine(
                label=f"Ressource {index + 1}",
                rate=rate,
                vat=VatRegime.franchise() if franchise else draw(REGIMES),
                start=START,
                end=START + _minutes(minutes),
                quantity=draw(st.integers(1, 12)),
            )
        )
    return lines


def _minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


BUYERS = st.sampled_from(["person", "school", "chorus", "no_siret"])


def buyer(kind: str) -> dict[str, Any]:
    if kind == "person":
        return buyer_of(PERSON, None)
    if kind == "chorus":
        return buyer_of(PERSON, organisation(service_code="SERVICE-GESTION"))
    if kind == "no_siret":
        return buyer_of(PERSON, organisation(siret=None))
    return buyer_of(PERSON, organisation())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=request_lines(),
    buyer_kind=BUYERS,
    seller_vat=st.sampled_from(["FR61212201138", None]),
    paid=st.booleans(),
    purchase_order=st.sampled_from([None, "ENG-2027-0042"]),
    period=st.booleans(),
    credit=st.one_of(st.none(), st.floats(0, 1)),
)
def test_every_invoice_and_credit_note_passes_the_en16931_rules(
    lines: list[QuoteRequestLine],
    buyer_kind: str,
    seller_vat: str | None,
    paid: bool,
    purchase_order: str | None,
    period: bool,
    credit: float | None,
) -> None:
    charged = charged_quote(lines)
    invoice = invoice_content(
        charged,
        buyer=buyer(buyer_kind),
        seller=seller_of(place(), billing(seller_vat)),
        paid=paid,
        purchase_order=purchase_order,
        period=period,
    )
    assert_valid(facturx_xml(invoice))
    total = invoice["total_incl_vat_cents"]
    if credit is not None and total > 0:
        amount = max(1, int(Decimal(str(credit)) * total))
        assert_valid(facturx_xml(credit_note_content(invoice, amount)))


def xpath(xml: bytes, path: str) -> list[str]:
    return [str(v) for v in etree.fromstring(xml).xpath(path, namespaces=NSMAP)]


def school_invoice(*regimes: VatRegime, service_code: str | None = None) -> dict[str, Any]:
    lines = [
        QuoteRequestLine(f"Ligne {i}", Rate(hourly_cents=1500), vat, START, START + _minutes(120))
        for i, vat in enumerate(regimes)
    ]
    return invoice_content(
        charged_quote(lines),
        buyer=buyer_of(PERSON, organisation(service_code=service_code)),
        seller=seller_of(place(), billing()),
        purchase_order="ENG-2027-0042",
    )


def test_chorus_pro_reads_the_service_code_engagement_number_and_siret() -> None:
    xml = facturx_xml(school_invoice(VatRegime.taxable(20), service_code="SERVICE-GESTION"))
    agreement = "//ram:ApplicableHeaderTradeAgreement"
    assert xpath(xml, f"{agreement}/ram:BuyerReference/text()") == ["SERVICE-GESTION"]  # BT-10
    assert xpath(
        xml, f"{agreement}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID/text()"
    ) == ["ENG-2027-0042"]  # BT-13
    buyer_id = f"{agreement}/ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID"
    assert xpath(xml, f"{buyer_id}/text()") == [SCHOOL_SIRET]
    assert xpath(xml, f"{buyer_id}/@schemeID") == ["0009"]
    seller_id = f"{agreement}/ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID"
    assert xpath(xml, f"{seller_id}/@schemeID") == ["0009"]
    assert_valid(xml)


def test_a_buyer_known_by_its_siren_only_is_named_with_scheme_0002() -> None:
    content = school_invoice(VatRegime.taxable(20))
    content["buyer"] = {**content["buyer"], "siret": None, "siren": "192200012"}
    xml = facturx_xml(content)
    path = "//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID"
    assert xpath(xml, f"{path}/@schemeID") == ["0002"]
    assert_valid(xml)


def test_exempt_lines_carry_their_vatex_code_and_text() -> None:
    xml = facturx_xml(school_invoice(VatRegime.taxable(20), VatRegime.exempt()))
    settlement = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
    assert xpath(xml, f"{settlement}/ram:CategoryCode/text()") == ["S", "E"]
    assert xpath(xml, f"{settlement}/ram:ExemptionReasonCode/text()") == ["VATEX-FR-CGI261D-2"]
    assert "261 D" in xpath(xml, f"{settlement}/ram:ExemptionReason/text()")[0]
    assert_valid(xml)


def test_an_invoice_outside_the_scope_of_vat_is_category_o_without_vat_numbers() -> None:
    xml = facturx_xml(school_invoice(VatRegime.out_of_scope(), VatRegime.out_of_scope()))
    assert xpath(xml, "//ram:ApplicableTradeTax/ram:CategoryCode/text()") == ["O"] * 3
    assert xpath(xml, "//ram:SpecifiedTaxRegistration/ram:ID/text()") == []
    assert_valid(xml)


def test_out_of_scope_lines_beside_taxable_ones_are_stated_exempt_with_their_mention() -> None:
    xml = facturx_xml(school_invoice(VatRegime.taxable(20), VatRegime.out_of_scope()))
    settlement = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
    assert xpath(xml, f"{settlement}/ram:CategoryCode/text()") == ["S", "E"]
    assert "256 B" in xpath(xml, f"{settlement}/ram:ExemptionReason/text()")[0]
    assert_valid(xml)


def test_hours_are_billed_at_the_hourly_price_and_the_fee_as_a_line_charge() -> None:
    line = QuoteRequestLine(
        "Postes",
        Rate(hourly_cents=200, per_unit=True, flat_fee_cents=500),
        VatRegime.taxable(10),
        START,
        START + _minutes(90),
        quantity=3,
    )
    content = invoice_content(
        charged_quote([line]), buyer=buyer("school"), seller=seller_of(place(), billing())
    )
    xml = facturx_xml(content)
    item = "//ram:IncludedSupplyChainTradeLineItem"
    assert xpath(xml, f"{item}//ram:BilledQuantity/text()") == ["4.5"]
    assert xpath(xml, f"{item}//ram:BilledQuantity/@unitCode") == ["HUR"]
    assert xpath(xml, f"{item}//ram:NetPriceProductTradePrice/ram:ChargeAmount/text()") == ["2.00"]
    assert xpath(xml, f"{item}//ram:SpecifiedTradeAllowanceCharge/ram:ActualAmount/text()") == [
        "5.00"
    ]
    assert xpath(xml, f"{item}//ram:LineTotalAmount/text()") == ["14.00"]
    assert_valid(xml)


def test_a_credit_note_is_type_381_and_names_the_invoice_it_corrects() -> None:
    invoice = school_invoice(VatRegime.taxable(20), VatRegime.exempt())
    xml = facturx_xml(credit_note_content(invoice, 1234))
    assert xpath(xml, "//rsm:ExchangedDocument/ram:TypeCode/text()") == ["381"]
    referenced = "//ram:InvoiceReferencedDocument"
    assert xpath(xml, f"{referenced}/ram:IssuerAssignedID/text()") == ["FLT-2027-000042"]  # BT-25
    assert xpath(xml, f"{referenced}//qdt:DateTimeString/text()") == ["20270301"]
    assert xpath(xml, "//ram:GrandTotalAmount/text()") == ["12.34"]
    assert_valid(xml)


def test_a_paid_invoice_owes_nothing_and_a_due_one_its_total_by_its_due_date() -> None:
    lines = [
        QuoteRequestLine(
            "Imprimante", Rate(1500), VatRegime.taxable(20), START, START + _minutes(120)
        )
    ]
    seller = seller_of(place(), billing())
    paid = facturx_xml(
        invoice_content(charged_quote(lines), buyer=buyer("person"), seller=seller, paid=True)
    )
    due = facturx_xml(invoice_content(charged_quote(lines), buyer=buyer("person"), seller=seller))
    assert xpath(paid, "//ram:DuePayableAmount/text()") == ["0.00"]
    assert xpath(paid, "//ram:TotalPrepaidAmount/text()") == ["36.00"]
    assert xpath(due, "//ram:DuePayableAmount/text()") == ["36.00"]
    assert xpath(due, "//ram:DueDateDateTime/udt:DateTimeString/text()") == ["20270331"]
    assert_valid(paid)
    assert_valid(due)


def test_the_rules_catch_a_wrong_total_and_name_the_rule() -> None:
    # The checks can fail: a grand total that is not base + VAT breaks BR-CO-15.
    xml = facturx_xml(school_invoice(VatRegime.taxable(20)))
    broken = xml.replace(b"<ram:GrandTotalAmount>36.00<", b"<ram:GrandTotalAmount>36.01<")
    assert broken != xml
    found = problems(broken)
    assert any("[BR-CO-15]" in problem for problem in found), found


def test_the_rules_catch_a_missing_exemption_reason() -> None:
    xml = facturx_xml(school_invoice(VatRegime.exempt()))
    tree = etree.fromstring(xml)
    for node in tree.xpath(
        "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:ExemptionReason"
        " | //ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:ExemptionReasonCode",
        namespaces=NSMAP,
    ):
        node.getparent().remove(node)
    found = problems(etree.tostring(tree))
    assert any("[BR-E-10]" in problem for problem in found), found


@pytest.fixture(scope="module")
def pdf_and_xml() -> tuple[bytes, bytes]:
    content = school_invoice(VatRegime.taxable(20), VatRegime.exempt(), service_code="SG-1")
    return facturx_pdf(content, "ab" * 32), facturx_xml(content)


def test_the_pdf_is_a_pdf_a_3b_with_the_xml_attached_as_data(
    pdf_and_xml: tuple[bytes, bytes],
) -> None:
    pdf, xml = pdf_and_xml
    with pikepdf.open(io.BytesIO(pdf)) as document:
        metadata = document.open_metadata()
        assert metadata.get("pdfaid:part") == "3"
        assert metadata.get("pdfaid:conformance") == "B"
        assert metadata.get(f"{{{FX}}}ConformanceLevel") == "EN 16931"
        assert metadata.get(f"{{{FX}}}DocumentFileName") == "factur-x.xml"
        assert metadata.get(f"{{{FX}}}DocumentType") == "INVOICE"
        assert "/Filter" not in document.Root.Metadata  # PDF/A: the XMP stays readable
        assert document.attachments.keys() == {"factur-x.xml"}
        assert document.attachments["factur-x.xml"].get_file().read_bytes() == xml
        (filespec,) = document.Root.AF
        assert filespec.AFRelationship == pikepdf.Name.Data
        assert filespec.EF.F.Subtype == pikepdf.Name("/text/xml")
        (intent,) = document.Root.OutputIntents
        assert intent.S == pikepdf.Name.GTS_PDFA1
        assert "/DestOutputProfile" in intent
        fonts = [
            font
            for page in document.pages
            for font in page.Resources.Font.values()  # type: ignore[attr-defined]
        ]
        assert fonts
        for font in fonts:
            descendant = font.DescendantFonts[0] if "/DescendantFonts" in font else font
            assert "/FontFile2" in descendant.FontDescriptor, font.BaseFont
        assert "/Encrypt" not in document.trailer


def test_the_pdf_shows_the_invoice(pdf_and_xml: tuple[bytes, bytes]) -> None:
    pdf, _ = pdf_and_xml
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Facture n° FLT-2027-000042" in text
    assert "Lycée Félix Le Dantec" in text
    assert date(2027, 3, 1).strftime("%d/%m/%Y") in text

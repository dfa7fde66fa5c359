"""The Cross Industry Invoice (UN/CEFACT CII D16B) of a sealed invoice or credit note, as
Factur-X profile EN 16931 reads it (no I/O).

Built from the document's sealed content only (what was issued, never the current state of the
place or the buyer), with lxml. What Chorus Pro reads: the buyer's SIRET (scheme 0009), the
public buyer's service code as the buyer reference (BT-10) and the engagement number as the
purchase order reference (BT-13).

Amounts are the stored integer cents written with two decimals. A line states its billed hours
(unit ``HUR``) at its hourly net price, its flat fee as a line charge; a line whose total is not
that product (a minimum charge, a free rate, a per-seat price written per hour, a share credited
by a credit note) states one unit (``C62``) at its total.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from lxml import etree

from billing.facturx.codes import PAYMENT_MEANS, Category, category, document_is_out_of_scope

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
EN16931 = "urn:cen.eu:en16931:2017"
TYPE_CODES = {"invoice": "380", "credit_note": "381"}
SIRET_SCHEME = "0009"
SIREN_SCHEME = "0002"
_CENT = Decimal("0.01")


def amount(cents: int) -> str:
    """Integer cents as an EN 16931 amount (``1234`` -> ``12.34``)."""
    return f"{Decimal(int(cents)) / 100:.2f}"


def _day(text: str) -> str:
    return date.fromisoformat(text).strftime("%Y%m%d")


class _Builder:
    """Appends CII elements under a parent, in the order the schema wants them."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root

    @staticmethod
    def add(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> Any:
        prefix, local = name.split(":")
        element = etree.SubElement(parent, f"{{{NSMAP[prefix]}}}{local}", attrs)
        if text is not None:
            element.text = text
        return element

    def date(self, parent: etree._Element, name: str, day: str, *, qualified: bool = False) -> None:
        holder = self.add(parent, name)
        self.add(holder, "qdt:DateTimeString" if qualified else "udt:DateTimeString", _day(day))
        holder[0].set("format", "102")


def _line_quantity(line: Mapping[str, Any]) -> tuple[str, str, int, int]:
    """(quantity, unit code, net price in cents, charge in cents) of a stored line."""
    total = int(line["total_excl_vat_cents"])
    price = int(line.get("unit_price_excl_vat_cents") or 0)
    fee = int(line.get("flat_fee_excl_vat_cents") or 0)
    minutes = int(line.get("minutes") or 0)
    units = int(line.get("quantity") or 1) if line.get("per_unit") else 1
    hours = Decimal(minutes * units) / 60
    if (
        minutes > 0
        and not line.get("minimum_applied")
        and not line.get("free")
        and hours == hours.quantize(Decimal("0.0001"))
        and (hours * price).quantize(Decimal(1), ROUND_HALF_UP) + fee == total
        and hours * price == (hours * price).quantize(Decimal(1))
    ):
        return f"{hours.normalize():f}", "HUR", price, fee
    return "1", "C62", total, 0


def _tax(b: _Builder, parent: etree._Element, cat: Category) -> None:
    tax = b.add(parent, "ram:ApplicableTradeTax")
    b.add(tax, "ram:TypeCode", "VAT")
    b.add(tax, "ram:CategoryCode", cat.code)
    if cat.percent is not None:
        b.add(tax, "ram:RateApplicablePercent", cat.percent)


def _party(
    b: _Builder, parent: etree._Element, name: str, party: Mapping[str, Any], *, trade: str | None
) -> None:
    node = b.add(parent, name)
    b.add(node, "ram:Name", party["name"])
    siret, siren = party.get("siret"), party.get("siren")
    if siret or siren:
        legal = b.add(node, "ram:SpecifiedLegalOrganization")
        b.add(legal, "ram:ID", siret or siren, schemeID=SIRET_SCHEME if siret else SIREN_SCHEME)
        if trade:
            b.add(legal, "ram:TradingBusinessName", trade)
    if party.get("contact"):
        contact = b.add(node, "ram:DefinedTradeContact")
        b.add(contact, "ram:PersonName", party["contact"])
    address = b.add(node, "ram:PostalTradeAddress")
    if party.get("postcode"):
        b.add(address, "ram:PostcodeCode", party["postcode"])
    if party.get("address"):
        b.add(address, "ram:LineOne", party["address"])
    if party.get("town"):
        b.add(address, "ram:CityName", party["town"])
    b.add(address, "ram:CountryID", "FR")
    if party.get("email"):
        uri = b.add(node, "ram:URIUniversalCommunication")
        b.add(uri, "ram:URIID", party["email"], schemeID="EM")
    if party.get("vat_number"):
        reg = b.add(node, "ram:SpecifiedTaxRegistration")
        b.add(reg, "ram:ID", party["vat_number"], schemeID="VA")
    elif party.get("tax_registration"):
        reg = b.add(node, "ram:SpecifiedTaxRegistration")
        b.add(reg, "ram:ID", party["tax_registration"], schemeID="FC")


def _categories(content: Mapping[str, Any]) -> list[tuple[Category, int]]:
    """Each line's category with its net amount in cents."""
    lines = content["lines"]
    all_out = document_is_out_of_scope(line["vat_kind"] for line in lines)
    return [
        (
            category(
                line["vat_kind"], line["vat_rate"], line.get("mention"), all_out_of_scope=all_out
            ),
            int(line["total_excl_vat_cents"]),
        )
        for line in lines
    ]


def _breakdown(
    content: Mapping[str, Any], categories: list[tuple[Category, int]]
) -> list[tuple[Category, int, int]]:
    """The VAT breakdown (BG-23): one entry per category and rate, base summed from the lines,
    VAT as stored per rate (the issuer rounded it once per rate)."""
    vat_of_rate = {
        entry["rate"]: int(entry["vat_cents"])
        for entry in content["vat_breakdown"]
        if entry["kind"] == "taxable"
    }
    entries: dict[tuple[str, str | None], list[Any]] = {}
    for cat, cents in categories:
        key = (cat.code, cat.percent)
        if key not in entries:
            entries[key] = [cat, 0, [], []]
        entry = entries[key]
        entry[1] += cents
        if cat.reason_text and cat.reason_text not in entry[2]:
            entry[2].append(cat.reason_text)
        if cat.reason_code not in entry[3]:
            entry[3].append(cat.reason_code)
    result: list[tuple[Category, int, int]] = []
    for (code, percent), (cat, base, texts, codes) in entries.items():
        if code == "S":
            result.append((cat, base, vat_of_rate.get(percent or "", 0)))
            continue
        reason_code = codes[0] if len(codes) == 1 else None
        merged = Category(code, percent, reason_code, " ; ".join(texts) or None)
        result.append((merged, base, 0))
    return result


def facturx_xml(content: Mapping[str, Any]) -> bytes:
    """The Factur-X EN 16931 XML (CII) of a sealed invoice or credit note's content."""
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
    b = _Builder(root)
    context = b.add(root, "rsm:ExchangedDocumentContext")
    guideline = b.add(context, "ram:GuidelineSpecifiedDocumentContextParameter")
    b.add(guideline, "ram:ID", EN16931)

    kind = content["type"]
    payment = content["payment"]
    document = b.add(root, "rsm:ExchangedDocument")
    b.add(document, "ram:ID", content["number"])
    b.add(document, "ram:TypeCode", TYPE_CODES[kind])
    b.date(document, "ram:IssueDateTime", content["issued_on"])
    notes: list[tuple[str, str | None]] = [(m, None) for m in content.get("mentions") or []]
    if content.get("reason"):
        notes.append((f"Motif : {content['reason']}", "AAI"))
    if content["seller"].get("legal_mention"):
        notes.append((content["seller"]["legal_mention"], "REG"))
    if payment.get("late_penalties"):
        notes.append((payment["late_penalties"], "PMD"))
    if payment.get("recovery_indemnity"):
        notes.append((payment["recovery_indemnity"], "PMT"))
    for text, subject in notes:
        note = b.add(document, "ram:IncludedNote")
        b.add(note, "ram:Content", text)
        if subject:
            b.add(note, "ram:SubjectCode", subject)

    transaction = b.add(root, "rsm:SupplyChainTradeTransaction")
    categories = _categories(content)
    for position, (line, (cat, _)) in enumerate(
        zip(content["lines"], categories, strict=True), start=1
    ):
        item = b.add(transaction, "ram:IncludedSupplyChainTradeLineItem")
        line_doc = b.add(item, "ram:AssociatedDocumentLineDocument")
        b.add(line_doc, "ram:LineID", str(position))
        product = b.add(item, "ram:SpecifiedTradeProduct")
        b.add(product, "ram:Name", line["label"])
        quantity, unit, price, fee = _line_quantity(line)
        agreement = b.add(item, "ram:SpecifiedLineTradeAgreement")
        net = b.add(agreement, "ram:NetPriceProductTradePrice")
        b.add(net, "ram:ChargeAmount", amount(price))
        delivery = b.add(item, "ram:SpecifiedLineTradeDelivery")
        b.add(delivery, "ram:BilledQuantity", quantity, unitCode=unit)
        settlement = b.add(item, "ram:SpecifiedLineTradeSettlement")
        _tax(b, settlement, cat)
        if fee:
            charge = b.add(settlement, "ram:SpecifiedTradeAllowanceCharge")
            indicator = b.add(charge, "ram:ChargeIndicator")
            b.add(indicator, "udt:Indicator", "true")
            b.add(charge, "ram:ActualAmount", amount(fee))
            b.add(charge, "ram:Reason", "Forfait de réservation")
        summation = b.add(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        b.add(summation, "ram:LineTotalAmount", amount(line["total_excl_vat_cents"]))

    seller = dict(content["seller"])
    if not seller.get("vat_number") and seller.get("siren"):
        # BR-S-02 / BR-E-02: a seller without a VAT number states its tax registration; in
        # France that is its SIREN.
        seller["tax_registration"] = seller["siren"]
    buyer = content["buyer"]
    out_of_scope = all(cat.code == "O" for cat, _ in categories)
    if out_of_scope:
        # BR-O-02: no VAT identifier of the seller or the buyer on an out-of-scope invoice.
        seller.pop("vat_number", None)
        seller.pop("tax_registration", None)
        buyer = {**buyer, "vat_number": None}
    agreement = b.add(transaction, "ram:ApplicableHeaderTradeAgreement")
    if buyer.get("service_code"):
        b.add(agreement, "ram:BuyerReference", buyer["service_code"])
    _party(b, agreement, "ram:SellerTradeParty", seller, trade=seller.get("trade_name"))
    _party(b, agreement, "ram:BuyerTradeParty", buyer, trade=None)
    if payment.get("purchase_order"):
        order = b.add(agreement, "ram:BuyerOrderReferencedDocument")
        b.add(order, "ram:IssuerAssignedID", payment["purchase_order"])

    delivery = b.add(transaction, "ram:ApplicableHeaderTradeDelivery")
    if content.get("service_date"):
        event = b.add(delivery, "ram:ActualDeliverySupplyChainEvent")
        b.date(event, "ram:OccurrenceDateTime", content["service_date"])

    settlement = b.add(transaction, "ram:ApplicableHeaderTradeSettlement")
    b.add(settlement, "ram:InvoiceCurrencyCode", content.get("currency") or "EUR")
    means = b.add(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    b.add(means, "ram:TypeCode", PAYMENT_MEANS.get(payment.get("method") or "", "1"))
    if payment.get("method_label"):
        b.add(means, "ram:Information", payment["method_label"])
    breakdown = _breakdown(content, categories)
    for cat, base, vat in breakdown:
        tax = b.add(settlement, "ram:ApplicableTradeTax")
        b.add(tax, "ram:CalculatedAmount", amount(vat))
        b.add(tax, "ram:TypeCode", "VAT")
        if cat.reason_text:
            b.add(tax, "ram:ExemptionReason", cat.reason_text)
        b.add(tax, "ram:BasisAmount", amount(base))
        b.add(tax, "ram:CategoryCode", cat.code)
        if cat.reason_code:
            b.add(tax, "ram:ExemptionReasonCode", cat.reason_code)
        if cat.percent is not None:
            b.add(tax, "ram:RateApplicablePercent", cat.percent)
    period = content.get("period")
    if period:
        billing_period = b.add(settlement, "ram:BillingSpecifiedPeriod")
        b.date(billing_period, "ram:StartDateTime", period["first"])
        b.date(billing_period, "ram:EndDateTime", period["last"])
    terms = b.add(settlement, "ram:SpecifiedTradePaymentTerms")
    if payment.get("terms"):
        b.add(terms, "ram:Description", payment["terms"])
    if payment.get("due_on"):
        b.date(terms, "ram:DueDateDateTime", payment["due_on"])

    lines_total = sum(cents for _, cents in categories)
    tax_total = sum(vat for _, _, vat in breakdown)
    grand = lines_total + tax_total  # line charges are inside the line totals
    paid = grand if payment.get("status") == "paid" else 0
    summation = b.add(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    b.add(summation, "ram:LineTotalAmount", amount(lines_total))
    b.add(summation, "ram:TaxBasisTotalAmount", amount(lines_total))
    b.add(
        summation,
        "ram:TaxTotalAmount",
        amount(tax_total),
        currencyID=content.get("currency") or "EUR",
    )
    b.add(summation, "ram:GrandTotalAmount", amount(grand))
    b.add(summation, "ram:TotalPrepaidAmount", amount(paid))
    b.add(summation, "ram:DuePayableAmount", amount(grand - paid))
    corrects = content.get("corrects")
    if corrects:
        referenced = b.add(settlement, "ram:InvoiceReferencedDocument")
        b.add(referenced, "ram:IssuerAssignedID", corrects["number"])
        if corrects.get("issued_on"):
            b.date(referenced, "ram:FormattedIssueDateTime", corrects["issued_on"], qualified=True)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))

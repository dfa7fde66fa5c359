"""The Cross Industry Invoice (UN/CEFACT CII D16B) of a sealed invoice or credit note, as
Factur-X profile EN 16931 reads it (no I/O).

Built from the document's sealed content only (what was issued, never the current state of the
place or the buyer), with lxml. What Chorus Pro reads: the buyer's SIRET (scheme 0009), the
public buyer's service code as the buyer reference (BT-10) and the engagement number as the
purchase order reference (BT-13).

Amounts are the stored integer cents written with two decimals. A line states its billed hours
(unit ``HUR``) at its hourly net price, its flat fee as a line charge; a line whose total is not
that product to the cent (a minimum charge, a free rate, hours times price not in whole cents, a
share credited by a credit note) states one unit (``C62``) at its total.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
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


def amount(cents: int) -> str:
    """Integer cents as an EN 16931 amount (``1234`` -> ``12.34``)."""
    return f"{Decimal(int(cents)) / 100:.2f}"


def _day(text: str) -> str:
    return date.fromisoformat(text).strftime("%Y%m%d")


def _add(parent: Any, name: str, text: str | None = None, **attrs: str) -> Any:
    """Append ``prefix:Name`` under ``parent`` (callers append in the schema's order)."""
    prefix, local = name.split(":")
    element = etree.SubElement(parent, f"{{{NSMAP[prefix]}}}{local}", attrs)
    if text is not None:
        element.text = text
    return element


def _date(parent: Any, name: str, day: str, *, qualified: bool = False) -> None:
    """Append a date element holding ``YYYY-MM-DD`` in format 102 (``YYYYMMDD``)."""
    holder = _add(parent, name)
    kind = "qdt:DateTimeString" if qualified else "udt:DateTimeString"
    _add(holder, kind, _day(day), format="102")


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
        and hours * price == (hours * price).to_integral_value()
        and hours * price + fee == total
    ):
        return f"{hours.normalize():f}", "HUR", price, fee
    return "1", "C62", total, 0


def _tax(parent: Any, cat: Category) -> None:
    tax = _add(parent, "ram:ApplicableTradeTax")
    _add(tax, "ram:TypeCode", "VAT")
    _add(tax, "ram:CategoryCode", cat.code)
    if cat.percent is not None:
        _add(tax, "ram:RateApplicablePercent", cat.percent)


def _party(parent: Any, name: str, party: Mapping[str, Any], *, trade: str | None) -> None:
    node = _add(parent, name)
    _add(node, "ram:Name", party["name"])
    siret, siren = party.get("siret"), party.get("siren")
    if siret or siren:
        legal = _add(node, "ram:SpecifiedLegalOrganization")
        _add(legal, "ram:ID", siret or siren, schemeID=SIRET_SCHEME if siret else SIREN_SCHEME)
        if trade:
            _add(legal, "ram:TradingBusinessName", trade)
    if party.get("contact"):
        contact = _add(node, "ram:DefinedTradeContact")
        _add(contact, "ram:PersonName", party["contact"])
    address = _add(node, "ram:PostalTradeAddress")
    if party.get("postcode"):
        _add(address, "ram:PostcodeCode", party["postcode"])
    if party.get("address"):
        _add(address, "ram:LineOne", party["address"])
    if party.get("town"):
        _add(address, "ram:CityName", party["town"])
    _add(address, "ram:CountryID", "FR")
    if party.get("email"):
        uri = _add(node, "ram:URIUniversalCommunication")
        _add(uri, "ram:URIID", party["email"], schemeID="EM")
    if party.get("vat_number"):
        reg = _add(node, "ram:SpecifiedTaxRegistration")
        _add(reg, "ram:ID", party["vat_number"], schemeID="VA")
    elif party.get("tax_registration"):
        reg = _add(node, "ram:SpecifiedTaxRegistration")
        _add(reg, "ram:ID", party["tax_registration"], schemeID="FC")


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
    context = _add(root, "rsm:ExchangedDocumentContext")
    guideline = _add(context, "ram:GuidelineSpecifiedDocumentContextParameter")
    _add(guideline, "ram:ID", EN16931)

    kind = content["type"]
    payment = content["payment"]
    document = _add(root, "rsm:ExchangedDocument")
    _add(document, "ram:ID", content["number"])
    _add(document, "ram:TypeCode", TYPE_CODES[kind])
    _date(document, "ram:IssueDateTime", content["issued_on"])
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
        note = _add(document, "ram:IncludedNote")
        _add(note, "ram:Content", text)
        if subject:
            _add(note, "ram:SubjectCode", subject)

    transaction = _add(root, "rsm:SupplyChainTradeTransaction")
    categories = _categories(content)
    for position, (line, (cat, _)) in enumerate(
        zip(content["lines"], categories, strict=True), start=1
    ):
        item = _add(transaction, "ram:IncludedSupplyChainTradeLineItem")
        line_doc = _add(item, "ram:AssociatedDocumentLineDocument")
        _add(line_doc, "ram:LineID", str(position))
        product = _add(item, "ram:SpecifiedTradeProduct")
        _add(product, "ram:Name", line["label"])
        quantity, unit, price, fee = _line_quantity(line)
        agreement = _add(item, "ram:SpecifiedLineTradeAgreement")
        net = _add(agreement, "ram:NetPriceProductTradePrice")
        _add(net, "ram:ChargeAmount", amount(price))
        delivery = _add(item, "ram:SpecifiedLineTradeDelivery")
        _add(delivery, "ram:BilledQuantity", quantity, unitCode=unit)
        settlement = _add(item, "ram:SpecifiedLineTradeSettlement")
        _tax(settlement, cat)
        if fee:
            charge = _add(settlement, "ram:SpecifiedTradeAllowanceCharge")
            indicator = _add(charge, "ram:ChargeIndicator")
            _add(indicator, "udt:Indicator", "true")
            _add(charge, "ram:ActualAmount", amount(fee))
            _add(charge, "ram:Reason", "Forfait de réservation")
        summation = _add(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        _add(summation, "ram:LineTotalAmount", amount(line["total_excl_vat_cents"]))

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
    agreement = _add(transaction, "ram:ApplicableHeaderTradeAgreement")
    if buyer.get("service_code"):
        _add(agreement, "ram:BuyerReference", buyer["service_code"])
    _party(agreement, "ram:SellerTradeParty", seller, trade=seller.get("trade_name"))
    _party(agreement, "ram:BuyerTradeParty", buyer, trade=None)
    if payment.get("purchase_order"):
        order = _add(agreement, "ram:BuyerOrderReferencedDocument")
        _add(order, "ram:IssuerAssignedID", payment["purchase_order"])

    delivery = _add(transaction, "ram:ApplicableHeaderTradeDelivery")
    if content.get("service_date"):
        event = _add(delivery, "ram:ActualDeliverySupplyChainEvent")
        _date(event, "ram:OccurrenceDateTime", content["service_date"])

    settlement = _add(transaction, "ram:ApplicableHeaderTradeSettlement")
    _add(settlement, "ram:InvoiceCurrencyCode", content.get("currency") or "EUR")
    means = _add(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    _add(means, "ram:TypeCode", PAYMENT_MEANS.get(payment.get("method") or "", "1"))
    if payment.get("method_label"):
        _add(means, "ram:Information", payment["method_label"])
    breakdown = _breakdown(content, categories)
    for cat, base, vat in breakdown:
        tax = _add(settlement, "ram:ApplicableTradeTax")
        _add(tax, "ram:CalculatedAmount", amount(vat))
        _add(tax, "ram:TypeCode", "VAT")
        if cat.reason_text:
            _add(tax, "ram:ExemptionReason", cat.reason_text)
        _add(tax, "ram:BasisAmount", amount(base))
        _add(tax, "ram:CategoryCode", cat.code)
        if cat.reason_code:
            _add(tax, "ram:ExemptionReasonCode", cat.reason_code)
        if cat.percent is not None:
            _add(tax, "ram:RateApplicablePercent", cat.percent)
    period = content.get("period")
    if period:
        billing_period = _add(settlement, "ram:BillingSpecifiedPeriod")
        _date(billing_period, "ram:StartDateTime", period["first"])
        _date(billing_period, "ram:EndDateTime", period["last"])
    terms = _add(settlement, "ram:SpecifiedTradePaymentTerms")
    if payment.get("terms"):
        _add(terms, "ram:Description", payment["terms"])
    if payment.get("due_on"):
        _date(terms, "ram:DueDateDateTime", payment["due_on"])

    lines_total = sum(cents for _, cents in categories)
    tax_total = sum(vat for _, _, vat in breakdown)
    grand = lines_total + tax_total  # line charges are inside the line totals
    paid = grand if payment.get("status") == "paid" else 0
    summation = _add(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _add(summation, "ram:LineTotalAmount", amount(lines_total))
    _add(summation, "ram:TaxBasisTotalAmount", amount(lines_total))
    _add(
        summation,
        "ram:TaxTotalAmount",
        amount(tax_total),
        currencyID=content.get("currency") or "EUR",
    )
    _add(summation, "ram:GrandTotalAmount", amount(grand))
    _add(summation, "ram:TotalPrepaidAmount", amount(paid))
    _add(summation, "ram:DuePayableAmount", amount(grand - paid))
    corrects = content.get("corrects")
    if corrects:
        referenced = _add(settlement, "ram:InvoiceReferencedDocument")
        _add(referenced, "ram:IssuerAssignedID", corrects["number"])
        if corrects.get("issued_on"):
            _date(referenced, "ram:FormattedIssueDateTime", corrects["issued_on"], qualified=True)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))

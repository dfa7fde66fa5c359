"""Printable HTML and PDF of an invoice or credit note, both from its sealed content.

The PDF uses fpdf2 (pure Python): WeasyPrint would render the HTML itself but needs Pango and
friends installed on the host, and the project promises that Python and ``make`` are enough.
fpdf2's built-in fonts cover Latin-1 (all of French); other characters are replaced by ``?`` in
the PDF only, and the sealed content and the HTML keep them exactly.

The archival variant (``archival=True``, the PDF of a Factur-X) is a PDF/A-3B: fpdf2's
compliance mode writes its XMP identification and the sRGB output intent, and refuses anything
PDF/A forbids; PDF/A wants every font embedded, so it sets the text in Source Sans Pro (SIL OFL)
from the ``font-source-sans-pro`` wheel instead of the built-in Helvetica.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import font_source_sans_pro
from fpdf import FPDF
from jinja2 import Environment, select_autoescape

VAT_LABELS = {
    "taxable": "TVA {rate} %",
    "exempt": "Exonéré",
    "franchise": "TVA non applicable",
    "out_of_scope": "Hors champ",
}


def money(cents: int) -> str:
    """``123456`` -> ``1 234,56 €`` (French format)."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(int(cents)), 100)
    grouped = f"{euros:,}".replace(",", "\u202f")
    return f"{sign}{grouped},{rest:02d} €"


def rate(text: str) -> str:
    """``"20.00"`` -> ``"20"``, ``"5.50"`` -> ``"5,5"``."""
    value = Decimal(text).normalize()
    return f"{value:f}".replace(".", ",")


def day(text: str | None) -> str:
    """``2027-03-08`` -> ``08/03/2027``."""
    return date.fromisoformat(text).strftime("%d/%m/%Y") if text else ""


def local_time(text: str) -> str:
    """``2027-01-05 14:00`` (as stored) -> ``05/01/2027 14:00``."""
    day_text, _, clock = text.partition(" ")
    return f"{day(day_text)} {clock}".strip()


def hours(text: str) -> str:
    """``"2.00"`` (as stored) -> ``2 h``; ``"1.50"`` -> ``1,5 h``."""
    value = Decimal(text).normalize()
    return f"{value:f}".replace(".", ",") + " h"


def vat_label(kind: str, rate_text: str) -> str:
    """How a line's VAT regime is shown."""
    return VAT_LABELS[kind].format(rate=rate(rate_text))


# The printable page needs its own stylesheet (inline, so that it prints alone) and nothing
# else: no script, no other resource, never framed.
PRINT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_ENV.filters.update(money=money, rate=rate, day=day, local_time=local_time, hours=hours)
_ENV.globals.update(vat_label=vat_label)
_TEMPLATE = _ENV.from_string(
    """<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<title>{{ c.title }} {{ c.number }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}
.scroll{overflow-x:auto}
code{overflow-wrap:anywhere}
table{width:100%;border-collapse:collapse;margin:1rem 0}
th,td{border-bottom:1px solid #ccc;padding:.3rem;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;white-space:nowrap}
.parties{display:flex;gap:2rem}.parties>div{flex:1}
footer{font-size:.8rem;color:#444;margin-top:2rem}
@media (max-width:40rem){.parties{flex-direction:column;gap:0}}
@media print{body{margin:0}}
</style></head>
<body>
<main>
<h1>{{ c.title }} n° {{ c.number }}</h1>
{% if c.period %}<p>Date d'émission : {{ c.issued_on|day }}
{%- if c.payment.due_on %} — Date d'échéance : {{ c.payment.due_on|day }}{% endif %}
— {{ c.operation_category }}</p>
<p>Période facturée : {{ c.period.label }} ({{ c.sessions|length }}
séance{% if c.sessions|length > 1 %}s{% endif %}, heure locale, {{ c.period.timezone }}).
{% if c.payment.purchase_order %}Bon de commande n° {{ c.payment.purchase_order }}.{% endif %}</p>
{% else %}<p>Date d'émission : {{ c.issued_on|day }}
— Date de la prestation : {{ c.service_date|day }} — {{ c.operation_category }}</p>{% endif %}
{% if c.corrects %}<p>Avoir sur la facture n° {{ c.corrects.number }}
du {{ c.corrects.issued_on|day }}.</p>{% endif %}
<div class="parties">
<div><h2>Vendeur</h2>
<p><strong>{{ c.seller.name }}</strong><br>{{ c.seller.trade_name }}<br>
{{ c.seller.address }}<br>{{ c.seller.postcode }} {{ c.seller.town }}<br>
{% if c.seller.siret %}SIRET {{ c.seller.siret }} (SIREN {{ c.seller.siren }})<br>{% endif %}
{% if c.seller.vat_number %}TVA intracommunautaire {{ c.seller.vat_number }}<br>{% endif %}
{% if c.seller.legal_mention %}{{ c.seller.legal_mention }}{% endif %}</p></div>
<div><h2>Client</h2>
<p><strong>{{ c.buyer.name }}</strong><br>
{% if c.buyer.address %}{{ c.buyer.address }}<br>{{ c.buyer.postcode }} {{ c.buyer.town }}<br>
{% endif %}
{% if c.buyer.siret %}SIRET {{ c.buyer.siret }} (SIREN {{ c.buyer.siren }})<br>{% endif %}
{% if c.buyer.vat_number %}TVA intracommunautaire {{ c.buyer.vat_number }}<br>{% endif %}
{% if c.buyer.email %}{{ c.buyer.email }}{% endif %}</p></div>
</div>
{% if c.booking %}<p>Réservation {{ c.booking.reference }} :
du {{ c.booking.local_start|local_time }} au {{ c.booking.local_end|local_time }}
(heure locale, {{ c.booking.timezone }}).
{% if c.payment.purchase_order %}Bon de commande n° {{ c.payment.purchase_order }}.{% endif %}</p>
{% elif c.membership %}<p>Adhésion « {{ c.membership.plan }} » : du {{ c.membership.first_day|day }}
au {{ c.membership.last_day|day }} inclus.
{% if c.payment.purchase_order %}Bon de commande n° {{ c.payment.purchase_order }}.{% endif %}</p>
{% elif c.ticket %}<p>Inscription à « {{ c.ticket.title }} »
le {{ c.ticket.local_start|local_time }} (heure locale, {{ c.ticket.timezone }}) :
{{ c.ticket.seats }} place(s).
{% if c.payment.purchase_order %}Bon de commande n° {{ c.payment.purchase_order }}.{% endif %}</p>
{% elif c.pack %}<p>Heures prépayées « {{ c.pack.name }} » : {{ c.pack.hours }} h, utilisables
du {{ c.pack.first_day|day }} au {{ c.pack.last_day|day }} inclus.
{% if c.payment.purchase_order %}Bon de commande n° {{ c.payment.purchase_order }}.{% endif %}</p>
{% endif %}
<div class="scroll" role="region" aria-label="Lignes" tabindex="0"><table>
<thead><tr><th>Désignation</th><th class="n">Qté</th><th class="n">Heures</th>
<th class="n">Prix unitaire HT</th><th class="n">Forfait HT</th><th class="n">Total HT</th>
<th class="n">TVA</th><th class="n">Montant TVA</th><th class="n">Total TTC</th></tr></thead>
<tbody>{% for l in c.lines %}<tr><td>{{ l.label }}{% if l.minimum_applied %}
(minimum de facturation){% endif %}{% if l.free %} (gratuit){% endif %}</td>
<td class="n">{{ l.quantity }}</td><td class="n">{{ l.hours_text or (l.hours|hours) }}</td>
<td class="n">{{ l.unit_price_excl_vat_cents|money }}{% if l.adjustment %}{% else %}\
{% if l.per_unit %} /unité{% endif %} /h{% endif %}</td>
<td class="n">{{ l.flat_fee_excl_vat_cents|money }}</td>
<td class="n">{{ l.total_excl_vat_cents|money }}</td>
<td class="n">{{ vat_label(l.vat_kind, l.vat_rate) }}</td>
<td class="n">{{ l.vat_cents|money }}</td><td class="n">{{ l.total_incl_vat_cents|money }}</td></tr>
{% endfor %}</tbody></table></div>
<table style="width:auto;margin-left:auto">
<thead><tr><th>Taux</th><th class="n">Base HT</th><th class="n">TVA</th></tr></thead>
<tbody>{% for b in c.vat_breakdown %}<tr><td>{{ vat_label(b.kind, b.rate) }}</td>
<td class="n">{{ b.base_cents|money }}</td><td class="n">{{ b.vat_cents|money }}</td></tr>
{% endfor %}
<tr><th>Total HT</th><td class="n" colspan="2">{{ c.total_excl_vat_cents|money }}</td></tr>
<tr><th>Total TVA</th><td class="n" colspan="2">{{ c.total_vat_cents|money }}</td></tr>
<tr><th>Total TTC</th><td class="n" colspan="2"><strong>{{ c.total_incl_vat_cents|money }}
</strong></td></tr></tbody></table>
{% for m in c.mentions %}<p>{{ m }}</p>{% endfor %}
{% if c.reason %}<p>Motif : {{ c.reason }}</p>{% endif %}
</main>
<footer>
<p>{{ c.payment.terms }}</p>
{% if c.payment.late_penalties %}<p>{{ c.payment.late_penalties }}</p>{% endif %}
{% if c.payment.recovery_indemnity %}<p>{{ c.payment.recovery_indemnity }}</p>{% endif %}
<p>Empreinte SHA-256 chaînée : <code>{{ hash }}</code></p>
</footer>
</body></html>
"""
)


def invoice_html(content: dict[str, Any], document_hash: str) -> str:
    """The printable page of a document."""
    return _TEMPLATE.render(c=content, hash=document_hash)


def _latin1(text: object) -> str:
    value = "" if text is None else str(text)
    value = (
        value.replace("\u202f", " ")
        .replace("€", "EUR")
        .replace("\u2019", "'")
        .replace("\u2014", "-")
        .replace("\u2013", "-")
    )
    return value.encode("latin-1", "replace").decode("latin-1")


_ARCHIVAL_FAMILY = "SourceSansPro"


def _archival_pdf() -> FPDF:
    """An fpdf2 document that must stay PDF/A-3B, with its embedded fonts."""
    pdf = FPDF(format="A4", enforce_compliance="PDFA_3B")
    fonts = font_source_sans_pro.font_files_ttf
    pdf.add_font(_ARCHIVAL_FAMILY, "", fonts["SourceSansPro"])
    pdf.add_font(_ARCHIVAL_FAMILY, "B", fonts["SourceSansProBold"])
    return pdf


def invoice_pdf(content: dict[str, Any], document_hash: str, *, archival: bool = False) -> bytes:
    """The PDF of a document (A4; fpdf2's Helvetica, or an embedded font for PDF/A-3)."""
    pdf = _archival_pdf() if archival else FPDF(format="A4")
    family = _ARCHIVAL_FAMILY if archival else "Helvetica"
    pdf.set_title(_latin1(f"{content['title']} {content['number']}"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def text(value: object, size: float = 9, style: str = "", height: float = 5) -> None:
        pdf.set_font(family, style, size)
        pdf.multi_cell(width, height, _latin1(value), new_x="LMARGIN", new_y="NEXT")

    text(f"{content['title']} n° {content['number']}", 16, "B", 9)
    period = content.get("period")
    if period:
        due = content["payment"].get("due_on")
        text(
            f"Date d'émission : {day(content['issued_on'])}"
            + (f" - Date d'échéance : {day(due)}" if due else "")
            + f" - {content['operation_category']}"
        )
    else:
        text(
            f"Date d'émission : {day(content['issued_on'])} - Date de la prestation : "
            f"{day(content['service_date'])} - {content['operation_category']}"
        )
    if content.get("corrects"):
        corrects = content["corrects"]
        text(f"Avoir sur la facture n° {corrects['number']} du {day(corrects['issued_on'])}.")
    seller, buyer = content["seller"], content["buyer"]
    pdf.ln(2)
    text("Vendeur", 10, "B")
    text(
        "\n".join(
            line
            for line in (
                seller["name"],
                seller["trade_name"],
                seller["address"],
                f"{seller['postcode']} {seller['town']}",
                f"SIRET {seller['siret']} (SIREN {seller['siren']})" if seller["siret"] else "",
                f"TVA intracommunautaire {seller['vat_number']}" if seller["vat_number"] else "",
                seller.get("legal_mention") or "",
            )
            if line
        )
    )
    pdf.ln(2)
    text("Client", 10, "B")
    text(
        "\n".join(
            line
            for line in (
                buyer["name"],
                buyer["address"] or "",
                f"{buyer['postcode']} {buyer['town']}" if buyer["address"] else "",
                f"SIRET {buyer['siret']} (SIREN {buyer['siren']})" if buyer["siret"] else "",
                f"TVA intracommunautaire {buyer['vat_number']}" if buyer["vat_number"] else "",
                buyer["email"] or "",
            )
            if line
        )
    )
    booking = content["booking"]
    pdf.ln(2)
    order = content["payment"].get("purchase_order")
    if period:
        count = len(content["sessions"])
        text(
            f"Période facturée : {period['label']} ({count} séance{'s' if count > 1 else ''}, "
            f"heure locale, {period['timezone']})."
            + (f" Bon de commande n° {order}." if order else "")
        )
    elif booking:
        text(
            f"Réservation {booking['reference']} : du {local_time(booking['local_start'])} au "
            f"{local_time(booking['local_end'])} (heure locale, {booking['timezone']})."
            + (f" Bon de commande n° {order}." if order else "")
        )
    elif content.get("membership"):
        membership = content["membership"]
        text(
            f"Adhésion « {membership['plan']} » : du {day(membership['first_day'])} au "
            f"{day(membership['last_day'])} inclus."
            + (f" Bon de commande n° {order}." if order else "")
        )
    elif content.get("ticket"):
        ticket = content["ticket"]
        text(
            f"Inscription à « {ticket['title']} » le {local_time(ticket['local_start'])} "
            f"(heure locale, {ticket['timezone']}) : {ticket['seats']} place(s)."
            + (f" Bon de commande n° {order}." if order else "")
        )
    elif content.get("pack"):
        pack = content["pack"]
        text(
            f"Heures prépayées « {pack['name']} » : {pack['hours']} h, utilisables du "
            f"{day(pack['first_day'])} au {day(pack['last_day'])} inclus."
            + (f" Bon de commande n° {order}." if order else "")
        )
    pdf.ln(2)
    pdf.set_font(family, "", 8)
    headings = (
        "Désignation",
        "Qté",
        "Heures",
        "PU HT /h",
        "Forfait HT",
        "Total HT",
        "TVA",
        "Montant TVA",
        "Total TTC",
    )
    with pdf.table(
        col_widths=(40, 8, 10, 16, 14, 16, 14, 14, 16), text_align="RIGHT", line_height=5
    ) as table:
        table.row([_latin1(h) for h in headings])
        for line in content["lines"]:
            table.row(
                [
                    _latin1(line["label"] + (" (minimum)" if line["minimum_applied"] else "")),
                    str(line["quantity"]),
                    _latin1(line.get("hours_text") or hours(line["hours"])),
                    _latin1(money(line["unit_price_excl_vat_cents"])),
                    _latin1(money(line["flat_fee_excl_vat_cents"])),
                    _latin1(money(line["total_excl_vat_cents"])),
                    _latin1(vat_label(line["vat_kind"], line["vat_rate"])),
                    _latin1(money(line["vat_cents"])),
                    _latin1(money(line["total_incl_vat_cents"])),
                ]
            )
    pdf.ln(2)
    for entry in content["vat_breakdown"]:
        text(
            f"{vat_label(entry['kind'], entry['rate'])} : base {money(entry['base_cents'])}, "
            f"TVA {money(entry['vat_cents'])}"
        )
    text(f"Total HT : {money(content['total_excl_vat_cents'])}", 10, "B")
    text(f"Total TVA : {money(content['total_vat_cents'])}", 10, "B")
    text(f"Total TTC : {money(content['total_incl_vat_cents'])}", 11, "B")
    pdf.ln(2)
    for mention in content.get("mentions", []):
        text(mention)
    if content.get("reason"):
        text(f"Motif : {content['reason']}")
    payment = content["payment"]
    for note in (
        payment["terms"],
        payment.get("late_penalties"),
        payment.get("recovery_indemnity"),
    ):
        if note:
            text(note, 8)
    text(f"Empreinte SHA-256 chaînée : {document_hash}", 7)
    return bytes(pdf.output())

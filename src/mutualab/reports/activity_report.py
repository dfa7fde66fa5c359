"""The yearly activity report a place sends its funders, as a PDF (fpdf2's Helvetica).

Figures come from the year's statistics: people served by category, hours by kind of
equipment, sessions held, occupancy per resource, bookings, cancellations and revenue.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

from fpdf import FPDF

from mutualab.reports.figures import Statistics
from mutualab.reports.sheets import hours

KINDS = {
    "machine": "Machines",
    "software_seats": "Postes de conception",
    "network_access": "Salles connectées",
    "space": "Salles et espaces",
}


def _latin1(value: object) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\u202f", " ").replace("€", "EUR").replace("\u2019", "'")
    return text.encode("latin-1", "replace").decode("latin-1")


def _number(value: Decimal | int) -> str:
    return f"{value}".replace(".", ",")


def _money(cents: int) -> str:
    euros, rest = divmod(cents, 100)
    return f"{euros:,}".replace(",", " ") + f",{rest:02d} EUR"


def activity_pdf(place_name: str, town: str, stats: Statistics, made_on: date) -> bytes:
    """The report of ``stats`` (a year's) for the place named ``place_name``."""
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"Rapport d'activité {stats.period} - {place_name}"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def text(value: object, size: float = 10, style: str = "", height: float = 6) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(width, height, _latin1(value), new_x="LMARGIN", new_y="NEXT")

    def table(headings: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        pdf.set_font("Helvetica", "", 9)
        with pdf.table(text_align="LEFT", line_height=6) as grid:
            grid.row([_latin1(h) for h in headings])
            for row in rows:
                grid.row([_latin1(cell) for cell in row])
        pdf.ln(3)

    text(f"Rapport d'activité {stats.period}", 18, "B", 10)
    text(f"{place_name} ({town})", 12, "B")
    text(
        f"Du {stats.first_day:%d/%m/%Y} au {stats.last_day:%d/%m/%Y}. Établi le "
        f"{made_on:%d/%m/%Y} à partir des réservations confirmées et des paiements enregistrés."
    )
    pdf.ln(3)
    text("En bref", 13, "B")
    table(
        ("Indicateur", "Valeur"),
        [
            ("Personnes accueillies", str(stats.unique_people)),
            ("dont nouvelles personnes", str(stats.new_people)),
            ("Réservations", str(stats.bookings)),
            ("Heures réservées", _number(hours(stats.booked_minutes))),
            ("Ateliers, formations et événements tenus", str(stats.sessions)),
            ("Participants présents", str(stats.attendees)),
            (
                "Taux d'annulation",
                "-"
                if stats.cancellation_percent is None
                else f"{_number(stats.cancellation_percent)} %",
            ),
            ("Recettes TTC", _money(stats.revenue_cents)),
        ],
    )
    text("Personnes accueillies par catégorie", 13, "B")
    table(
        ("Catégorie", "Personnes", "Réservations", "Heures"),
        [
            (t.label, str(t.people), str(t.bookings), _number(hours(t.booked_minutes)))
            for t in stats.by_user_type
        ]
        or [("-", "0", "0", "0")],
    )
    text("Heures par type d'équipement", 13, "B")
    by_kind: Counter[str] = Counter()
    for row in stats.occupancy:
        by_kind[row.kind] += row.booked_minutes
    table(
        ("Type d'équipement", "Heures réservées (par unité)"),
        [
            (KINDS.get(kind, kind), _number(hours(minutes)))
            for kind, minutes in sorted(by_kind.items())
        ]
        or [("-", "0")],
    )
    text("Occupation des équipements", 13, "B")
    table(
        ("Équipement", "Heures ouvertes", "Heures réservées", "Occupation"),
        [
            (
                r.name,
                _number(hours(r.open_minutes)),
                _number(hours(r.booked_minutes)),
                "-" if r.occupancy_percent is None else f"{_number(r.occupancy_percent)} %",
            )
            for r in stats.occupancy
        ]
        or [("-", "0", "0", "-")],
    )
    text(
        "Occupation : heures réservées divisées par les heures d'ouverture du lieu (fermetures "
        "et jours fériés déduits, maintenances déduites), multipliées par le nombre d'unités "
        "pour les postes en nombre.",
        8,
    )
    return bytes(pdf.output())

"""A period's statistics as tables, for the CSV and XLSX exports."""

from __future__ import annotations

from mutualab.reports.figures import Statistics
from mutualab.reports.sheets import Cell, Sheet, euros, hours


def summary(stats: Statistics) -> Sheet:
    """The period's headline figures, one per row."""
    rows: list[tuple[str, Cell]] = [
        ("Période", stats.period),
        ("Réservations", stats.bookings),
        ("Heures réservées", hours(stats.booked_minutes)),
        ("Personnes", stats.unique_people),
        ("Nouvelles personnes", stats.new_people),
        ("Réservations annulées", stats.cancelled),
        ("Taux d'annulation (%)", stats.cancellation_percent),
        ("Absences", "non relevées" if stats.no_shows is None else stats.no_shows),
        ("Taux d'absence (%)", stats.no_show_percent),
        ("Ateliers", "pas encore" if stats.sessions is None else stats.sessions),
        ("Participants", "pas encore" if stats.attendees is None else stats.attendees),
        ("Recettes TTC (€)", euros(stats.revenue_cents)),
    ]
    return Sheet("Synthèse", ("Indicateur", "Valeur"), rows)


def sheets(stats: Statistics) -> list[Sheet]:
    """Every table of the statistics page: the summary first."""
    occupancy = Sheet(
        "Occupation",
        ("Équipement", "Type", "Unités", "Heures ouvertes", "Heures réservées", "Occupation (%)"),
        [
            (
                r.name,
                r.kind,
                r.units,
                hours(r.open_minutes),
                hours(r.booked_minutes),
                r.occupancy_percent,
            )
            for r in stats.occupancy
        ],
    )
    by_month = Sheet(
        "Par mois",
        ("Mois", "Réservations", "Heures", "Personnes"),
        [(m.month, m.bookings, hours(m.booked_minutes), m.people) for m in stats.by_month],
    )
    by_type = Sheet(
        "Catégories",
        ("Catégorie", "Réservations", "Heures", "Personnes"),
        [(t.label, t.bookings, hours(t.booked_minutes), t.people) for t in stats.by_user_type],
    )

    def revenue(name: str, title: str, amounts: list[tuple[str, int]]) -> Sheet:
        return Sheet(name, (title, "Recettes TTC (€)"), [(k, euros(c)) for k, c in amounts])

    return [
        summary(stats),
        occupancy,
        *([by_month] if stats.by_month else []),
        by_type,
        revenue(
            "Recettes par équipement",
            "Équipement",
            [(a.label, a.cents) for a in stats.revenue_by_resource],
        ),
        revenue(
            "Recettes par catégorie",
            "Catégorie",
            [(a.label, a.cents) for a in stats.revenue_by_user_type],
        ),
        revenue(
            "Recettes par moyen",
            "Moyen de paiement",
            [(a.label, a.cents) for a in stats.revenue_by_method],
        ),
    ]

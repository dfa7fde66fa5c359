"""A period's statistics as tables, for the CSV and XLSX exports."""

from __future__ import annotations

from mutualab.reports.figures import Statistics
from mutualab.reports.sheets import Cell, Sheet, euros, hours

SESSION_KIND_NAMES = {"workshop": "Atelier", "training": "Formation", "event": "Événement"}


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
        ("Séances tenues", stats.sessions),
        ("Séances annulées", stats.sessions_cancelled),
        ("Séances à venir", stats.sessions_to_come),
        ("Places offertes", stats.session_seats_offered),
        ("Places prises", stats.session_seats_taken),
        ("Présents", stats.attendees),
        ("Taux de présence (%)", stats.attendance_percent),
        ("Taux de remplissage (%)", stats.fill_percent),
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
    sessions = Sheet(
        "Séances",
        (
            "Type",
            "Tenues",
            "Annulées",
            "À venir",
            "Places offertes",
            "Places prises",
            "Présents",
            "Taux de présence (%)",
            "Taux de remplissage (%)",
        ),
        [
            (
                SESSION_KIND_NAMES.get(k.kind, k.kind),
                k.held,
                k.cancelled,
                k.to_come,
                k.seats_offered,
                k.seats_taken,
                k.attendees,
                k.attendance_percent,
                k.fill_percent,
            )
            for k in stats.sessions_by_kind
        ],
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
        *([sessions] if stats.sessions_by_kind else []),
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

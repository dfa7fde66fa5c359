"""Which rate (user type) a booker pays at a place, and where they may pay on invoice."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

CITIZEN = "citizen"


@dataclass(frozen=True, slots=True)
class Rates:
    """A booker's user type at each place: a per-place grant, else the default."""

    default: str = CITIZEN
    # place id -> user type granted there (a manager's grant, or a place-verified organisation).
    by_place: Mapping[int, str] = field(default_factory=dict)
    # Where the place's invoice payment stays open: None everywhere (a person: the place's
    # methods for their type decide); for an organisation, the places that verified it.
    invoice_places: frozenset[int] | None = None

    def at(self, place_id: int) -> str:
        """The user type that prices a booking at ``place_id``."""
        return self.by_place.get(place_id, self.default)

    def may_invoice_at(self, place_id: int) -> bool:
        """Whether paying on invoice may be offered at ``place_id`` (not for an unverified
        organisation)."""
        return self.invoice_places is None or place_id in self.invoice_places

    def for_organisation(
        self, organisation_type: str, everywhere: bool, places: frozenset[int]
    ) -> Rates:
        """The rates of a member booking for an organisation verified ``everywhere`` or at
        ``places``; elsewhere the member's own rates apply and no invoice."""
        if everywhere:
            return Rates(organisation_type, {}, None)
        by_place = {**self.by_place, **dict.fromkeys(places, organisation_type)}
        return Rates(self.default, by_place, places)

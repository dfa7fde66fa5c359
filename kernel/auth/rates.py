"""Which rate (user type) a booker pays at a place, and where they may pay on invoice."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

CITIZEN = "citizen"
# Why paying on invoice is not offered (the codes of the refusals).
EMAIL_NOT_VERIFIED = "email_not_verified"
ORGANISATION_NOT_VERIFIED = "organisation_not_verified"


@dataclass(frozen=True, slots=True)
class Rates:
    """A booker's user type at each place: a per-place grant, else the default."""

    default: str = CITIZEN
    # place id -> user type granted there (a manager's grant, or a place-verified organisation).
    by_place: Mapping[int, str] = field(default_factory=dict)
    # Where the place's invoice payment stays open: None everywhere (a person: the place's
    # methods for their type decide); for an organisation, the places that verified it.
    invoice_places: frozenset[int] | None = None
    # Whether the booker proved their e-mail address: nobody pays on invoice before (an
    # invoice names a buyer who must be who they say).
    email_verified: bool = False

    def at(self, place_id: int) -> str:
        """The user type that prices a booking at ``place_id``."""
        return self.by_place.get(place_id, self.default)

    def invoice_refusal(self, place_id: int) -> str | None:
        """Why paying on invoice may not be offered at ``place_id``, or None when it may be:
        the one rule of who may pay on invoice (the place's methods for the type aside)."""
        if not self.email_verified:
            return EMAIL_NOT_VERIFIED
        if self.invoice_places is not None and place_id not in self.invoice_places:
            return ORGANISATION_NOT_VERIFIED
        return None

    def may_invoice_at(self, place_id: int) -> bool:
        """Whether paying on invoice may be offered at ``place_id`` (not before the booker's
        address is verified, nor for an unverified organisation)."""
        return self.invoice_refusal(place_id) is None

    def for_organisation(
        self, organisation_type: str, everywhere: bool, places: frozenset[int]
    ) -> Rates:
        """The rates of a member booking for an organisation verified ``everywhere`` or at
        ``places``; elsewhere the member's own rates apply and no invoice."""
        if everywhere:
            return Rates(organisation_type, {}, None, self.email_verified)
        by_place = {**self.by_place, **dict.fromkeys(places, organisation_type)}
        return Rates(self.default, by_place, places, self.email_verified)

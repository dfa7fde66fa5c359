"""What the forms of a place's offers (packs, plans) share: the price and its VAT, the
equipment they cover, and saving a checked form inside its own savepoint.

The rules stay billing's; these helpers only read the form and say where an error goes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.errors import InvalidInputError
from mutualab.web import messages
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import parse_cents
from mutualab.web.pages.manage.prices import VAT_CHOICES
from resources.schemas import PlaceRead

W = TypeVar("W")

PRICE_REFUSED = N_("This price cannot be saved: check it.")


def checked_price(price: str, vat: str, errors: Errors) -> int | None:
    """The price typed, in cents, or None; what is wrong with it or with the VAT code chosen
    is put in ``errors``."""
    cents = parse_cents(price)
    if cents is None:
        errors["price"] = FieldError(N_("Enter an amount in euros, like 12,50."))
    if vat not in VAT_CHOICES:
        errors["vat"] = FieldError(N_("Choose a VAT regime from the list."))
    return cents


def vat_of(code: str) -> dict[str, Any]:
    """A checked VAT choice as billing stores it."""
    kind, rate = VAT_CHOICES[code]
    return {"kind": kind, "rate": rate}


def equipment_targets(place: PlaceRead) -> set[str]:
    """The choices of the equipment select: ``resource:3`` for a piece, ``kind:machine``."""
    return {f"resource:{r.id}" for r in place.resources} | {
        f"kind:{k}" for k in messages.KIND_SHORT
    }


def equipment_of(target: str) -> dict[str, Any]:
    """A checked choice as the ``resource_id`` and ``resource_kind`` billing stores."""
    scope, _, value = target.partition(":")
    return {
        "resource_id": int(value) if scope == "resource" else None,
        "resource_kind": value if scope == "kind" else None,
    }


async def save_checked(
    db_session: AsyncSession,
    check: Callable[[], tuple[Errors, W | None]],
    save: Callable[[W], Awaitable[object]],
) -> Errors | None:
    """None once saved, else the errors to show again with the form.

    A price the schema or billing refuses (out of range once VAT is taken off) is the price
    field's error; the savepoint keeps the rest of the request's transaction usable.
    """
    try:
        errors, write = check()
    except ValidationError:
        return {"price": FieldError(PRICE_REFUSED)}
    if write is None:
        return errors
    try:
        async with db_session.begin_nested():
            await save(write)
    except InvalidInputError:
        return {"price": FieldError(PRICE_REFUSED)}
    return None

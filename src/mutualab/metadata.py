"""The complete table metadata: importing this module registers every domain's tables."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlmodel import SQLModel

# Each import registers its domain's tables on SQLModel.metadata; alembic compares against it.
import billing.accounting_models
import billing.coupon_models
import billing.models
import billing.pack_models
import billing.wallet_models
import booking.feeds.models
import booking.models
import booking.waitlist
import notifications.models
import programme.models
import resources.models
from accounts import models as accounts_models
from accounts import plans as accounts_plans
from kernel import idempotency
from webhooks import models as webhook_models

metadata: MetaData = SQLModel.metadata
# Named here so that no tool takes the imports above for unused ones.
REGISTERED = (
    idempotency,
    accounts_models,
    accounts_plans,
    resources.models,
    booking.models,
    booking.feeds.models,
    booking.waitlist,
    programme.models,
    billing.models,
    billing.accounting_models,
    billing.coupon_models,
    billing.pack_models,
    billing.wallet_models,
    notifications.models,
    webhook_models,
)

"""The complete table metadata: importing this module registers every domain's tables."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlmodel import SQLModel

import booking.feeds.models  # registers tables
import booking.models  # noqa: F401  (registers tables)
import resources.models  # noqa: F401  (registers tables)
from mutualab.accounts import models as _accounts_models  # noqa: F401

metadata: MetaData = SQLModel.metadata

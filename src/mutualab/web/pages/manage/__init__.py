"""The managers' back office, one module per part of a place: places, equipment, hours and
closures, prices, promo codes, wallets, memberships, prepaid hours, cancellation policy, agenda
and bookings, people, publishing sessions, invoices, statistics and exports, webhooks; and the
outbox of e-mails, new places, the verification of organisations and the platform's statistics,
for platform administrators."""

from __future__ import annotations

from mutualab.web.pages.manage.accounting import AccountingPages
from mutualab.web.pages.manage.admin import AdminPages
from mutualab.web.pages.manage.booking_desk import BookingDeskPages
from mutualab.web.pages.manage.bookings import BookingPages
from mutualab.web.pages.manage.closures import ClosurePages
from mutualab.web.pages.manage.coupons import CouponPages
from mutualab.web.pages.manage.desk import DeskPages
from mutualab.web.pages.manage.grid import GridPages
from mutualab.web.pages.manage.hours import ManagePages
from mutualab.web.pages.manage.invoices import InvoicePages
from mutualab.web.pages.manage.managers import ManagerPages
from mutualab.web.pages.manage.outbox import OutboxPages
from mutualab.web.pages.manage.packs import PackPages
from mutualab.web.pages.manage.payments import PaymentPages
from mutualab.web.pages.manage.people import PeoplePages
from mutualab.web.pages.manage.photos import PhotoPages
from mutualab.web.pages.manage.places import PlacePages
from mutualab.web.pages.manage.plans import PlanPages
from mutualab.web.pages.manage.policy import PolicyPages
from mutualab.web.pages.manage.prices import PricePages
from mutualab.web.pages.manage.resources import ResourcePages
from mutualab.web.pages.manage.sessions import SessionPages
from mutualab.web.pages.manage.statistics import StatisticsPages
from mutualab.web.pages.manage.trainings import TrainingPages
from mutualab.web.pages.manage.wallets import WalletPages
from mutualab.web.pages.manage.webhooks import WebhookPages

MANAGE_PAGES = [
    ManagePages,
    PlacePages,
    ResourcePages,
    PhotoPages,
    ClosurePages,
    PricePages,
    PaymentPages,
    CouponPages,
    WalletPages,
    PlanPages,
    PackPages,
    PolicyPages,
    BookingPages,
    BookingDeskPages,
    GridPages,
    DeskPages,
    PeoplePages,
    TrainingPages,
    SessionPages,
    ManagerPages,
    InvoicePages,
    AccountingPages,
    StatisticsPages,
    WebhookPages,
    OutboxPages,
    AdminPages,
]

__all__ = ["MANAGE_PAGES", "ManagePages"]

"""Identity tables: who books, at which rate, and who may manage what."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from kernel.models import created_at_field, utc_column


class UserType(SQLModel, table=True):
    """A rate category (citizen, student, school, ...): data, so a place can add its own."""

    __tablename__ = "user_type"

    code: str = Field(primary_key=True, max_length=40)
    label_fr: str = Field(max_length=100)
    label_en: str = Field(max_length=100)
    # A reduced rate is granted by a manager after checking proof (student card, ...).
    reduced: bool = False
    # Types that describe organisations (school, company, ...), not persons.
    for_organisations: bool = False
    # None: offered everywhere; else a custom type of one place (e.g. its members).
    place_id: int | None = Field(default=None, foreign_key="place.id", ondelete="CASCADE")
    position: int = 100


class User(SQLModel, table=True):
    """A person with a login."""

    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint("language IN ('fr', 'en')", name="ck_user_account_language"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str | None = Field(default=None, max_length=200)
    display_name: str = Field(max_length=120)
    # The rate the user books at; reduced types only once a manager granted them.
    user_type_code: str = Field(default="citizen", foreign_key="user_type.code", max_length=40)
    requested_user_type_code: str | None = Field(
        default=None, foreign_key="user_type.code", max_length=40
    )
    is_platform_admin: bool = False
    active: bool = True
    # The language of the messages the person receives ("fr" or "en").
    language: str = Field(default="fr", max_length=2, sa_column_kwargs={"server_default": "fr"})
    # Reminders before bookings (the only messages a person may turn off).
    reminders: bool = Field(default=True, sa_column_kwargs={"server_default": "true"})
    # Set when the person proved the address is theirs (a link mailed to it).
    email_verified_at: datetime | None = utc_column(nullable=True)
    # A walk-in recorded at a place's front desk: no password, so no log-in (the address may
    # be a placeholder under the reserved ``.invalid`` domain, never mailed).
    guest_place_id: int | None = Field(default=None, foreign_key="place.id", ondelete="SET NULL")
    phone: str | None = Field(default=None, max_length=30)
    created_at: datetime = created_at_field()
    deleted_at: datetime | None = utc_column(nullable=True)


class Organisation(SQLModel, table=True):
    """A school, company, association or public body that books through its members."""

    __tablename__ = "organisation"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    user_type_code: str = Field(foreign_key="user_type.code", max_length=40)
    siret: str | None = Field(default=None, max_length=14)
    siren: str | None = Field(default=None, max_length=9, index=True)
    vat_number: str | None = Field(default=None, max_length=20)
    billing_address: str = Field(max_length=300)
    billing_postcode: str = Field(max_length=10)
    billing_town: str = Field(max_length=120)
    billing_email: str | None = Field(default=None, max_length=254)
    # A public buyer's engagement number (Chorus Pro) is its purchase order: required when this
    # is set. Its service code, when it has one, is the buyer reference of its invoices.
    requires_purchase_order: bool = False
    # A public body invoiced through Chorus Pro (a town hall, a public school: its rate is its
    # user type's); it carries its SIRET (migration 0044).
    public_buyer: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    chorus_service_code: str | None = Field(default=None, max_length=100)
    created_at: datetime = created_at_field()
    # Its type, legal identity and invoice payment apply everywhere once an admin verified it
    # (places may verify it for their own prices: OrganisationVerification). A change of legal
    # identity clears both.
    verified_at: datetime | None = utc_column(nullable=True)
    verified_by_user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )


class OrganisationVerification(SQLModel, table=True):
    """A place's managers checked an organisation: its type and invoicing apply at that place."""

    __tablename__ = "organisation_verification"
    __table_args__ = (
        UniqueConstraint("organisation_id", "place_id", name="uq_organisation_verification"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", ondelete="CASCADE", index=True)
    place_id: int = Field(foreign_key="place.id", ondelete="CASCADE", index=True)
    verified_by_user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    verified_at: datetime = created_at_field()


class Membership(SQLModel, table=True):
    """A user's role in an organisation: admin (manages members) or booker."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("organisation_id", "user_id", name="uq_membership"),
        CheckConstraint("role IN ('admin', 'booker')", name="ck_membership_role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    role: str = Field(max_length=10)


class Invitation(SQLModel, table=True):
    """An e-mail address invited into an organisation, until the person behind it accepts.

    Whether an account uses the address or not, an admin sees the same invitation: adding a
    member never tells whether someone has an account, nor shows anything of it.
    """

    __tablename__ = "organisation_invitation"
    __table_args__ = (
        UniqueConstraint("organisation_id", "email", name="uq_invitation"),
        CheckConstraint("role IN ('admin', 'booker')", name="ck_invitation_role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", ondelete="CASCADE", index=True)
    email: str = Field(max_length=254, index=True)
    role: str = Field(max_length=10)
    invited_by_user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = created_at_field()


class PlaceManager(SQLModel, table=True):
    """A user who manages a place (its resources, hours, prices, agenda)."""

    __tablename__ = "place_manager"
    __table_args__ = (UniqueConstraint("place_id", "user_id", name="uq_place_manager"),)

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)


class RateGrant(SQLModel, table=True):
    """A reduced rate a place's manager granted a user after checking proof, at that place only.

    The platform-wide rate stays on ``user_account.user_type_code`` (admins only).
    """

    __tablename__ = "rate_grant"
    __table_args__ = (UniqueConstraint("user_id", "place_id", name="uq_rate_grant"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    place_id: int = Field(foreign_key="place.id", ondelete="CASCADE", index=True)
    user_type_code: str = Field(foreign_key="user_type.code", max_length=40)
    granted_by_user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    granted_at: datetime = created_at_field()


class Training(SQLModel, table=True):
    """A training some resources require, e.g. laser cutter safety."""

    __tablename__ = "training"

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    # How long a certification lasts by default; None = no expiry.
    validity_days: int | None = None


class Certification(SQLModel, table=True):
    """A manager's record that a user completed a training."""

    __tablename__ = "certification"
    __table_args__ = (UniqueConstraint("user_id", "training_id", name="uq_certification"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    training_id: int = Field(foreign_key="training.id", ondelete="CASCADE", index=True)
    granted_on: date
    expires_on: date | None = None
    granted_by_user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    # Where it came from: recorded by a manager (None), or the session of the place's
    # programme the person attended (migration 0041; the id only: accounts sits below it).
    source_session_id: int | None = None
    created_at: datetime = created_at_field()


class ApiToken(SQLModel, table=True):
    """A token a user made for a program; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    __table_args__ = (CheckConstraint("scope IN ('read', 'read_write')", name="ck_token_scope"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=100)
    token_sha256: str = Field(max_length=64, unique=True, index=True)
    scope: str = Field(max_length=10)
    created_at: datetime = created_at_field()
    # Recorded at most once a minute (accounts.identity), not on every request.
    last_used_at: datetime | None = utc_column(nullable=True)
    revoked_at: datetime | None = utc_column(nullable=True)
    expires_at: datetime | None = utc_column(nullable=True)


class BrowserSession(SQLModel, table=True):
    """A logged-in browser: the cookie holds a random key, the table only its SHA-256.

    Logging out deletes the row, so a copied cookie stops working at once; a session also ends
    after ``session_idle_minutes`` without a request and ``session_max_age_days`` in all.
    """

    __tablename__ = "browser_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    token_sha256: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()
    # Recorded at most once a minute (accounts.identity), not on every request.
    last_seen_at: datetime = utc_column(index=True)


class AttemptCounter(SQLModel, table=True):
    """Attempts (log-ins, sign-ups) per hashed key (an e-mail, a client address) in a window,
    and when the next one may be made; shared by every worker (accounts.throttle)."""

    __tablename__ = "attempt_counter"

    key: str = Field(primary_key=True, max_length=64)
    attempts: int = 0
    window_started_at: datetime = utc_column()
    next_attempt_at: datetime = utc_column()


class EmailToken(SQLModel, table=True):
    """A link mailed to a person (verify the address, reset the password): single-use,
    expiring, and stored only as a keyed hash of its token (accounts.email_tokens)."""

    __tablename__ = "email_token"
    __table_args__ = (
        CheckConstraint("purpose IN ('verify', 'reset')", name="ck_email_token_purpose"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    purpose: str = Field(max_length=10)
    token_hash: str = Field(max_length=64, unique=True)
    # The address the link was mailed to: it proves that one, not a later one.
    email: str = Field(max_length=254)
    created_at: datetime = created_at_field()
    expires_at: datetime = utc_column()
    used_at: datetime | None = utc_column(nullable=True)

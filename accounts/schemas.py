"""Request and response models of the accounts API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from kernel.legal_ids import EuVatNumber, Siren, Siret


def _normalise_email(value: str) -> str:
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    # One account per address whatever the capitals typed.
    return checked.normalized.lower()


Email = Annotated[
    str,
    Field(max_length=254, examples=["alice@example.fr"]),
    AfterValidator(_normalise_email),
]
Password = Annotated[str, Field(min_length=1, max_length=256, repr=False)]
DisplayName = Annotated[str, Field(min_length=1, max_length=120)]
TypeCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{1,39}$", examples=["student"])]
Role = Literal["admin", "booker"]
Language = Literal["fr", "en"]
# The token of a mailed link (43 URL-safe characters when made here; more is refused).
LinkToken = Annotated[str, Field(min_length=1, max_length=100, repr=False)]
Scope = Literal["read", "read_write"]


class Strict(BaseModel):
    """Request bodies refuse unknown fields and trim text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SignUp(Strict):
    """A new account; a reduced user type (student, job seeker) waits for a manager's check."""

    email: Email
    password: Password
    display_name: DisplayName
    requested_user_type: TypeCode | None = None
    # The language of the messages the account receives.
    language: Language = "fr"


class SignUpAccepted(BaseModel):
    """The answer to every well-formed sign-up, whether or not the address had an account."""

    status: Literal["check_your_inbox"] = "check_your_inbox"
    detail: str = (
        "If this address can be used for a new account, we have sent it a link to confirm it: "
        "open it to finish. If the address already has an account, its owner was told."
    )


class VerifyEmail(Strict):
    """The token of a verification link and the account's password (the person who signed up)."""

    token: LinkToken
    password: Password


class PasswordResetRequest(Strict):
    """The address of the account whose password was forgotten."""

    email: Email


class PasswordResetAccepted(BaseModel):
    """The answer to every password reset request, whether or not the address has an account."""

    status: Literal["check_your_inbox"] = "check_your_inbox"
    detail: str = (
        "If an account uses this address, we have sent it a link to choose a new password "
        "(valid one hour)."
    )


class PasswordReset(Strict):
    """The token of a reset link and the new password."""

    token: LinkToken
    password: Password


class LogIn(Strict):
    """E-mail and password."""

    email: Annotated[str, Field(min_length=1, max_length=254)]
    password: Password


class PasswordChange(Strict):
    """The current password and the new one."""

    current_password: Password
    new_password: Password


class ProfileUpdate(Strict):
    """What a user may change about themselves."""

    display_name: DisplayName | None = None
    requested_user_type: TypeCode | None = None
    # The language of the messages they receive, and whether reminders before bookings come.
    language: Literal["fr", "en"] | None = None
    reminders: bool | None = None


class CertificationRead(BaseModel):
    """A training a user completed."""

    id: int
    training_id: int
    training_name: str
    place_id: int
    granted_on: date
    expires_on: date | None


class MembershipRead(BaseModel):
    """A user's role in an organisation."""

    organisation_id: int
    organisation_name: str
    role: Role


class MeRead(BaseModel):
    """The logged-in user."""

    id: int
    email: str
    # Whether the address was proved (a link mailed to it); needed for organisations, the
    # manager role and paying on invoice.
    email_verified: bool = False
    display_name: str
    user_type: str
    # Rates granted at some places (place id -> user type): they override user_type there.
    rates: dict[int, str] = Field(default_factory=dict)
    requested_user_type: str | None
    is_platform_admin: bool
    managed_place_ids: list[int]
    organisations: list[MembershipRead]
    certifications: list[CertificationRead]
    created_at: datetime
    # The language of their messages; whether reminders before bookings are mailed.
    language: str = "fr"
    reminders: bool = True


class UserSummary(BaseModel):
    """What a manager sees of a user found by e-mail: enough to grant a rate or a certification.

    ``rates``: the rates granted at the places the caller manages (not those of other places).
    """

    id: int
    email: str
    display_name: str
    user_type: str
    requested_user_type: str | None
    rates: dict[int, str] = Field(default_factory=dict)


class RateGrantRead(BaseModel):
    """A rate granted to a user, at one place or (``place_id`` null) everywhere.

    No personal data: an answer to a call naming a user by id must not reveal who it is.
    """

    user_id: int
    place_id: int | None
    user_type: str


class TokenCreate(Strict):
    """A new API token for a program."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    scope: Scope = "read"
    # None: until revoked.
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class TokenRead(BaseModel):
    """An API token (never its value, except once at creation)."""

    id: int
    name: str
    scope: Scope
    created_at: datetime
    # When it was last used, to the minute (recorded at most once a minute).
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    """A new token: ``token`` is shown this once and never again."""

    token: str


class UserTypeRead(BaseModel):
    """A rate category."""

    code: str
    label_fr: str
    label_en: str
    reduced: bool
    for_organisations: bool
    place_id: int | None


class UserTypeCreate(Strict):
    """A new rate category, for one place (managers) or everywhere (admins)."""

    code: TypeCode
    label_fr: Annotated[str, Field(min_length=1, max_length=100)]
    label_en: Annotated[str, Field(min_length=1, max_length=100)]
    reduced: bool = False
    for_organisations: bool = False
    place_id: int | None = None


class UserTypeGrant(Strict):
    """The rate a manager grants a user after checking proof, valid at one place.

    Without ``place_id`` the rate applies everywhere: platform administrators only.
    ``citizen`` at a place withdraws that place's grant.
    """

    user_type: TypeCode
    place_id: int | None = None


ServiceCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/-]*$",
        description="Chorus Pro service code of a public buyer (the invoices' buyer reference)",
    ),
]


class OrganisationCreate(Strict):
    """A school, company, association or public body."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    user_type: TypeCode
    siret: Siret | None = None
    siren: Siren | None = None
    vat_number: EuVatNumber | None = None
    billing_address: Annotated[str, Field(min_length=1, max_length=300)]
    billing_postcode: Annotated[str, Field(pattern=r"^\d{5}$")]
    billing_town: Annotated[str, Field(min_length=1, max_length=120)]
    billing_email: Email | None = None
    requires_purchase_order: bool = False
    # A public body invoiced through Chorus Pro (always so for the type public_body).
    public_buyer: bool = False
    chorus_service_code: ServiceCode | None = None

    @model_validator(mode="after")
    def _siren_matches_siret(self) -> OrganisationCreate:
        if self.siret and self.siren and not self.siret.startswith(self.siren):
            raise ValueError("the SIREN must be the first nine digits of the SIRET")
        if self.siret and not self.siren:
            self.siren = self.siret[:9]
        return self


class OrganisationUpdate(Strict):
    """A partial change to an organisation."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    siret: Siret | None = None
    vat_number: EuVatNumber | None = None
    billing_address: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    billing_postcode: Annotated[str, Field(pattern=r"^\d{5}$")] | None = None
    billing_town: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    billing_email: Email | None = None
    requires_purchase_order: bool | None = None
    public_buyer: bool | None = None
    chorus_service_code: ServiceCode | None = None


class OrganisationRead(BaseModel):
    """An organisation, as its members see it."""

    id: int
    name: str
    user_type: str
    siret: str | None
    siren: str | None
    vat_number: str | None
    billing_address: str
    billing_postcode: str
    billing_town: str
    billing_email: str | None
    # A public buyer's engagement number (Chorus Pro) is its purchase order; its service code
    # is the buyer reference of its invoices.
    requires_purchase_order: bool
    public_buyer: bool = False
    chorus_service_code: str | None = None
    # Until verified (by an admin, or by a place for its own prices) members book at their own
    # rate and cannot pay on invoice.
    verified_at: datetime | None = None
    verified_place_ids: list[int] = Field(default_factory=list)


class MemberAdd(Strict):
    """Invite an e-mail address into an organisation (or change a member's role)."""

    email: Email
    role: Role = "booker"


class InvitationRead(BaseModel):
    """An invitation, as the organisation sees it: the address, never who is behind it."""

    id: int
    email: str
    role: Role
    created_at: datetime


class MyInvitation(BaseModel):
    """An invitation into an organisation, as the person invited sees it."""

    id: int
    organisation_id: int
    organisation_name: str
    role: Role
    created_at: datetime


class MemberRead(BaseModel):
    """A member of an organisation."""

    user_id: int
    display_name: str
    email: str
    role: Role


class ManagerAdd(Strict):
    """Make an existing user a manager of a place."""

    email: Email


class ManagerRead(BaseModel):
    """A manager of a place."""

    user_id: int
    display_name: str
    email: str


class TrainingCreate(Strict):
    """A training of a place."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=2000)] = ""
    validity_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class TrainingRead(BaseModel):
    """A training."""

    id: int
    place_id: int
    name: str
    description: str
    validity_days: int | None


class CertificationGrant(Strict):
    """Record that a user completed a training."""

    user_id: int
    granted_on: date
    expires_on: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> CertificationGrant:
        if self.expires_on is not None and self.expires_on < self.granted_on:
            raise ValueError("expires_on must not be before granted_on")
        return self


class CertificationHolder(BaseModel):
    """Who holds a training's certification, and until when."""

    id: int
    user_id: int
    display_name: str
    granted_on: date
    expires_on: date | None

"""Organisations and their members: who may book on behalf of a school or a company."""

from __future__ import annotations

from accounts.mail import AccountMail, AccountMessage
from accounts.models import Invitation, Membership, Organisation, OrganisationVerification, User
from accounts.repository import AccountRepository
from accounts.schemas import (
    InvitationRead,
    MemberAdd,
    MemberRead,
    MembershipRead,
    MyInvitation,
    OrganisationCreate,
    OrganisationRead,
    OrganisationUpdate,
)
from kernel.auth.actor import Actor
from kernel.clock import Clock, system_clock
from kernel.errors import (
    ConflictError,
    EmailNotVerifiedError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from kernel.patching import changes_of

# Changing one of these makes the organisation another legal person: verify it again.
IDENTITY_FIELDS = frozenset({"name", "siret", "vat_number"})


def organisation_read(row: Organisation, verified_place_ids: list[int]) -> OrganisationRead:
    """The members' view of an organisation."""
    return OrganisationRead.model_validate(
        {
            **row.model_dump(),
            "user_type": row.user_type_code,
            "verified_place_ids": verified_place_ids,
        }
    )


class OrganisationService:
    """What members and admins of organisations may do; admins and places verify them."""

    def __init__(
        self,
        repository: AccountRepository,
        mail: AccountMail,
        base_url: str,
        clock: Clock = system_clock,
    ) -> None:
        self.repo = repository
        self.mail = mail
        self.base_url = base_url.rstrip("/")
        self.clock = clock

    async def _read(self, organisation: Organisation) -> OrganisationRead:
        assert organisation.id is not None
        return organisation_read(organisation, await self.repo.verified_place_ids(organisation.id))

    async def _visible(self, actor: Actor, organisation_id: int) -> Organisation:
        # Non-members learn nothing, not even that the organisation exists.
        organisation = await self.repo.organisation(organisation_id)
        if organisation is None or not actor.member_of(organisation_id):
            raise NotFoundError(
                f"No organisation with id {organisation_id}.", code="organisation_not_found"
            )
        return organisation

    async def _administered(self, actor: Actor, organisation_id: int) -> Organisation:
        organisation = await self._visible(actor, organisation_id)
        if not actor.administers(organisation_id):
            raise ForbiddenError(
                "Only the organisation's admins may do this.", code="not_organisation_admin"
            )
        return organisation

    async def create(self, actor: Actor, data: OrganisationCreate) -> OrganisationRead:
        """Register an organisation; its creator becomes its first admin. Its type and paying
        on invoice apply once verified."""
        assert actor.user_id is not None
        user_type = await self.repo.user_type(data.user_type)
        if user_type is None or not user_type.for_organisations:
            raise InvalidInputError(
                f"{data.user_type!r} is not a type of organisation.",
                field="user_type",
                code="unknown_user_type",
            )
        if data.user_type == "company" and data.vat_number is None and data.siret is None:
            raise InvalidInputError(
                "A company needs its SIRET or its intra-EU VAT number.",
                field="vat_number",
                code="company_identity_required",
            )
        if data.user_type == "public_body":
            data.public_buyer = True
        if data.public_buyer and data.siret is None:
            raise InvalidInputError(
                "A public body needs its SIRET: Chorus Pro identifies public buyers by it.",
                field="siret",
                code="public_body_siret_required",
            )
        values = data.model_dump(mode="json", exclude={"user_type"})
        organisation = Organisation(**values, user_type_code=data.user_type)
        await self.repo.add(organisation)
        assert organisation.id is not None
        await self.repo.add(
            Membership(organisation_id=organisation.id, user_id=actor.user_id, role="admin")
        )
        return organisation_read(organisation, [])

    async def get(self, actor: Actor, organisation_id: int) -> OrganisationRead:
        """An organisation its members may see."""
        return await self._read(await self._visible(actor, organisation_id))

    async def update(
        self, actor: Actor, organisation_id: int, data: OrganisationUpdate
    ) -> OrganisationRead:
        """Change an organisation's details (its admins)."""
        organisation = await self._administered(actor, organisation_id)
        nullable = {"siret", "vat_number", "billing_email", "chorus_service_code"}
        changes = changes_of(data, nullable)
        if organisation.user_type_code == "public_body":
            changes.pop("public_buyer", None)  # a public body stays one
        public = changes.get("public_buyer", organisation.public_buyer)
        if public and changes.get("siret", organisation.siret) is None:
            raise InvalidInputError(
                "A public body needs its SIRET: Chorus Pro identifies public buyers by it.",
                field="siret",
                code="public_body_siret_required",
            )
        new_identity = any(
            getattr(organisation, f) != v for f, v in changes.items() if f in IDENTITY_FIELDS
        )
        for field, value in changes.items():
            setattr(organisation, field, value)
        if new_identity:
            # Another legal identity: its rate and invoicing wait for a new verification.
            organisation.verified_at = organisation.verified_by_user_id = None
            await self.repo.forget_verifications(organisation_id)
        await self.repo.add(organisation)
        return await self._read(organisation)

    # verification ---------------------------------------------------------------------
    async def _existing(self, organisation_id: int) -> Organisation:
        organisation = await self.repo.organisation(organisation_id)
        if organisation is None:
            raise NotFoundError(
                f"No organisation with id {organisation_id}.", code="organisation_not_found"
            )
        return organisation

    async def all_for_admins(self, actor: Actor, limit: int = 500) -> list[OrganisationRead]:
        """Every organisation (the first ``limit`` by name), to verify them (platform admins)."""
        if not actor.is_admin:
            raise ForbiddenError(
                "Only platform administrators list every organisation.", code="not_an_admin"
            )
        return [await self._read(o) for o in await self.repo.all_organisations(limit)]

    async def verify(self, actor: Actor, organisation_id: int) -> OrganisationRead:
        """Record that an admin checked the organisation: its rate and invoicing apply
        everywhere (platform admins)."""
        organisation = await self._existing(organisation_id)
        organisation.verified_at = self.clock()
        organisation.verified_by_user_id = actor.user_id
        await self.repo.add(organisation)
        return await self._read(organisation)

    async def unverify(self, organisation_id: int) -> None:
        """Withdraw the platform-wide verification (platform admins)."""
        organisation = await self._existing(organisation_id)
        organisation.verified_at = organisation.verified_by_user_id = None
        await self.repo.add(organisation)

    async def verify_for_place(
        self, actor: Actor, place_id: int, organisation_id: int
    ) -> OrganisationRead:
        """Record that a place checked the organisation, for that place's prices only."""
        if not actor.manages(place_id):
            raise ForbiddenError("You do not manage this place.", code="not_place_manager")
        organisation = await self._existing(organisation_id)
        row = await self.repo.place_verification(organisation_id, place_id)
        row = row or OrganisationVerification(organisation_id=organisation_id, place_id=place_id)
        row.verified_by_user_id, row.verified_at = actor.user_id, self.clock()
        await self.repo.add(row)
        return await self._read(organisation)

    async def unverify_for_place(self, actor: Actor, place_id: int, organisation_id: int) -> None:
        """Withdraw a place's verification."""
        if not actor.manages(place_id):
            raise ForbiddenError("You do not manage this place.", code="not_place_manager")
        row = await self.repo.place_verification(organisation_id, place_id)
        if row is None:
            raise NotFoundError(
                "This place has not verified this organisation.",
                code="verification_not_found",
            )
        await self.repo.remove(row)

    async def members(self, actor: Actor, organisation_id: int) -> list[MemberRead]:
        """The members of an organisation."""
        await self._visible(actor, organisation_id)
        return [
            MemberRead.model_validate(
                {"user_id": u.id, "display_name": u.display_name, "email": u.email, "role": m.role}
            )
            for m, u in await self.repo.members(organisation_id)
        ]

    async def add_member(
        self, actor: Actor, organisation_id: int, data: MemberAdd
    ) -> MemberRead | InvitationRead:
        """Change a member's role, or invite an address: the same invitation whether or not an
        account uses it (its owner accepts it from their account)."""
        organisation = await self._administered(actor, organisation_id)
        membership = await self.repo.member_by_email(organisation_id, data.email)
        if membership is not None:
            await self._keep_an_admin(organisation_id, membership, data.role)
            membership.role = data.role
            await self.repo.add(membership)
            user = await self.repo.user(membership.user_id)
            assert user is not None
            return MemberRead(
                user_id=membership.user_id,
                display_name=user.display_name,
                email=user.email,
                role=data.role,
            )
        invitation = await self.repo.invitation_to(organisation_id, data.email)
        if invitation is None:
            invitation = Invitation(
                organisation_id=organisation_id,
                email=data.email,
                role=data.role,
                invited_by_user_id=actor.user_id,
            )
        invitation.role = data.role
        await self.repo.add(invitation)
        await self._mail_invitation(actor, organisation, invitation)
        return InvitationRead.model_validate(invitation, from_attributes=True)

    async def _mail_invitation(
        self, actor: Actor, organisation: Organisation, invitation: Invitation
    ) -> None:
        """Tell the invited address (once per invitation and role), in its owner's language
        when it has an account; the admin's answer says nothing of that."""
        owner = await self.repo.user_by_email(invitation.email)
        inviter = await self.repo.user(actor.user_id) if actor.user_id is not None else None
        has_account = owner is not None and owner.deleted_at is None
        await self.mail(
            self.repo.session,
            AccountMessage(
                key=f"organisation-invitation:{invitation.id}:{invitation.role}",
                to=invitation.email,
                template="organisation_invitation",
                language=owner.language if owner is not None else "fr",
                context={
                    "organisation": organisation.name,
                    "inviter": inviter.display_name if inviter is not None else "",
                    "role": invitation.role,
                    "has_account": has_account,
                    "invitations_link": f"{self.base_url}/account/invitations",
                    "signup_link": f"{self.base_url}/signup",
                },
            ),
        )

    async def invitations(self, actor: Actor, organisation_id: int) -> list[InvitationRead]:
        """The addresses invited into an organisation that have not answered yet."""
        await self._visible(actor, organisation_id)
        return [
            InvitationRead.model_validate(i, from_attributes=True)
            for i in await self.repo.invitations_of(organisation_id)
        ]

    async def withdraw(self, actor: Actor, organisation_id: int, invitation_id: int) -> None:
        """Withdraw an invitation (admins)."""
        await self._administered(actor, organisation_id)
        invitation = await self.repo.invitation(invitation_id)
        if invitation is None or invitation.organisation_id != organisation_id:
            raise NotFoundError("No such invitation.", code="invitation_not_found")
        await self.repo.remove(invitation)

    async def _me(self, actor: Actor) -> User:
        assert actor.user_id is not None
        user = await self.repo.user(actor.user_id)
        if user is None or user.deleted_at is not None:
            raise NotFoundError("No such account.", code="user_not_found")
        return user

    async def my_invitations(self, actor: Actor) -> list[MyInvitation]:
        """The invitations addressed to my e-mail."""
        user = await self._me(actor)
        return [
            MyInvitation(
                id=i.id or 0,
                organisation_id=o.id or 0,
                organisation_name=o.name,
                role=i.role,
                created_at=i.created_at,
            )
            for i, o in await self.repo.invitations_for(user.email)
        ]

    async def _mine(self, actor: Actor, invitation_id: int) -> tuple[User, Invitation]:
        user = await self._me(actor)
        invitation = await self.repo.invitation(invitation_id)
        if invitation is None or invitation.email != user.email:
            raise NotFoundError("No such invitation.", code="invitation_not_found")
        return user, invitation

    async def accept(self, actor: Actor, invitation_id: int) -> MembershipRead:
        """Join the organisation an invitation is from, with the role it offers."""
        user, invitation = await self._mine(actor, invitation_id)
        assert user.id is not None
        if user.email_verified_at is None:
            # Else whoever signed up first with a teacher's address would join the school.
            raise EmailNotVerifiedError(
                "Confirm your e-mail address (the link we mailed you) before joining an "
                "organisation."
            )
        organisation = await self.repo.organisation(invitation.organisation_id)
        assert organisation is not None and organisation.id is not None
        membership = await self.repo.membership(organisation.id, user.id)
        if membership is None:
            membership = Membership(
                organisation_id=organisation.id, user_id=user.id, role=invitation.role
            )
        else:
            await self._keep_an_admin(organisation.id, membership, invitation.role)
            membership.role = invitation.role
        await self.repo.add(membership)
        await self.repo.remove(invitation)
        return MembershipRead.model_validate(
            {
                "organisation_id": organisation.id,
                "organisation_name": organisation.name,
                "role": membership.role,
            }
        )

    async def decline(self, actor: Actor, invitation_id: int) -> None:
        """Turn an invitation down."""
        _, invitation = await self._mine(actor, invitation_id)
        await self.repo.remove(invitation)

    async def remove_member(self, actor: Actor, organisation_id: int, user_id: int) -> None:
        """Remove a member (admins), or leave (any member removing themselves)."""
        await self._visible(actor, organisation_id)
        if actor.user_id != user_id and not actor.administers(organisation_id):
            raise ForbiddenError(
                "Only the organisation's admins may remove members.",
                code="not_organisation_admin",
            )
        membership = await self.repo.membership(organisation_id, user_id)
        if membership is None:
            raise NotFoundError("This user is not a member.", code="member_not_found")
        await self._keep_an_admin(organisation_id, membership, None)
        await self.repo.remove(membership)

    async def _keep_an_admin(
        self, organisation_id: int, membership: Membership, new_role: str | None
    ) -> None:
        demoting_an_admin = membership.role == "admin" and new_role != "admin"
        if demoting_an_admin and await self.repo.count_admins(organisation_id) <= 1:
            raise ConflictError("An organisation keeps at least one admin.", code="last_admin")

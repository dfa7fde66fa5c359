"""Words the pages show for stable codes: kinds, statuses, roles, notices and error codes.

Values are English message ids marked with ``N_`` so ``pybabel extract`` finds them; they are
translated where they are shown (``_(...)`` in templates, :meth:`I18n.gettext` in handlers).
"""

from __future__ import annotations

from mutualab.web.i18n import N_

KINDS = {
    "machine": N_("Machines (3D printers, laser cutters…)"),
    "space": N_("Rooms and spaces"),
    "software_seats": N_("Software seats"),
    "network_access": N_("Network access"),
    "other": N_("Other equipment"),
}
KIND_SHORT = {
    "machine": N_("Machine"),
    "space": N_("Room or space"),
    "software_seats": N_("Software seats"),
    "network_access": N_("Network access"),
    "other": N_("Other"),
}
STATUSES = {
    "held": N_("Awaiting payment"),
    "pending_approval": N_("Request awaiting approval"),
    "confirmed": N_("Confirmed"),
    "cancelled": N_("Cancelled"),
    "refused": N_("Refused"),
    "expired": N_("Expired"),
    "no_show": N_("No-show (not checked in)"),
}
ROLES = {"admin": N_("administrator"), "booker": N_("member who books")}

# ?notice=... after a redirect: a fixed list, so a link cannot make the page say anything else.
NOTICES = {
    "logged_in": N_("You are logged in."),
    "email_verified": N_("Your e-mail address is confirmed and you are logged in."),
    "password_reset": N_("Your new password is saved; you are logged out everywhere else."),
    "invitation_accepted": N_("You joined the organisation."),
    "invitation_declined": N_("The invitation is declined."),
    "logged_out": N_("You are logged out."),
    "logged_out_everywhere": N_("You are logged out on every computer and phone."),
    "account_erased": N_("Your account and personal data are erased."),
    "messages_saved": N_("Your message preferences are saved."),
    "cancelled": N_("Your booking is cancelled."),
    "booked": N_("Your booking is made. Keep its reference."),
    "requested": N_(
        "Your request is sent: the place's team approves or refuses it, and you get an e-mail."
    ),
    "payment_checked": N_("The payment was checked with the card provider."),
    "payment_unknown": N_("The card provider could not be reached: check again in a moment."),
    "hours_saved": N_("The opening hours are saved."),
    "waitlist_joined": N_("You are on the waitlist: if units free up, they are held for you."),
    "waitlist_left": N_("You have left the waitlist."),
    "waitlist_closed": N_("This waitlist entry is no longer waiting or offered."),
    "waitlist_no": N_("This time cannot be waited for: book it if it is free, or choose another."),
    "registered": N_("You are registered: a confirmation with the calendar file is on its way."),
    "waitlisted": N_(
        "The session is full: you are on its waitlist, and registered if seats free up."
    ),
    "session_full": N_("Not enough seats are left: join the waitlist instead."),
    "already_registered": N_("You are registered at this session already."),
    "registration_closed": N_("Registrations to this session are closed."),
    "registration_seats": N_("Choose between 1 and 100 seats."),
    "purchase_order_required": N_(
        "Your organisation pays on a purchase order: give its reference."
    ),
    "registration_cancelled": N_("Your registration is cancelled."),
    "registration_not_cancelled": N_("The session has started: it can no longer be cancelled."),
    "price_changed": N_("The price changed since it was quoted: here is the new price."),
    # back office
    "sessions_published": N_("The session is published: it is in the place's programme."),
    "session_saved": N_("The session is saved."),
    "session_cancelled": N_("The session is cancelled: its registrants are told."),
    "desk_registered": N_("The person is registered."),
    "desk_waitlisted": N_("The person is on the waitlist."),
    "attendance_marked": N_("The sign-in sheet is saved."),
    "attendance_refused": N_("The sign-in sheet opens two hours before the session."),
    "ticket_paid": N_("The money is recorded: the invoice is issued."),
    "nothing_due": N_("Nothing is due at the desk for this registration."),
    "place_saved": N_("The details of the place are saved."),
    "photo_saved": N_("The photo is saved: it shows on the public pages."),
    "photo_removed": N_("The photo is removed from the public pages."),
    "closure_added": N_("The closure is added."),
    "closure_removed": N_("The closure is removed: the weekly hours apply that day."),
    "closure_added_cancelled": N_(
        "The closure is added; the bookings it hit are cancelled and refunded in full, and "
        "their holders are told by e-mail."
    ),
    "blackout_added": N_("The maintenance is added."),
    "blackout_added_cancelled": N_(
        "The maintenance is added; the bookings it hit are cancelled and refunded in full, and "
        "their holders are told by e-mail."
    ),
    "checked_in": N_("The arrival is recorded."),
    "check_in_refused": N_(
        "This booking cannot be checked in now: only a confirmed booking, from two hours "
        "before its start until its end."
    ),
    "blackout_removed": N_("The maintenance is removed: the equipment can be booked again."),
    "resource_created": N_("The equipment is added."),
    "resource_saved": N_("The equipment is saved."),
    "price_saved": N_("The rate is saved."),
    "policy_saved": N_("The cancellation policy is saved."),
    "rules_saved": N_("The booking rules are saved."),
    "payments_saved": N_("The payment methods are saved."),
    "training_created": N_("The training is added."),
    "coupon_created": N_("The promo code is added: people enter it when they book."),
    "coupon_withdrawn": N_("The promo code is withdrawn: it can no longer be entered."),
    "coupon_restored": N_("The promo code can be entered again."),
    "wallet_credited": N_("The wallet is credited: the person sees it, with the reason."),
    "training_linked": N_("The equipment that requires the training is saved."),
    "manager_added": N_("The manager is named: they see this place in their back office."),
    "manager_removed": N_("The manager is removed from this place."),
    "place_created": N_("The place is added: name its managers here."),
    "organisation_verified": N_(
        "The organisation is verified: its rate and invoicing apply everywhere."
    ),
    "organisation_unverified": N_("The organisation's verification is withdrawn."),
    "rate_request_approved": N_("The request is approved: the rate applies at this place."),
    "rate_request_approved_everywhere": N_(
        "The request is approved: the rate applies at every place."
    ),
    "rate_request_refused": N_("The request is refused."),
    "token_revoked": N_("The token is revoked: it no longer works."),
    "plan_saved": N_("The plan is added."),
    "membership_paid": N_("The payment is recorded: the invoice is issued."),
    "membership_made": N_("You are a member. Pay the period as shown below."),
    "pack_bought": N_("The pack is yours: its hours pay your next bookings."),
    "pack_saved": N_("The pack is saved."),
    "pack_received": N_("The payment of the pack is recorded: its invoice is issued."),
    "membership_renewed": N_("The membership is renewed: its next period is below."),
    "membership_cancelled": N_("The membership is cancelled: it ends with its period."),
    "invoicing_saved": N_("How the place invoices is saved."),
    "accounting_saved": N_("The fiscal year and the account numbers are saved."),
    "period_closed": N_(
        "The period is closed: nothing can be issued in it any more. Its archive is below."
    ),
    "booking_approved": N_("The booking is approved."),
    "booking_refused": N_("The booking is refused."),
    "payment_recorded": N_("The payment is recorded."),
    "receipt_reversed": N_("The receipt is reversed: the amount is due again."),
    "desk_booked": N_("The booking is made. Receive its payment below if it has a price."),
    "booking_moved": N_("The booking is moved."),
    "booking_cancelled": N_("The booking is cancelled; what was paid is refunded."),
    "guest_not_erased": N_("Nothing was erased: tick the confirmation first."),
    "guest_erased": N_(
        "The walk-in's personal data are erased: their future bookings are cancelled, their "
        "invoices kept without their name."
    ),
    "certified": N_("The certification is recorded."),
    "rate_granted": N_("The rate is granted."),
    "test_mail_queued": N_("The test message is queued: it appears below, then as sent."),
}

# Error codes of the services -> what a person reads. Unknown codes fall back to the status.
ERROR_CODES = {
    "place_not_found": N_("This place does not exist or is no longer listed."),
    "resource_not_found": N_("This equipment does not exist or can no longer be booked."),
    "booking_not_found": N_("This booking does not exist, or it is not yours."),
    "not_place_manager": N_("You do not manage this place."),
    "not_a_manager": N_("Only the managers of a place may open this page."),
    "not_an_admin": N_("Only platform administrators may open this page."),
    "booking_not_active": N_("This booking is no longer active."),
    "cancellation_deadline_passed": N_(
        "The deadline for cancelling this booking has passed: please contact the place."
    ),
    "not_your_booking": N_("Only the person who booked, or the place's managers, may change it."),
    "csrf": N_(
        "This form has expired (it stayed open too long, or your browser blocks cookies). "
        "Open it again and send it once more."
    ),
}
STATUS_TITLES = {
    400: N_("This request could not be understood"),
    403: N_("Access refused"),
    404: N_("Page not found"),
    405: N_("This page cannot be used this way"),
    409: N_("This cannot be done now"),
    422: N_("Some information is not valid"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong on our side"),
    503: N_("The service is briefly unavailable"),
}
STATUS_DETAILS = {
    400: N_("Check the address or the form and try again."),
    403: N_("Your account does not give access to this page."),
    404: N_("Check the address, or start again from the list of places."),
    405: N_("Go back to the previous page and use its buttons."),
    409: N_("The situation changed in the meantime. Go back and try again."),
    422: N_("Go back, check what you typed and try again."),
    429: N_("Wait a few minutes before trying again."),
    500: N_("The error is recorded. Try again in a moment."),
    503: N_("Try again in a few seconds."),
}

"""Events after commit: book_units() publishes each new booking; people's and places' mail settings

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 03:50:00.000000

book_units() (0013's function) now also queues the ``booking.created`` event of each booking it
inserts (kernel.events: one ``events.dispatch`` job in the queue), in the same statement, so
that every booking, whichever path made it, is heard of after commit and none of a rolled-back
one. That insert is made *quiet*: pgqueuer's statement trigger sends a NOTIFY for every change of
its queue, and a NOTIFY takes a database-wide lock at commit that serialises every committing
transaction; on the booking path that would cap bookings per second. The trigger function now
skips the notification while ``mutualab.quiet_jobs`` is on (set locally around that one insert);
idle workers poll the queue, so the event waits at most one poll.

Columns: user_account.language (fr|en, messages), reminders (on by default),
email_verified_at (existing accounts count as verified: they were made before verification
existed); place.reminder_hours (before a booking; 0 = none), mail_from (the sender of its
messages; the instance's otherwise), waitlist_offer_minutes (how long a waitlist offer holds).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ANCHOR = "    RETURN QUERY SELECT 'booked'::text, new_id, chosen, t.r, t.u, NULL::integer\n"
PUBLISH = """\
    -- Its event, for after commit (kernel.events), without waking the workers (see above).
    PERFORM set_config('mutualab.quiet_jobs', 'on', true);
    INSERT INTO jobs.pgqueuer (priority, entrypoint, payload, dedupe_key, headers, status)
    VALUES (
        0, 'events.dispatch',
        convert_to(json_build_object(
            'event', 'booking.created',
            'key', 'booking.' || new_id || '.created',
            'data', json_build_object(
                'booking_id', new_id, 'place_id', p_place_id, 'status', p_status)
        )::text, 'UTF8'),
        'event:booking.' || new_id || '.created', '{}'::jsonb, 'queued'
    )
    ON CONFLICT (dedupe_key)
        WHERE status IN ('queued', 'picked') AND dedupe_key IS NOT NULL
        DO NOTHING;
    PERFORM set_config('mutualab.quiet_jobs', '', true);
"""

NOTIFY_UNLESS_QUIET = """
CREATE OR REPLACE FUNCTION jobs.fn_pgqueuer_changed() RETURNS TRIGGER AS $$
BEGIN
    IF coalesce(current_setting('mutualab.quiet_jobs', true), '') <> 'on' THEN
        PERFORM pg_notify(
            'mutualab_jobs',
            json_build_object(
                'channel', 'mutualab_jobs',
                'operation', lower(TG_OP),
                'sent_at', NOW(),
                'table', TG_TABLE_NAME,
                'type', 'table_changed_event'
            )::text
        );
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        RETURN NEW;
    ELSIF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def _migration(filename: str) -> ModuleType:
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"_migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _book_units_0013() -> str:
    function: str = _migration("0013_book_units_reads_lapsed_holds_once.py").FUNCTION
    return function


def _trigger_function_0016() -> str:
    statements: list[str] = _migration("0016_background_jobs.py").INSTALL
    (function,) = [s for s in statements if "CREATE FUNCTION jobs.fn_pgqueuer_changed" in s]
    return function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    previous = _book_units_0013()
    if previous.count(_ANCHOR) != 1:
        raise RuntimeError("0013's book_units() is not the one this revision extends")
    op.execute(previous.replace(_ANCHOR, PUBLISH + _ANCHOR))
    op.get_bind().exec_driver_sql(NOTIFY_UNLESS_QUIET)

    op.add_column(
        "user_account",
        sa.Column("language", sa.String(length=2), nullable=False, server_default="fr"),
    )
    op.add_column(
        "user_account",
        sa.Column("reminders", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "user_account",
        sa.Column("email_verified_at", DateTimeUTC(timezone=True), nullable=True),
    )
    op.execute("UPDATE user_account SET email_verified_at = created_at")
    op.create_check_constraint(
        "ck_user_account_language", "user_account", "language IN ('fr', 'en')"
    )
    op.add_column(
        "place",
        sa.Column("reminder_hours", sa.Integer(), nullable=False, server_default="24"),
    )
    op.add_column("place", sa.Column("mail_from", sa.String(length=254), nullable=True))
    op.add_column(
        "place",
        sa.Column("waitlist_offer_minutes", sa.Integer(), nullable=False, server_default="120"),
    )
    op.create_check_constraint(
        "ck_place_reminder_hours", "place", "reminder_hours BETWEEN 0 AND 336"
    )
    op.create_check_constraint(
        "ck_place_waitlist_offer_minutes", "place", "waitlist_offer_minutes BETWEEN 5 AND 10080"
    )


def downgrade() -> None:
    op.drop_constraint("ck_place_waitlist_offer_minutes", "place", type_="check")
    op.drop_constraint("ck_place_reminder_hours", "place", type_="check")
    op.drop_column("place", "waitlist_offer_minutes")
    op.drop_column("place", "mail_from")
    op.drop_column("place", "reminder_hours")
    op.drop_constraint("ck_user_account_language", "user_account", type_="check")
    op.drop_column("user_account", "email_verified_at")
    op.drop_column("user_account", "reminders")
    op.drop_column("user_account", "language")
    op.get_bind().exec_driver_sql(_trigger_function_0016())
    op.execute(_book_units_0013())

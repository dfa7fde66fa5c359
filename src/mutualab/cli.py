"""The ``mutualab`` command line: serve, demo, database migrations, admin tokens, demo data."""

from __future__ import annotations

import asyncio
import secrets

import click
import uvicorn

from billing import maintenance
from billing.runtime import Billing
from mutualab import migrate
from mutualab.accounts.bootstrap import ensure_admin, ensure_demo_people
from mutualab.clock import system_clock
from mutualab.db import Database
from mutualab.demo import demo_place_ids, seed_demo
from mutualab.settings import Settings, get_settings

host_option = click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to bind."
)
port_option = click.option("--port", default=8000, show_default=True, type=int, help="TCP port.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Mutualab: book the equipment of shared public places."""


def _serve(host: str, port: int, workers: int, access_log: bool = True) -> None:
    uvicorn.run(
        "mutualab.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
        access_log=access_log,
    )


@main.command()
@host_option
@port_option
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log every request (a reverse proxy that logs them already makes this redundant).",
)
def serve(host: str, port: int, workers: int, access_log: bool) -> None:
    """Serve the API and pages (the database must be migrated: `mutualab db upgrade`)."""
    _serve(host, port, workers, access_log)


async def _seed(settings: Settings) -> tuple[list[str], list[str]]:
    """Demo places, then demo people (printed with their password the first time only)."""
    database = Database.from_settings(settings)
    password = secrets.token_urlsafe(9)
    try:
        async with database.writer() as session, session.begin():
            created = await seed_demo(session)
            place_ids = await demo_place_ids(session)
            people = await ensure_demo_people(session, place_ids, password)
    finally:
        await database.dispose()
    lines = [f"  {p.email:<36} {p.role}" for p in people]
    if lines:
        lines.insert(0, f"Demo accounts (password for all: {password}):")
    return created, lines


async def _admin(settings: Settings, email: str, name: str, password: str | None) -> str:
    database = Database.from_settings(settings)
    try:
        async with database.writer() as session, session.begin():
            return await ensure_admin(session, email, name, password)
    finally:
        await database.dispose()


@main.command()
@host_option
@port_option
def demo(host: str, port: int) -> None:
    """Migrate the configured database (SQLite by default), load demo data and serve."""
    settings = get_settings()
    migrate.upgrade(settings.database_url)
    created, people = asyncio.run(_seed(settings))
    click.echo(f"Demo data: {', '.join(created) if created else 'already loaded'}.")
    for line in people:
        click.echo(line)
    click.echo(f"Open http://{host}:{port}/ — API docs at http://{host}:{port}/schema")
    _serve(host, port, 1)


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database up (to the latest schema by default)."""
    migrate.upgrade(get_settings().database_url, revision)
    click.echo(f"Database upgraded to {revision}.")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (`base` removes every table)."""
    migrate.downgrade(get_settings().database_url, revision)
    click.echo(f"Database downgraded to {revision}.")


@main.command("create-admin")
@click.option("--email", required=True, help="E-mail of the administrator (created if new).")
@click.option("--name", default="Administrator", show_default=True, help="Display name.")
@click.option(
    "--password",
    envvar="MUTUALAB_ADMIN_PASSWORD",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Log-in password (prompted; or MUTUALAB_ADMIN_PASSWORD).",
)
def create_admin(email: str, name: str, password: str) -> None:
    """Create or promote a platform administrator; print an API token once (stored hashed)."""
    token = asyncio.run(_admin(get_settings(), email, name, password))
    click.echo(token)


@main.command("seed-demo")
def seed_demo_command() -> None:
    """Load the demo places and resources (skipped if already there)."""
    created, people = asyncio.run(_seed(get_settings()))
    click.echo(f"Created: {', '.join(created)}" if created else "Demo data already loaded.")
    for line in people:
        click.echo(line)


# billing (issue 5) -------------------------------------------------------------------------
async def _expire_holds(settings: Settings) -> str:
    database = Database.from_settings(settings)
    billing = Billing.from_settings(settings, database, system_clock)
    try:
        released, report = await maintenance.expire_holds(billing)
    finally:
        await billing.close()
        await database.dispose()
    lines = [
        f"{released} expired hold(s) released, {report.intents_cancelled} PaymentIntent(s) "
        f"cancelled, {report.refunds_sent} refund(s) sent."
    ]
    lines += [f"error: {error}" for error in report.errors]
    return "\n".join(lines)


async def _verify_invoices(settings: Settings, place_id: int | None) -> list[str]:
    database = Database.from_settings(settings)
    billing = Billing.from_settings(settings, database, system_clock)
    try:
        return [str(finding) for finding in await maintenance.verify(billing, place_id)]
    finally:
        await billing.close()
        await database.dispose()


@main.group()
def bookings() -> None:
    """Booking maintenance."""


@bookings.command("expire-holds")
def expire_holds() -> None:
    """Release lapsed holds and cancel their Stripe PaymentIntents (run it every minute)."""
    click.echo(asyncio.run(_expire_holds(get_settings())))


@main.group()
def invoices() -> None:
    """Invoices and credit notes."""


@invoices.command("verify")
@click.option("--place", "place_id", type=int, default=None, help="Only this place.")
def invoices_verify(place_id: int | None) -> None:
    """Recompute every invoice chain; exit 1 naming each document that was tampered with."""
    findings = asyncio.run(_verify_invoices(get_settings(), place_id))
    if findings:
        for finding in findings:
            click.echo(finding, err=True)
        raise SystemExit(1)
    click.echo("All invoices and credit notes are intact.")

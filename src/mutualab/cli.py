"""The ``mutualab`` command line: serve, demo, database migrations, admin tokens, demo data."""

from __future__ import annotations

import asyncio

import click
import uvicorn

from mutualab import migrate
from mutualab.auth.tokens import create_admin_token
from mutualab.db import Database
from mutualab.demo import seed_demo
from mutualab.settings import Settings, get_settings

host_option = click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to bind."
)
port_option = click.option("--port", default=8000, show_default=True, type=int, help="TCP port.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Mutualab: book the equipment of shared public places."""


def _serve(host: str, port: int, workers: int) -> None:
    uvicorn.run(
        "mutualab.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


@main.command()
@host_option
@port_option
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API and pages (the database must be migrated: `mutualab db upgrade`)."""
    _serve(host, port, workers)


async def _seed(settings: Settings) -> list[str]:
    database = Database.from_settings(settings)
    try:
        async with database.writer() as session, session.begin():
            return await seed_demo(session)
    finally:
        await database.dispose()


async def _new_admin_token(settings: Settings, name: str) -> str:
    database = Database.from_settings(settings)
    try:
        async with database.writer() as session, session.begin():
            return await create_admin_token(session, name)
    finally:
        await database.dispose()


@main.command()
@host_option
@port_option
def demo(host: str, port: int) -> None:
    """Migrate the configured database (SQLite by default), load demo data and serve."""
    settings = get_settings()
    migrate.upgrade(settings.database_url)
    created = asyncio.run(_seed(settings))
    click.echo(f"Demo data: {', '.join(created) if created else 'already loaded'}.")
    token = asyncio.run(_new_admin_token(settings, "demo"))
    click.echo(f"Admin token for this demo (catalogue writes): {token}")
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
@click.option("--name", default="admin", show_default=True, help="Whom the token is for.")
def create_admin(name: str) -> None:
    """Create an admin token, print it once (only its hash is stored)."""
    token = asyncio.run(_new_admin_token(get_settings(), name))
    click.echo(token)


@main.command("seed-demo")
def seed_demo_command() -> None:
    """Load the demo places and resources (skipped if already there)."""
    created = asyncio.run(_seed(get_settings()))
    click.echo(f"Created: {', '.join(created)}" if created else "Demo data already loaded.")

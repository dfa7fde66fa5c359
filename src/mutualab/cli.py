"""The ``mutualab`` command line: serve, demo, database migrations, admin tokens, demo data."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kernel import embedded
from kernel.settings import Settings, get_settings

if TYPE_CHECKING:
    from notifications.catcher import SmtpCatcher

# Each command imports what it runs when it runs: the whole app takes ~2.5 s to import, which
# `mutualab --help`, a refused option or `idempotency purge` need not wait for.

host_option = click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to bind."
)
# Binding to these serves every interface; they are not addresses a browser opens.
WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]")  # noqa: S104 (recognised, not bound)
port_option = click.option("--port", default=8000, show_default=True, type=int, help="TCP port.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Mutualab: book the equipment of shared public places."""


def _configured() -> Settings:
    """The settings, with the embedded PostgreSQL started when no database is configured.

    The URL goes into the environment too: the workers that uvicorn spawns read their settings
    from it. The server stops when this command exits (unless another one still uses it).
    """
    settings = get_settings()
    if settings.database_url is None:
        data_dir = embedded.DEFAULT_DATA_DIR
        click.echo(f"No MUTUALAB_DATABASE_URL: using the embedded PostgreSQL in {data_dir}/.")
        os.environ["MUTUALAB_DATABASE_URL"] = embedded.start(data_dir).url()
        # Nothing else runs the background jobs of a trial instance: the app does.
        os.environ.setdefault("MUTUALAB_IN_PROCESS_WORKER", "true")
        get_settings.cache_clear()
        settings = get_settings()
    return settings


def _exit_on_terminate(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _require_key(settings: Settings, workers: int) -> None:
    if workers > 1 and settings.secret_key is None:
        # The key of an instance is configuration, the same for every worker and host that
        # serves it; var/secret.key is a convenience for one process trying the service out.
        raise click.UsageError(
            "Several workers need MUTUALAB_SECRET_KEY (32+ characters), the same for all of them."
        )


def _require_worker_key(settings: Settings) -> None:
    if settings.secret_key is None and settings.database_url is not None:
        # The key decrypts webhook secrets and signs mailed and unsubscribe links: a worker
        # must hold the web process's. Only one beside `serve` on the embedded database (its
        # var/ in the same directory) finds the same var/secret.key.
        raise click.UsageError(
            "A worker on a database server needs MUTUALAB_SECRET_KEY (32+ characters), the same "
            "as the web process's."
        )


def _serve(settings: Settings, host: str, port: int, workers: int, access_log: bool = True) -> None:
    import uvicorn

    from mutualab.logs import log_config

    settings.resolved_secret_key()  # a missing or unusable key stops us here, not in a worker
    proxies = ",".join(str(network) for network in settings.trusted_proxies)
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again with the handler
    # that was there before it: make that handler an ordinary exit, so exit hooks run (they
    # stop the embedded PostgreSQL).
    signal.signal(signal.SIGTERM, _exit_on_terminate)
    uvicorn.run(
        "mutualab.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # The app reads X-Forwarded-For itself (kernel.net); uvicorn believes the same proxies
        # only, for X-Forwarded-Proto.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        log_level="info",
        log_config=log_config(),
        access_log=access_log,
        # httptools, each answer's head and body in one write (mutualab.http_protocol).
        http="mutualab.http_protocol:OneWriteHttpProtocol",
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
    _require_key(get_settings(), workers)  # before starting any database
    _serve(_configured(), host, port, workers, access_log)


async def _seed(settings: Settings, reset_passwords: bool = False) -> tuple[list[str], list[str]]:
    """Demo places, people and activity; the people are printed with their password the first
    time, or with a fresh one when ``reset_passwords``."""
    from accounts.bootstrap import ensure_demo_people, reset_demo_passwords
    from mutualab.composition import build_runtime
    from mutualab.demo import PLACES, demo_place_ids, seed_demo
    from mutualab.demo_activity import seed_activity

    runtime = build_runtime(settings)
    database = runtime.database
    password = secrets.token_urlsafe(9)
    try:
        async with database.writer() as session, session.begin():
            created = await seed_demo(session)
            place_ids = await demo_place_ids(session)
            people = await ensure_demo_people(session, place_ids, password)
            new_place_ids = [
                place_id
                for place_id, slug in zip(place_ids, [p["slug"] for p in PLACES], strict=True)
                if slug in created
            ]
            await seed_activity(runtime, session, new_place_ids, runtime.clock().date())
            reset = await reset_demo_passwords(session, password) if reset_passwords else []
    finally:
        await runtime.close()
    lines = [f"  {p.email:<36} {p.role}" for p in people]
    if reset and not lines:
        lines = [f"  {email}" for email in reset]
    if lines:
        lines.insert(0, f"Demo accounts (password for all: {password}):")
    return created, lines


async def _admin(settings: Settings, email: str, name: str, password: str | None) -> str:
    from accounts.bootstrap import ensure_admin
    from mutualab.composition import build_runtime

    runtime = build_runtime(settings)
    try:
        async with runtime.database.writer() as session, session.begin():
            return await ensure_admin(session, email, name, password)
    finally:
        await runtime.close()


def demo_mail(settings: Settings) -> SmtpCatcher | None:
    """With no SMTP server configured, a local catcher receives the demo's e-mails (read on the
    outbox page); the environment points the app and its worker at it."""
    from kernel.mail import smtp_server
    from notifications.catcher import SmtpCatcher

    if smtp_server(settings) is not None:
        return None
    catcher = SmtpCatcher()
    catcher.start()
    os.environ["MUTUALAB_SMTP_URL"] = catcher.url
    os.environ["MUTUALAB_MAIL_CATCHER"] = "true"
    get_settings.cache_clear()
    return catcher


def demo_environment(host: str, port: int) -> None:
    """What the demo sets unless told otherwise: a worker in-process (holds expire with no
    cron), and the served address as the public one (the links of its e-mails)."""
    os.environ.setdefault("MUTUALAB_IN_PROCESS_WORKER", "true")
    # Listening on every interface is no address to open: this machine's is (set the public
    # address to the one others use, e.g. http://192.168.1.20:8080).
    shown = "127.0.0.1" if host in WILDCARD_HOSTS else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"  # an IPv6 address in a URL
    os.environ.setdefault("MUTUALAB_PUBLIC_BASE_URL", f"http://{shown}:{port}")


@main.command()
@host_option
@port_option
@click.option(
    "--reset-passwords",
    is_flag=True,
    help="Give the demo accounts a new password, printed (the first one is shown only once).",
)
def demo(host: str, port: int, reset_passwords: bool) -> None:
    """Migrate the database (the embedded PostgreSQL by default), load demo data and serve."""
    from mutualab import migrate

    demo_environment(host, port)
    get_settings.cache_clear()
    catcher = demo_mail(get_settings())
    settings = _configured()
    migrate.upgrade(settings.require_database_url())
    click.echo(asyncio.run(_load_communes(settings, force=False)))
    created, people = asyncio.run(_seed(settings, reset_passwords))
    click.echo(f"Demo data: {', '.join(created) if created else 'already loaded'}.")
    for line in people:
        click.echo(line)
    if not people:
        click.echo(
            "Demo passwords are printed the first time only: "
            "`make demo RESET_PASSWORDS=1` prints new ones."
        )
    public = settings.public_base_url.rstrip("/")
    click.echo(f"Open {public}/ — API docs at {public}/schema")
    if catcher is not None:
        click.echo(
            f"E-mails go to a local SMTP catcher ({catcher.url}), nothing leaves this machine: "
            f"read them at {public}/manage/outbox (as an administrator)."
        )
    _serve(settings, host, port, 1)


async def _work(settings: Settings) -> None:
    from kernel.clock import system_clock
    from kernel.worker import run_worker
    from mutualab.background import job_registry
    from mutualab.composition import build_runtime

    runtime = build_runtime(settings, clock=system_clock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await run_worker(settings.require_database_url(), job_registry(runtime), stop)
    finally:
        await runtime.close()


@main.command()
def worker() -> None:
    """Run the background jobs and periodic tasks (as many as wanted, on any hosts)."""
    _require_worker_key(get_settings())  # before starting any database
    settings = _configured()
    click.echo("Worker started: jobs and periodic tasks (hold expiry, clean-ups). Ctrl-C stops.")
    asyncio.run(_work(settings))


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database up (to the latest schema by default)."""
    from mutualab import migrate

    settings = _configured()
    migrate.upgrade(settings.require_database_url(), revision)
    click.echo(f"Database upgraded to {revision}.")
    if revision == "head":
        click.echo(asyncio.run(_load_communes(settings, force=False)))


async def _load_communes(settings: Settings, force: bool) -> str:
    from kernel.db import Database
    from mutualab.geo import load_communes

    database = Database.from_settings(settings)
    try:
        return (await load_communes(database, force=force)).message
    finally:
        await database.dispose()


@main.group()
def geo() -> None:
    """Reference geography: the communes of France the search centres a radius on."""


@geo.command("load-communes")
@click.option("--force", is_flag=True, help="Reload even when this version is loaded.")
def geo_load_communes(force: bool) -> None:
    """Fill the commune table from the npm packages (`npm ci`), unless already loaded."""
    click.echo(asyncio.run(_load_communes(_configured(), force)))


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (`base` removes every table)."""
    from sqlalchemy.exc import IntegrityError

    from mutualab import migrate

    try:
        migrate.downgrade(_configured().require_database_url(), revision)
    except IntegrityError as refused:
        # The downgrade runs in one transaction: refused, it leaves the database as it was.
        raise click.ClickException(
            f"The database holds what the schema of {revision} cannot (memberships', packs' or "
            "tickets' charges and their invoices, which are never deleted): nothing was "
            f"changed. ({refused.orig})"
        ) from refused
    click.echo(f"Database downgraded to {revision}.")


def _libpq_url(settings: Settings) -> str:
    # pg_dump and pg_restore take libpq's URI: the same address without SQLAlchemy's driver.
    return settings.require_database_url().replace("postgresql+asyncpg://", "postgresql://", 1)


def _pg_tool(name: str) -> str:
    # The embedded wheel's own tools match its server; with a server of your own, the first
    # pg_dump on the PATH (it must not be older than the server).
    own = embedded.bin_dir() / name
    return str(own) if own.exists() else name


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(file: Path) -> None:
    """Write the whole database to FILE (pg_dump's custom format, restored by `db restore`)."""
    settings = _configured()
    subprocess.run(  # noqa: S603 (our own tool and configured address, no shell)
        [_pg_tool("pg_dump"), "--format=custom", "--file", str(file), _libpq_url(settings)],
        check=True,
    )
    click.echo(f"Database written to {file}.")


@db.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.confirmation_option(prompt="This replaces every table of the database. Go on?")
def db_restore(file: Path) -> None:
    """Replace the database's contents with FILE, a backup made by `db backup`."""
    settings = _configured()
    subprocess.run(  # noqa: S603 (our own tool and configured address, no shell)
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            _libpq_url(settings),
            str(file),
        ],
        check=True,
    )
    click.echo(f"Database restored from {file}.")


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
    from accounts.passwords import WeakPasswordError, check_strength

    try:
        check_strength(password, (email, name), get_settings().password_min_score)
    except WeakPasswordError as exc:
        raise click.BadParameter(str(exc), param_hint="--password") from exc
    token = asyncio.run(_admin(_configured(), email, name, password))
    click.echo(token)


@main.command("seed-demo")
@click.option("--reset-passwords", is_flag=True, help="Give the demo accounts a new password.")
def seed_demo_command(reset_passwords: bool) -> None:
    """Load the demo places, people and activity (skipped if already there)."""
    created, people = asyncio.run(_seed(_configured(), reset_passwords))
    click.echo(f"Created: {', '.join(created)}" if created else "Demo data already loaded.")
    for line in people:
        click.echo(line)


# billing (issue 5) -------------------------------------------------------------------------
async def _expire_holds(settings: Settings) -> str:
    from billing import maintenance
    from kernel.clock import system_clock
    from mutualab.composition import build_runtime

    runtime = build_runtime(settings, clock=system_clock)
    try:
        released, report = await maintenance.expire_holds(runtime.billing)
    finally:
        await runtime.close()
    lines = [
        f"{released} expired hold(s) released, {report.intents_cancelled} PaymentIntent(s) "
        f"cancelled, {report.refunds_sent} refund(s) sent."
    ]
    lines += [f"error: {error}" for error in report.errors]
    return "\n".join(lines)


async def _verify_invoices(settings: Settings, place_id: int | None) -> list[str]:
    from billing import maintenance
    from kernel.clock import system_clock
    from mutualab.composition import build_runtime

    runtime = build_runtime(settings, clock=system_clock)
    try:
        return [str(finding) for finding in await maintenance.verify(runtime.billing, place_id)]
    finally:
        await runtime.close()


async def _issue_grouped(settings: Settings) -> str:
    from billing import grouped_job
    from kernel.clock import system_clock
    from mutualab.composition import build_runtime

    runtime = build_runtime(settings, clock=system_clock)
    try:
        report = await grouped_job.issue_due_invoices(runtime.billing)
    finally:
        await runtime.close()
    lines = [f"{len(report.issued)} grouped invoice(s) issued{': ' if report.issued else '.'}"]
    if report.issued:
        lines[0] += ", ".join(report.issued) + "."
    lines += [f"waiting: {why}" for why in report.refused]
    lines += [f"error: place {place_id}" for place_id in report.failed]
    return "\n".join(lines)


@main.group()
def bookings() -> None:
    """Booking maintenance."""


@bookings.command("expire-holds")
def expire_holds() -> None:
    """Release lapsed holds and cancel their PaymentIntents now (the workers do it every minute)."""
    click.echo(asyncio.run(_expire_holds(_configured())))


async def _purge_idempotency(settings: Settings) -> int:
    from kernel import idempotency
    from kernel.clock import system_clock
    from kernel.db import Database

    database = Database.from_settings(settings)
    try:
        return await idempotency.purge_stale(database, system_clock())
    finally:
        await database.dispose()


@main.group("idempotency")
def idempotency_group() -> None:
    """Idempotency keys (kept 24 hours)."""


@idempotency_group.command("purge")
def idempotency_purge() -> None:
    """Delete the answers kept for idempotency keys older than 24 hours (the workers do it
    nightly)."""
    purged = asyncio.run(_purge_idempotency(_configured()))
    click.echo(f"{purged} idempotency record(s) older than 24 hours deleted.")


@main.group()
def invoices() -> None:
    """Invoices and credit notes."""


@invoices.command("verify")
@click.option("--place", "place_id", type=int, default=None, help="Only this place.")
@click.option(
    "--archive",
    "archives",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Check this downloaded archive of a closed period against its manifest (repeatable); "
    "the database is not read then.",
)
def invoices_verify(place_id: int | None, archives: tuple[Path, ...]) -> None:
    """Recompute every invoice chain and check every closed period's archive; exit 1 naming
    each document or file that was tampered with."""
    from billing.archive import verify as verify_archive

    if archives:
        problems = [
            f"{path.name}: {problem}"
            for path in archives
            for problem in verify_archive(path.read_bytes())
        ]
        for problem in problems:
            click.echo(problem, err=True)
        if problems:
            raise SystemExit(1)
        click.echo("Every file of the archive matches its manifest.")
        return
    findings = asyncio.run(_verify_invoices(_configured(), place_id))
    if findings:
        for finding in findings:
            click.echo(finding, err=True)
        raise SystemExit(1)
    click.echo("All invoices, credit notes and archives of closed periods are intact.")


@invoices.command("issue-grouped")
def invoices_issue_grouped() -> None:
    """Issue the grouped invoices whose day has come now (the workers do it every hour)."""
    click.echo(asyncio.run(_issue_grouped(_configured())))

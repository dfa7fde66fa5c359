"""The application factory: composes domains, plugins and error handling."""

from __future__ import annotations

import gc
import logging

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from accounts.controllers import (
    AuthController,
    GuestDataController,
    MeController,
    OrganisationController,
    PlaceVerificationController,
)
from accounts.middleware import ActorMiddleware
from accounts.staff_controllers import (
    CertificationController,
    PlaceStaffController,
    UserTypeController,
)
from billing.accounting_controllers import CONTROLLERS as ACCOUNTING_CONTROLLERS
from billing.controllers import CONTROLLERS as BILLING_CONTROLLERS
from billing.coupon_controllers import CONTROLLERS as COUPON_CONTROLLERS
from billing.pack_controllers import CONTROLLERS as PACK_CONTROLLERS
from billing.plan_controllers import CONTROLLERS as PLAN_CONTROLLERS
from billing.runtime import after_response as billing_after_response
from billing.series_controllers import CONTROLLERS as SERIES_BILLING_CONTROLLERS
from billing.ticket_controllers import CONTROLLERS as TICKET_CONTROLLERS
from billing.wallet_controllers import CONTROLLERS as WALLET_CONTROLLERS
from booking.attendance_controllers import CONTROLLERS as ATTENDANCE_CONTROLLERS
from booking.closure_controllers import CONTROLLERS as CLOSURE_CONTROLLERS
from booking.controllers import CONTROLLERS as BOOKING_CONTROLLERS
from booking.feeds.controllers import CONTROLLERS as FEED_CONTROLLERS
from booking.repository import prime_availability
from booking.waitlist_controllers import CONTROLLERS as WAITLIST_CONTROLLERS
from kernel import idempotency
from kernel.auth.actor import provide_actor
from kernel.auth.browser import csrf_middleware, session_middleware
from kernel.clock import Clock, provide_clock, system_clock
from kernel.db import Database, provide_db_session
from kernel.errors import EXCEPTION_HANDLERS
from kernel.settings import Settings, get_settings
from mutualab import __version__
from mutualab.background import InProcessWorker
from mutualab.composition import Runtime, build_runtime
from mutualab.headers import security_headers
from mutualab.health import health
from mutualab.jobs_controller import JobAdminController
from mutualab.openapi import document_problems
from mutualab.overview import OverviewController
from mutualab.reports.controllers import CONTROLLERS as REPORT_CONTROLLERS
from mutualab.requests import MAX_BODY_BYTES, GuardedRequest
from mutualab.swagger import SelfHostedSwagger, openapi_router, swagger_assets
from mutualab.web import negotiated_http_exception, pages_router, static_files, template_config
from mutualab.web.maps import leaflet_files
from mutualab.web.photos import photo_files
from notifications.controllers import OutboxAdminController
from notifications.unsubscribe_controller import UnsubscribeController
from programme.controllers import CONTROLLERS as PROGRAMME_CONTROLLERS
from resources.controllers import CONTROLLERS as CATALOGUE_CONTROLLERS
from webhooks.controllers import CONTROLLERS as WEBHOOK_CONTROLLERS

ACCOUNT_CONTROLLERS = [
    AuthController,
    GuestDataController,
    MeController,
    OrganisationController,
    PlaceVerificationController,
    UserTypeController,
    PlaceStaffController,
    CertificationController,
]


def _openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Mutualab",
        version=__version__,
        description="Booking service for shared public places: fablabs, tiers-lieux, libraries.",
        path="/schema",
        render_plugins=[SelfHostedSwagger()],
        openapi_router=openapi_router(),
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http", scheme="bearer", description="Admin token"
                )
            }
        ),
    )


# The collector's first threshold while serving: how many more container objects may be alive
# than at its last round before it runs again. At CPython's 700, the objects of the requests
# under way passed it every few requests: under the term-opening mix a worker ran about 55
# rounds a second, 6 to 7 % of its time, pauses up to 90 ms; at 10,000 it runs about once in
# two seconds, as garbage rather than requests in flight fills it (bench/RESULTS.md, 7 December).
SERVING_GC_THRESHOLD = 10_000
_STARTUP_GC_THRESHOLDS = gc.get_threshold()


def freeze_startup_heap() -> None:
    """Take what the worker built before serving (the app, the models, the metadata: most of
    the heap, and alive until exit) out of the garbage collector's rounds: a full collection
    no longer walks it, which took tens of milliseconds from whichever requests were running.
    Then let the collector run when garbage has piled up, not at every few requests."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = _STARTUP_GC_THRESHOLDS
    gc.set_threshold(SERVING_GC_THRESHOLD, middle, oldest)


def unfreeze_heap() -> None:
    """Give the frozen objects back to the collector and its thresholds back (an app stopped
    inside a longer-lived process, as in the tests, leaves it as it found it)."""
    gc.unfreeze()
    gc.set_threshold(*_STARTUP_GC_THRESHOLDS)


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    clock: Clock = system_clock,
    *,
    runtime: Runtime | None = None,
) -> Litestar:
    """Build the ASGI application on ``runtime``, or on one the composition root builds from
    ``settings`` (read from the environment by default), ``database`` and ``clock``.

    With no argument this is uvicorn's factory (``mutualab.app:create_app``). Handlers read the
    runtime's parts off ``app.state``; :meth:`Runtime.install` may put another runtime built on
    the same settings there (the tests do, between tests).
    """
    if runtime is None:
        runtime = build_runtime(settings or get_settings(), database, clock)
    settings = runtime.settings

    # A trial instance (demo, embedded database) runs its background jobs itself.
    worker = InProcessWorker(runtime) if settings.in_process_worker else None

    async def open_connections() -> None:
        """Open and prime the connections the worker's reads use at once, in the background,
        when the database is the app's own (kernel.db.Database.open_ahead)."""
        installed: Runtime = app.state.runtime
        if installed.owns_database:
            installed.database.open_ahead(
                installed.settings.database_pool_size, prime=prime_availability
            )

    async def close_runtime() -> None:
        if worker is not None:
            await worker.stop()
        installed: Runtime = app.state.runtime
        await installed.close()

    api = Router(
        path="/",
        route_handlers=[
            *CATALOGUE_CONTROLLERS,
            *ACCOUNT_CONTROLLERS,
            *BOOKING_CONTROLLERS,
            *CLOSURE_CONTROLLERS,
            *ATTENDANCE_CONTROLLERS,
            *FEED_CONTROLLERS,
            *WAITLIST_CONTROLLERS,
            *PROGRAMME_CONTROLLERS,
            OverviewController,
            *REPORT_CONTROLLERS,
            *BILLING_CONTROLLERS,
            *ACCOUNTING_CONTROLLERS,
            *SERIES_BILLING_CONTROLLERS,
            *COUPON_CONTROLLERS,
            *WALLET_CONTROLLERS,
            *PLAN_CONTROLLERS,
            *TICKET_CONTROLLERS,
            *PACK_CONTROLLERS,
            *WEBHOOK_CONTROLLERS,
            JobAdminController,
            UnsubscribeController,
            OutboxAdminController,
            health,
        ],
    )
    app = Litestar(
        route_handlers=[
            api,
            pages_router(),
            static_files(),
            leaflet_files(),
            photo_files(settings.photos_dir),
            swagger_assets(),
        ],
        dependencies={
            "db_session": Provide(provide_db_session),
            "actor": Provide(provide_actor, sync_to_thread=False),
            "clock": Provide(provide_clock, sync_to_thread=False),
        },
        middleware=[
            session_middleware(settings),
            # Static assets and the OpenAPI page need no identity: skip the lookup.
            DefineMiddleware(ActorMiddleware, exclude=["^/static/", "^/schema"]),
            # After the actor: only a bearer token that was accepted skips the CSRF check.
            csrf_middleware(settings),
        ],
        # Browsers asking for an unknown address get a page; programs keep problem details.
        exception_handlers={**EXCEPTION_HANDLERS, HTTPException: negotiated_http_exception},
        template_config=template_config(),
        openapi_config=_openapi_config(),
        on_startup=[
            freeze_startup_heap,
            open_connections,
            *([worker.start] if worker is not None else []),
        ],
        on_shutdown=[close_runtime, unfreeze_heap],
        # Provider calls queued by a request (refunds, cancelled PaymentIntents) run after it.
        after_response=billing_after_response,
        # An unsafe request sent with an idempotency key is carried out once (kernel.idempotency).
        before_request=idempotency.before_request,
        before_send=[security_headers(settings)],
        request_class=GuardedRequest,
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
        logging_config=None,
    )
    runtime.install(app.state)
    # The document is built now, once, with the problems and headers every operation declares.
    document_problems(app)
    logging.getLogger("mutualab").setLevel(logging.INFO)
    return app

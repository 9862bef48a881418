"""The ASGI app as the composition root builds it: the API's routers and the console beside
them around already-wired ``Services``; the app of each of several ``serve`` processes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from batchscore import heap, metrics, web
from batchscore.api.app import Lifespan, create_api
from batchscore.api.ops import create_ops_app
from batchscore.clock import SystemClock
from batchscore.logs import configure_logging
from batchscore.service.background import Background
from batchscore.service.container import Services
from batchscore.settings import Settings
from batchscore.store.db import Database
from batchscore.web.session import load_secret

__all__ = [
    "WORKER_APP",
    "create_app",
    "create_ops_app",
    "make_session_secret",
    "worker_app",
]

WORKER_APP = "batchscore.composition.app:worker_app"
"""uvicorn's import path of :func:`worker_app` (``factory=True``)."""


def create_app(
    svc: Services, lifespan: Lifespan | None = None, background: Background | None = None
) -> FastAPI:
    """The whole ASGI app around already-wired services: the API (``/service/...``,
    ``/inventory``..., ``/health``, ``/metrics``, the OpenAPI document) and the console at
    ``/``; ``background`` (the process's scheduler loop, if it runs one) is what
    ``/health/ready`` reports on."""
    app = create_api(svc, lifespan=lifespan, background=background)
    app.include_router(web.router)
    return app


def make_session_secret(var_dir: Path) -> None:
    """Create the console's session signing key once, before several processes read it."""
    load_secret(var_dir)


def worker_app() -> FastAPI:
    """uvicorn's app factory for one of several ``serve`` processes
    (``BATCHSCORE_API_PROCESSES`` > 1).

    ``batchscore serve`` migrates the database, creates the first admin and the demo content
    once, then uvicorn starts the processes; each builds its services from the environment and
    runs its own scheduler loop and executor, the same as several ``serve`` instances on one
    database (the claims make every fire happen exactly once whichever process claims it). On
    SIGTERM uvicorn stops every process, and each stops its background as a single `serve`
    does.
    """
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    services = Services.build(settings, Database.from_url(settings.database_url), SystemClock())
    background = Background(services)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        background.start(scheduler=settings.scheduler)
        heap.settle()
        try:
            yield
        finally:
            # The stop waits up to the grace period for running executions: off the loop.
            await run_in_threadpool(background.stop)
            services.close()
            services.db.dispose()
            metrics.process_exited(os.getpid())

    return create_app(services, lifespan=lifespan, background=background)

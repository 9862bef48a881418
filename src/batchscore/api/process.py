"""The app of one ``serve`` process among several (``BATCHSCORE_API_PROCESSES`` > 1).

``batchscore serve`` migrates the database, creates the first admin and the demo content once,
then uvicorn starts the processes; each builds its services from the environment and runs its
own scheduler loop and executor, the same as several ``serve`` instances on one database (the
claims make every fire happen exactly once whichever process claims it). On SIGTERM uvicorn
stops every process, and each stops its background as a single `serve` does.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from batchscore import heap, metrics
from batchscore.api.app import create_app
from batchscore.clock import SystemClock
from batchscore.logs import configure_logging
from batchscore.service.background import Background
from batchscore.service.container import Services
from batchscore.settings import Settings
from batchscore.store.db import Database


def worker_app() -> FastAPI:
    """uvicorn's app factory for one process (``factory=True``)."""
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

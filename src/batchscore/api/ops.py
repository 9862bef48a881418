"""The operations app of a process without the API (`batchscore scheduler` with
``BATCHSCORE_OPS_PORT``): ``/health``, ``/health/ready`` and ``/metrics`` only."""

from __future__ import annotations

from fastapi import FastAPI

from batchscore import __version__
from batchscore.api import health, metrics
from batchscore.api.errors import install_error_handlers
from batchscore.service.background import Background
from batchscore.service.container import Services


def create_ops_app(svc: Services, background: Background) -> FastAPI:
    app = FastAPI(
        title="batchscore operations",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.services = svc
    app.state.background = background
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    return app

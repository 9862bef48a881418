"""The API as a FastAPI application: routers, error handlers, middleware, OpenAPI document.

The console is mounted beside it by the composition root (``batchscore.composition``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse

from batchscore import __version__
from batchscore.api import (
    actions,
    alarms,
    events,
    health,
    inventory,
    job_lifecycle,
    jobs,
    measurements,
    metrics,
    models,
    schedule,
)
from batchscore.api.deps import READ, require
from batchscore.api.drain import BodyDrainMiddleware
from batchscore.api.errors import install_error_handlers
from batchscore.api.fresh_responses import FreshResponses
from batchscore.api.inference_pages import InferencePages
from batchscore.api.middleware import CumulocityPathMiddleware, RequestIdMiddleware
from batchscore.api.schemas import BackfillIn, JobIn
from batchscore.domain.roles import Principal
from batchscore.service.background import Background
from batchscore.service.container import Services
from batchscore.service.job_documents import JobDocuments

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

DESCRIPTION = """batchscore scores PMML and ONNX models on IoT measurement data, on schedules.
The Jobs and Models APIs under `/service/zementis` are wire-compatible with the Cumulocity IoT
Machine Learning Engine (Zementis). Authenticate with HTTP Basic: `tenant/user:password` or
`user:password`."""


def create_api(
    svc: Services, lifespan: Lifespan | None = None, background: Background | None = None
) -> FastAPI:
    """Build the API's ASGI app around already-wired services; ``background`` (the process's
    scheduler loop, if it runs one) is what ``/health/ready`` reports on."""
    app = FastAPI(
        lifespan=lifespan,
        title="batchscore",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.services = svc
    app.state.background = background
    app.state.job_documents = JobDocuments()
    app.state.inference_pages = InferencePages()
    app.state.fresh_responses = FreshResponses(svc.db.change_stamp)
    install_error_handlers(app)
    app.add_middleware(CumulocityPathMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(BodyDrainMiddleware)  # outermost: it sees every answer, the 500s too
    routers = (health, metrics, jobs, job_lifecycle, actions, models, schedule, inventory)
    for module in (*routers, measurements, alarms, events):
        app.include_router(module.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            extra = JobIn.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(extra.pop("$defs", {}))
            components["JobIn"] = extra
            components["BackfillIn"] = BackfillIn.model_json_schema(by_alias=True)
            schema["components"]["securitySchemes"] = {"basic": {"type": "http", "scheme": "basic"}}
            schema["security"] = [{"basic": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    # The spec and the docs are served behind the same login as the API (only /health is open).
    @app.get("/openapi.json", include_in_schema=False)
    def openapi_json(principal: Principal = require(READ)) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(principal: Principal = require(READ)) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="batchscore API")

    return app

"""Liveness and readiness without authentication (design §3.7).

``GET /health`` is the liveness probe: the process answers, and it says whether the database
does. ``GET /health/ready`` is the readiness probe: 503 unless the database answers and, when
this process runs a scheduler loop, that loop ticked within 3 x its interval + 10 s; its body
names each part.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from batchscore import __version__
from batchscore.api.deps import services

router = APIRouter(tags=["health"])


def _database_up(request: Request) -> bool:
    return services(request).db.reachable()


@router.get("/health", summary="Liveness: the service and its database (no auth)")
def health(request: Request) -> JSONResponse:
    if not _database_up(request):
        return JSONResponse({"status": "DOWN", "database": "DOWN"}, status_code=503)
    return JSONResponse({"status": "UP", "database": "UP", "version": __version__})


@router.get("/health/ready", summary="Readiness: database and scheduler loop (no auth)")
def ready(request: Request) -> JSONResponse:
    database = _database_up(request)
    background = getattr(request.app.state, "background", None)
    scheduler: dict[str, Any] = (
        background.readiness() if background is not None else {"status": "OFF", "ok": True}
    )
    ok = database and bool(scheduler.pop("ok"))
    body = {
        "status": "UP" if ok else "DOWN",
        "database": "UP" if database else "DOWN",
        "scheduler": scheduler,
        "instance": services(request).lifecycle.owner,
        "version": __version__,
    }
    return JSONResponse(body, status_code=200 if ok else 503)

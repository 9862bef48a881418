"""Liveness and readiness without authentication."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from batchscore import __version__
from batchscore.api.deps import services

router = APIRouter(tags=["health"])


@router.get("/health", summary="Service and database status (no auth)")
def health(request: Request) -> JSONResponse:
    db = services(request).db
    try:
        with db.read() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means "not ready"
        return JSONResponse({"status": "DOWN", "database": "DOWN"}, status_code=503)
    return JSONResponse({"status": "UP", "database": "UP", "version": __version__})

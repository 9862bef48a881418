"""Job lifecycle routes (design §2.8): PUT a job, pause, resume, backfill and its cancel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from batchscore.api.deps import ADMIN, read_json, require, services
from batchscore.api.render import job_json
from batchscore.api.schemas import (
    ZEMENTIS_ERRORS,
    BackfillOut,
    BackfillStatusOut,
    ErrorsBody,
    JobOut,
)
from batchscore.domain.roles import Principal

router = APIRouter(prefix="/service/zementis", tags=["jobs"], responses=ZEMENTIS_ERRORS)

_JOB_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobIn"}}},
    }
}
_BACKFILL_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BackfillIn"}}},
    }
}


@router.put(
    "/job/{jobId}",
    response_model=JobOut,
    summary="Replace a job (history and numbering kept; the new schedule from its next fire)",
    openapi_extra=_JOB_BODY,
)
async def replace_job(
    jobId: str, request: Request, principal: Principal = require(ADMIN)
) -> JSONResponse:
    body = await read_json(request)
    lifecycle = services(request).job_lifecycle
    job = await run_in_threadpool(lifecycle.replace, principal.tenant, jobId, body)
    return JSONResponse(job_json(job))


@router.post("/job/{jobId}/pause", response_model=JobOut, summary="Pause a job")
def pause_job(jobId: str, request: Request, principal: Principal = require(ADMIN)) -> JSONResponse:
    return JSONResponse(job_json(services(request).job_lifecycle.pause(principal.tenant, jobId)))


@router.post(
    "/job/{jobId}/resume",
    response_model=JobOut,
    summary="Resume a paused job (missed instants follow its misfirePolicy)",
)
def resume_job(jobId: str, request: Request, principal: Principal = require(ADMIN)) -> JSONResponse:
    return JSONResponse(job_json(services(request).job_lifecycle.resume(principal.tenant, jobId)))


@router.post(
    "/job/{jobId}/backfill",
    status_code=202,
    response_model=BackfillOut,
    summary="Run the job for every schedule instant in [from, to) that has no execution",
    openapi_extra=_BACKFILL_BODY,
    responses={409: {"model": ErrorsBody, "description": "A backfill of the job is running."}},
)
async def start_backfill(
    jobId: str, request: Request, principal: Principal = require(ADMIN)
) -> JSONResponse:
    body = await read_json(request)
    lifecycle = services(request).job_lifecycle
    started = await run_in_threadpool(lifecycle.start_backfill, principal.tenant, jobId, body)
    return JSONResponse(started, status_code=202)


@router.delete(
    "/job/{jobId}/backfill",
    response_model=BackfillStatusOut,
    summary="Cancel the job's backfill (running executions finish)",
)
def cancel_backfill(
    jobId: str, request: Request, principal: Principal = require(ADMIN)
) -> JSONResponse:
    progress = services(request).job_lifecycle.cancel_backfill(principal.tenant, jobId)
    return JSONResponse(progress.as_json())

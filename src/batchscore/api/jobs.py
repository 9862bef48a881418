"""The Jobs API of the Zementis service (seed document), under /service/zementis."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from batchscore.api.deps import ADMIN, READ, read_json, require, services
from batchscore.api.fresh_responses import fresh_json
from batchscore.api.inference_pages import InferencePages
from batchscore.api.paging import MAX_CURRENT_PAGE
from batchscore.api.render import (
    duration_text,
    encode,
    execution_detail_json,
    execution_json,
    inference_entry,
    job_json,
)
from batchscore.api.schemas import (
    ZEMENTIS_ERRORS,
    ErrorsBody,
    ExecutionOut,
    InferencePage,
    JobIn,
    JobOut,
    JobStatusOut,
)
from batchscore.domain.roles import Principal
from batchscore.service.inference_csv import csv_lines
from batchscore.service.job_documents import JobDocuments

router = APIRouter(prefix="/service/zementis", tags=["jobs"], responses=ZEMENTIS_ERRORS)

_JOB_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobIn"}}},
    }
}


@router.get("/jobs", response_model=list[JobOut], summary="List jobs")
async def list_jobs(
    request: Request,
    principal: Principal = require(READ),
    pageSize: int | None = Query(None, ge=1, le=2000, description="Opt-in paging."),
    currentPage: int = Query(1, ge=1, le=MAX_CURRENT_PAGE),
) -> Response:
    documents: JobDocuments = request.app.state.job_documents
    jobs = services(request).jobs
    return await fresh_json(
        request,
        principal.tenant,
        lambda: documents.listing(jobs, principal.tenant, pageSize, currentPage),
    )


@router.get("/job/{jobId}", response_model=JobOut, summary="Get a job")
async def get_job(jobId: str, request: Request, principal: Principal = require(READ)) -> Response:
    jobs = services(request).jobs
    return await fresh_json(
        request, principal.tenant, lambda: encode(job_json(jobs.get(principal.tenant, jobId)))
    )


@router.get("/job/{jobId}/status", response_model=JobStatusOut, summary="Status of the last run")
async def job_status(
    jobId: str, request: Request, principal: Principal = require(READ)
) -> Response:
    svc = services(request)

    def render() -> bytes:
        job = svc.jobs.get(principal.tenant, jobId)
        if job.last_status is None:
            out = {"jobExecutionStatus": "Pending", "jobExecutionDuration": ""}
        else:
            out = {
                "jobExecutionStatus": job.last_status.value,
                "jobExecutionDuration": duration_text(job),
            }
        backfill = svc.job_lifecycle.backfill_progress(principal.tenant, job.id)
        return encode(out if backfill is None else {**out, "backfill": backfill.as_json()})

    return await fresh_json(request, principal.tenant, render)


@router.get("/job/{jobId}/history", response_model=list[ExecutionOut], summary="Execution history")
async def job_history(
    jobId: str, request: Request, principal: Principal = require(READ)
) -> Response:
    jobs = services(request).jobs

    def render() -> bytes:
        return encode([execution_json(r.job_id, r) for r in jobs.history(principal.tenant, jobId)])

    return await fresh_json(request, principal.tenant, render)


@router.put("/job/{jobId}/history", include_in_schema=False)
def job_history_put(
    jobId: str, request: Request, principal: Principal = require(READ)
) -> JSONResponse:
    # The seed documents this 404 for a PUT on an unknown job; a known job gets a 405.
    services(request).jobs.get(principal.tenant, jobId)
    body = ErrorsBody(errors=["Method PUT is not allowed here."]).model_dump()
    return JSONResponse(body, status_code=405)


@router.get(
    "/job/{jobId}/history/{executionId}", response_model=ExecutionOut, summary="One execution"
)
async def job_execution(
    jobId: str,
    executionId: str,
    request: Request,
    principal: Principal = require(READ),
) -> Response:
    jobs = services(request).jobs

    def render() -> bytes:
        run = jobs.execution(principal.tenant, jobId, executionId)
        return encode(execution_detail_json(run.job_id, run))

    return await fresh_json(request, principal.tenant, render)


@router.get(
    "/job/{jobId}/history/{executionId}/inferences",
    response_model=InferencePage,
    summary="Inferences of an execution, 2000 records per page",
)
async def job_inferences(
    jobId: str,
    executionId: str,
    request: Request,
    principal: Principal = require(READ),
    currentPage: int = Query(1, ge=1, le=MAX_CURRENT_PAGE),
    withTimestamps: bool = Query(False, description="Add a time array per device."),
) -> Response:
    svc = services(request)
    pages: InferencePages = request.app.state.inference_pages

    def page() -> bytes:
        run = svc.jobs.execution(principal.tenant, jobId, executionId)

        def render() -> bytes:
            pieces = svc.inferences.page_of(run, currentPage)
            collection = [inference_entry(p, withTimestamps) for p in pieces]
            return encode({"inferenceCollection": collection, "currentPage": currentPage})

        return pages.get(run, currentPage, withTimestamps, render)

    return await fresh_json(request, principal.tenant, page)


@router.get(
    "/job/{jobId}/history/{executionId}/inferences.csv",
    summary="All inferences of an execution as CSV (deviceId, time, outputs), streamed",
    response_class=StreamingResponse,
)
def job_inferences_csv(
    jobId: str,
    executionId: str,
    request: Request,
    principal: Principal = require(READ),
) -> StreamingResponse:
    inferences = services(request).inferences
    names = inferences.output_names(principal.tenant, jobId, executionId)
    chunks = inferences.all_records(principal.tenant, jobId, executionId)
    filename = f"job-{jobId}-execution-{executionId}-inferences.csv"
    return StreamingResponse(
        csv_lines(names, chunks),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/job/{jobId}/run",
    status_code=201,
    response_model=ExecutionOut,
    summary="Fire a job now (its window rule anchored at now)",
    responses={409: {"model": ErrorsBody, "description": "The job is already running."}},
)
def run_job(jobId: str, request: Request, principal: Principal = require(ADMIN)) -> JSONResponse:
    run = services(request).runs.run_now(principal.tenant, jobId)
    return JSONResponse(execution_json(run.job_id, run), status_code=201)


@router.post(
    "/job",
    status_code=201,
    response_model=JobOut,
    summary="Create a job",
    openapi_extra=_JOB_BODY,
)
async def create_job(request: Request, principal: Principal = require(ADMIN)) -> JSONResponse:
    body = await read_json(request)
    job = await run_in_threadpool(services(request).jobs.create, principal.tenant, body)
    return JSONResponse(job_json(job), status_code=201)


@router.delete("/job/{jobId}", response_model=list[JobOut], summary="Delete a job")
def delete_job(jobId: str, request: Request, principal: Principal = require(ADMIN)) -> JSONResponse:
    remaining = services(request).jobs.delete(principal.tenant, jobId)
    return JSONResponse([job_json(j) for j in remaining])


@router.delete("/jobs", response_model=list[JobOut], summary="Delete all jobs")
def delete_jobs(request: Request, principal: Principal = require(ADMIN)) -> JSONResponse:
    remaining = services(request).jobs.delete_all(principal.tenant)
    return JSONResponse([job_json(j) for j in remaining])


# Referenced by the hand-written request body schema above.
__all__ = ["JobIn", "router"]

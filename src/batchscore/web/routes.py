"""All console routes in one router; none of them appears in the API's OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from batchscore.web import (
    pages_auth,
    pages_devices,
    pages_executions,
    pages_job_form,
    pages_job_lifecycle,
    pages_jobs,
    pages_models,
    static_files,
)

router = APIRouter(include_in_schema=False)
# The job form's fixed paths (/jobs/new...) come before /jobs/{job_id}.
for module in (
    static_files,
    pages_auth,
    pages_job_form,
    pages_job_lifecycle,
    pages_jobs,
    pages_executions,
    pages_models,
    pages_devices,
):
    router.include_router(module.router)

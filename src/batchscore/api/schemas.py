"""Pydantic models that document the wire shapes in OpenAPI.

Handlers build the JSON directly (``render.py``); these classes are the published contract,
and the tests check responses against them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorsBody(BaseModel):
    """Zementis error shape: every problem found, one message each."""

    errors: list[str]


class AuthErrorBody(BaseModel):
    """Cumulocity error shape, used for 401/403/429 and the Cumulocity-style routes."""

    error: str
    message: str
    info: str


class JobScheduleIn(BaseModel):
    frequency: Literal["once", "periodic"]
    cronExpression: str | None = Field(None, description="Quartz cron, 6 or 7 fields.")
    timeZone: str | None = Field(None, description="IANA zone id, e.g. Asia/Kolkata.")
    dataFromPreviousNSeconds: int | None = Field(None, gt=0)
    scheduleAt: str | None = Field(None, description="ISO-8601 with offset (once jobs).")
    dataFrom: str | None = None
    dataTo: str | None = None
    misfirePolicy: Literal["fireOnceNow", "doNothing"] | None = None
    dstPolicy: Literal["fireAfterGap", "quartz"] | None = None


class JobIn(BaseModel):
    jobName: str
    jobDescription: str | None = None
    associatedGroupOrDeviceId: int
    associatedModel: str
    modelToDeviceMappings: dict[str, str] = Field(
        description='model input -> "fragment.series.value", or the reverse orientation.'
    )
    jobSchedule: JobScheduleIn
    actions: list[dict[str, Any]] | None = Field(
        None, description="Rules evaluated per device after each execution (design §2.9)."
    )
    writeBack: dict[str, Any] | None = Field(
        None, description='Outputs as measurements: {"fragment", "outputs": {series: output}}.'
    )


class JobScheduleOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    frequency: str
    cronExpression: str | None
    timeZone: str | None
    dataFromPreviousNSeconds: int | None
    scheduleAt: str | None
    dataFrom: str | None
    dataTo: str | None


class JobOut(BaseModel):
    jobId: int
    jobName: str
    jobDescription: str
    jobCreationDate: str
    associatedModel: str
    associatedGroupOrDeviceId: int
    modelToDeviceMappings: dict[str, str]
    jobSchedule: JobScheduleOut
    jobStatus: Literal["Success", "Warning", "Failure"] | None = None
    lastExecutionDuration: str | None = None
    actions: list[dict[str, Any]] | None = None
    writeBack: dict[str, Any] | None = None
    paused: bool | None = Field(None, description="Absent until the job was paused once.")


class ExecutionOut(BaseModel):
    jobId: int
    jobExecutionNumber: int
    isExecutionForDeviceGroup: bool
    jobExecutionStartTime: str | None
    jobExecutionEndTime: str | None
    jobExecutionDuration: str
    jobExecutionStatus: Literal["Running", "Success", "Warning", "Failure"]
    jobExecutionStatusMessage: list[str]
    associatedModel: str | None = Field(
        None,
        description="The model the execution ran with (one execution only; absent "
        "for executions before job editing existed).",
    )
    modelSha256: str | None = None
    modelToDeviceMappings: dict[str, str] | None = None


class BackfillStatusOut(BaseModel):
    from_: str = Field(alias="from")
    to: str
    instants: int
    finished: int
    running: int
    skipped: int
    state: Literal["running", "done", "cancelling", "cancelled"]


class JobStatusOut(BaseModel):
    jobExecutionStatus: str
    jobExecutionDuration: str
    backfill: BackfillStatusOut | None = Field(None, description="The job's latest backfill.")


class BackfillIn(BaseModel):
    from_: str = Field(alias="from", description="ISO-8601 instant with offset.")
    to: str = Field(description="ISO-8601 instant with offset, not in the future.")


class BackfillOut(BaseModel):
    instants: int
    from_: str = Field(alias="from")
    to: str


class DeviceInferences(BaseModel):
    deviceId: int
    recordCollection: dict[str, list[Any]]
    time: list[str] | None = None


class InferencePage(BaseModel):
    inferenceCollection: list[DeviceInferences]
    currentPage: int


class ModelFieldOut(BaseModel):
    usage: str
    name: str
    type: str
    opType: str


class ModelOut(BaseModel):
    modelName: str
    description: str
    creationDate: str
    isActive: bool
    type: str
    sha256: str
    inputFields: list[ModelFieldOut]
    outputFields: list[ModelFieldOut]


class ModelNames(BaseModel):
    models: list[str]


ZEMENTIS_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorsBody, "description": "Invalid request; every problem listed."},
    401: {"model": AuthErrorBody, "description": "Missing or wrong credentials."},
    403: {"model": AuthErrorBody, "description": "The user lacks the required role."},
    404: {"model": ErrorsBody, "description": "Not found (also for other tenants' ids)."},
    413: {"model": ErrorsBody, "description": "Request body too large."},
    429: {"model": AuthErrorBody, "description": "Too many failed logins."},
}

"""Cumulocity alarms (design §2.4): raise with de-duplication, read, change one or many by
filter, delete by filter, count."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from batchscore.api.c8y_render import alarm_json, raw_alarm_json
from batchscore.api.deps import read_json, require, services
from batchscore.api.inventory import base_url
from batchscore.api.paging import Paging, paging, streamed_envelope
from batchscore.api.params import instant, instant_ns, source_below, strict_query, text_list
from batchscore.api.schemas import AuthErrorBody
from batchscore.domain.alarms import AlarmStatus, Severity
from batchscore.domain.filters import AlarmFilter
from batchscore.domain.roles import Principal, Role
from batchscore.errors import Invalid

router = APIRouter(
    prefix="/alarm",
    tags=["alarm"],
    dependencies=[Depends(strict_query)],
    responses={code: {"model": AuthErrorBody} for code in (400, 401, 403, 404, 409, 413, 422, 429)},
)
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": True}}
        },
    }
}


E = TypeVar("E", AlarmStatus, Severity)


def _enums(kind: type[E], text: str | None, name: str) -> tuple[E, ...] | None:
    values = text_list(text, name)
    if values is None:
        return None
    try:
        return tuple(kind(v.upper()) for v in values)
    except ValueError:
        raise Invalid(f"{name}: each of {', '.join(m.value for m in kind)}.") from None


def alarm_filter(
    source: str | None = Query(None, description="Managed object id."),
    type: str | None = Query(None, description="Comma-separated types."),
    status: str | None = Query(None, description="Comma-separated: ACTIVE, ACKNOWLEDGED, CLEARED."),
    severity: str | None = Query(
        None, description="Comma-separated: CRITICAL, MAJOR, MINOR, WARNING."
    ),
    resolved: bool | None = Query(None, description="true: CLEARED only; false: the others."),
    dateFrom: str | None = Query(None, description="Alarm time, inclusive."),
    dateTo: str | None = Query(None, description="Alarm time, exclusive."),
    createdFrom: str | None = Query(None),
    createdTo: str | None = Query(None),
    lastUpdatedFrom: str | None = Query(None),
    lastUpdatedTo: str | None = Query(None),
    fragmentType: str | None = Query(None),
    withSourceAssets: bool = Query(False, description="Also the alarms of objects below source."),
    withSourceDevices: bool = Query(False, description="Also the alarms of devices below source."),
) -> tuple[AlarmFilter, bool]:
    """The filters of the alarm collection, and whether any was given."""
    source_id, below = source_below(source, withSourceAssets, withSourceDevices)
    statuses = _enums(AlarmStatus, status, "status")
    if resolved is not None:
        chosen = (
            {AlarmStatus.CLEARED} if resolved else {AlarmStatus.ACTIVE, AlarmStatus.ACKNOWLEDGED}
        )
        statuses = tuple(s for s in (statuses or tuple(AlarmStatus)) if s in chosen)
    times = [createdFrom, createdTo, lastUpdatedFrom, lastUpdatedTo]
    flt = AlarmFilter(
        source=source_id,
        below=below,
        types=text_list(type, "type"),
        start_ns=instant_ns(dateFrom, "dateFrom"),
        end_ns=instant_ns(dateTo, "dateTo"),
        created_from=instant(createdFrom, "createdFrom"),
        created_to=instant(createdTo, "createdTo"),
        updated_from=instant(lastUpdatedFrom, "lastUpdatedFrom"),
        updated_to=instant(lastUpdatedTo, "lastUpdatedTo"),
        fragment=fragmentType,
        statuses=statuses,
        severities=_enums(Severity, severity, "severity"),
    )
    given = any(
        x is not None
        for x in (source, type, status, severity, resolved, dateFrom, dateTo, fragmentType, *times)
    )
    return flt, given


@router.post(
    "/alarms", status_code=201, summary="Raise an alarm (de-duplicated)", openapi_extra=_BODY
)
async def create_alarm(
    request: Request, principal: Principal = require(Role.ALARM_ADMIN)
) -> JSONResponse:
    body = await read_json(request)
    alarm, _ = await run_in_threadpool(services(request).alarms.create, principal.tenant, body)
    url = f"{base_url(request)}/alarm/alarms/{alarm.id}"
    return JSONResponse(
        alarm_json(alarm, base_url(request)), status_code=201, headers={"Location": url}
    )


@router.get("/alarms", summary="List alarms, newest first, paged")
def list_alarms(
    request: Request,
    filters: tuple[AlarmFilter, bool] = Depends(alarm_filter),
    revert: bool = Query(False, description="Oldest first."),
    page: Paging = Depends(paging),
    principal: Principal = require(Role.ALARM_READ),
) -> Response:
    service = services(request).alarms
    found = service.read_page(
        principal.tenant,
        filters[0],
        page_size=page.size,
        current_page=page.current,
        oldest_first=revert,
        with_total=page.with_total,
    )
    base = base_url(request)
    batches = (
        [raw_alarm_json(alarm, fragments, base) for alarm, fragments in batch] for batch in found
    )
    return streamed_envelope(request, "alarms", batches, page, found)


@router.get("/alarms/count", summary="How many alarms match the filters")
def count_alarms(
    request: Request,
    filters: tuple[AlarmFilter, bool] = Depends(alarm_filter),
    principal: Principal = require(Role.ALARM_READ),
) -> JSONResponse:
    return JSONResponse(services(request).alarms.count(principal.tenant, filters[0]))


@router.put("/alarms", summary="Change the status of every matching alarm", openapi_extra=_BODY)
async def update_alarms(
    request: Request,
    filters: tuple[AlarmFilter, bool] = Depends(alarm_filter),
    principal: Principal = require(Role.ALARM_ADMIN),
) -> Response:
    body = await read_json(request)
    flt, given = filters
    service = services(request).alarms
    await run_in_threadpool(service.update_matching, principal.tenant, flt, body, filtered=given)
    return Response(status_code=200)


@router.delete("/alarms", status_code=204, summary="Delete every matching alarm")
def delete_alarms(
    request: Request,
    filters: tuple[AlarmFilter, bool] = Depends(alarm_filter),
    principal: Principal = require(Role.ALARM_ADMIN),
) -> Response:
    services(request).alarms.delete_matching(principal.tenant, filters[0])
    return Response(status_code=204)


@router.get("/alarms/{alarmId}", summary="Get an alarm")
def get_alarm(
    alarmId: str, request: Request, principal: Principal = require(Role.ALARM_READ)
) -> JSONResponse:
    return JSONResponse(
        alarm_json(services(request).alarms.get(principal.tenant, alarmId), base_url(request))
    )


@router.put(
    "/alarms/{alarmId}", summary="Change an alarm's text, severity, status", openapi_extra=_BODY
)
async def update_alarm(
    alarmId: str, request: Request, principal: Principal = require(Role.ALARM_ADMIN)
) -> JSONResponse:
    body = await read_json(request)
    service = services(request).alarms
    alarm = await run_in_threadpool(service.update, principal.tenant, alarmId, body)
    return JSONResponse(alarm_json(alarm, base_url(request)))

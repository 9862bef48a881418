"""Cumulocity measurements (design §2.4): create, list, get and delete by id or filter, series."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from batchscore.api.c8y_render import (
    COLLECTION_TYPE,
    MEASUREMENT_TYPE,
    measurement_json,
    raw_measurement_json,
)
from batchscore.api.deps import read_json, require, services
from batchscore.api.inventory import base_url
from batchscore.api.paging import Paging, paging, streamed_envelope
from batchscore.api.params import id_param, instant_ns, strict_query
from batchscore.api.schemas import AuthErrorBody
from batchscore.domain.documents import valid_name
from batchscore.domain.filters import MeasurementFilter
from batchscore.domain.measurements import format_time
from batchscore.domain.roles import Principal, Role
from batchscore.errors import Invalid
from batchscore.service.measurement_series import Aggregation, parse_series_names

router = APIRouter(
    prefix="/measurement",
    tags=["measurement"],
    dependencies=[Depends(strict_query)],
    responses={code: {"model": AuthErrorBody} for code in (400, 401, 403, 404, 413, 422, 429)},
)

_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"type": "object", "additionalProperties": True}}
            for media in ("application/json", MEASUREMENT_TYPE, COLLECTION_TYPE)
        },
    }
}


def _name(text: str | None, name: str) -> str | None:
    if text is not None and not valid_name(text):
        raise Invalid(f"{name}: {text[:80]!r} is not a valid name.")
    return text


@router.post(
    "/measurements",
    status_code=201,
    summary="Create a measurement or a collection of measurements",
    openapi_extra=_BODY,
)
async def create_measurements(
    request: Request, principal: Principal = require(Role.MEASUREMENT_ADMIN)
) -> JSONResponse:
    body = await read_json(request)
    service = services(request).measurements
    stored, is_collection = await run_in_threadpool(service.create, principal.tenant, body)
    base = base_url(request)
    if is_collection:
        content: dict[str, Any] = {"measurements": [measurement_json(s, base) for s in stored]}
        return JSONResponse(content, status_code=201, media_type=COLLECTION_TYPE)
    return JSONResponse(
        measurement_json(stored[0], base),
        status_code=201,
        media_type=MEASUREMENT_TYPE,
        headers={"Location": f"{base}/measurement/measurements/{stored[0].id}"},
    )


@router.get("/measurements", summary="List measurements, paged")
def list_measurements(
    request: Request,
    source: str | None = Query(None, description="Managed object id."),
    dateFrom: str | None = Query(None, description="Inclusive: ISO-8601 with offset, or a date."),
    dateTo: str | None = Query(None, description="Exclusive: ISO-8601 with offset, or a date."),
    valueFragmentType: str | None = Query(None),
    valueFragmentSeries: str | None = Query(None),
    type: str | None = Query(None),
    revert: bool = Query(False, description="Newest first."),
    page: Paging = Depends(paging),
    principal: Principal = require(Role.MEASUREMENT_READ),
) -> Response:
    flt = MeasurementFilter(
        device_id=id_param(source, "source"),
        start_ns=instant_ns(dateFrom, "dateFrom"),
        end_ns=instant_ns(dateTo, "dateTo"),
        fragment=_name(valueFragmentType, "valueFragmentType"),
        series=_name(valueFragmentSeries, "valueFragmentSeries"),
        type=type,
    )
    service = services(request).measurements
    found = service.read_page(
        principal.tenant,
        flt,
        page_size=page.size,
        current_page=page.current,
        descending=revert,
        with_total=page.with_total,
    )
    base = base_url(request)
    batches = ([raw_measurement_json(item, base) for item in batch] for batch in found)
    return streamed_envelope(request, "measurements", batches, page, found)


@router.delete("/measurements", status_code=204, summary="Delete the measurements matching filters")
def delete_measurements(
    request: Request,
    source: str | None = Query(None),
    dateFrom: str | None = Query(None),
    dateTo: str | None = Query(None),
    type: str | None = Query(None),
    fragmentType: str | None = Query(None),
    principal: Principal = require(Role.MEASUREMENT_ADMIN),
) -> Response:
    flt = MeasurementFilter(
        device_id=id_param(source, "source"),
        start_ns=instant_ns(dateFrom, "dateFrom"),
        end_ns=instant_ns(dateTo, "dateTo"),
        fragment=_name(fragmentType, "fragmentType"),
        type=type,
    )
    services(request).measurements.delete_matching(principal.tenant, flt)
    return Response(status_code=204)


@router.get("/measurements/series", summary="Series of a source, per instant or aggregated")
def measurement_series(
    request: Request,
    source: str = Query(..., description="Managed object id."),
    series: list[str] = Query([], description="fragment.series, repeated or comma-separated."),
    dateFrom: str = Query(..., description="Inclusive: ISO-8601 with offset, or a date."),
    dateTo: str = Query(..., description="Exclusive: ISO-8601 with offset, or a date."),
    aggregationType: Aggregation | None = Query(None, description="MINUTELY, HOURLY or DAILY."),
    revert: bool = Query(False, description="Newest first."),
    principal: Principal = require(Role.MEASUREMENT_READ),
) -> JSONResponse:
    start, end = instant_ns(dateFrom, "dateFrom"), instant_ns(dateTo, "dateTo")
    assert start is not None
    assert end is not None
    result = services(request).series.series(
        principal.tenant,
        source,
        parse_series_names(series),
        start,
        end,
        aggregation=aggregationType,
        descending=revert,
    )
    values = {
        format_time(t): [
            None if p is None else {"min": p[0], "max": p[1]} for p in result.values[t]
        ]
        for t in result.times
    }
    described = [
        {"unit": s.unit or "", "name": s.series, "type": s.fragment} for s in result.series
    ]
    return JSONResponse({"values": values, "series": described, "truncated": result.truncated})


@router.get("/measurements/{measurementId}", summary="Get a measurement")
def get_measurement(
    measurementId: str, request: Request, principal: Principal = require(Role.MEASUREMENT_READ)
) -> JSONResponse:
    found = services(request).measurements.get(principal.tenant, measurementId)
    return JSONResponse(measurement_json(found, base_url(request)))


@router.delete("/measurements/{measurementId}", status_code=204, summary="Delete a measurement")
def delete_measurement(
    measurementId: str, request: Request, principal: Principal = require(Role.MEASUREMENT_ADMIN)
) -> Response:
    services(request).measurements.delete(principal.tenant, measurementId)
    return Response(status_code=204)

"""The Cumulocity measurement subset (design §2.4): post measurements, list them paged."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from batchscore.api.deps import read_json, require, services
from batchscore.api.links import public_base
from batchscore.api.paging import Paging, envelope, paging
from batchscore.api.schemas import AuthErrorBody
from batchscore.domain.measurements import format_time, to_ns, valid_name
from batchscore.domain.roles import Principal, Role
from batchscore.domain.timefmt import parse_instant
from batchscore.errors import Invalid
from batchscore.service.inventory import parse_object_id
from batchscore.service.measurements import StoredMeasurement
from batchscore.store.measurements import MeasurementFilter

router = APIRouter(
    prefix="/measurement",
    tags=["measurement"],
    responses={code: {"model": AuthErrorBody} for code in (400, 401, 403, 413, 422, 429)},
)

NS_MIN, NS_MAX = -(2**63), 2**63 - 1
MEASUREMENT_TYPE = "application/vnd.com.nsn.cumulocity.measurement+json"
COLLECTION_TYPE = "application/vnd.com.nsn.cumulocity.measurementcollection+json"

_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"type": "object", "additionalProperties": True}}
            for media in ("application/json", MEASUREMENT_TYPE, COLLECTION_TYPE)
        },
    }
}


def _base(request: Request) -> str:
    return public_base(request)


def measurement_json(item: StoredMeasurement, base: str) -> dict[str, Any]:
    """A stored measurement in Cumulocity's JSON."""
    out: dict[str, Any] = {
        "id": item.id,
        "self": f"{base}/measurement/measurements/{item.id}",
        "source": {
            "id": str(item.device_id),
            "self": f"{base}/inventory/managedObjects/{item.device_id}",
        },
        "time": format_time(item.time_ns),
    }
    if item.type is not None:
        out["type"] = item.type
    for v in item.values:
        entry: dict[str, Any] = {"value": v.value}
        if v.unit is not None:
            entry["unit"] = v.unit
        out.setdefault(v.fragment, {})[v.series] = entry
    return out


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
    base = _base(request)
    if is_collection:
        content: dict[str, Any] = {"measurements": [measurement_json(s, base) for s in stored]}
        return JSONResponse(content, status_code=201, media_type=COLLECTION_TYPE)
    return JSONResponse(
        measurement_json(stored[0], base), status_code=201, media_type=MEASUREMENT_TYPE
    )


def _instant_ns(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    try:
        time_ns = to_ns(parse_instant(text))
    except (ValueError, TypeError):
        raise Invalid(f"{name}: {text[:64]!r} is not ISO-8601 with a UTC offset.") from None
    # Stored times are 64-bit nanoseconds (years 1677-2262); a bound past them selects as
    # much as the extreme value does, and would overflow the database's integer.
    return min(max(time_ns, NS_MIN), NS_MAX)


def _name(text: str | None, name: str) -> str | None:
    if text is not None and not valid_name(text):
        raise Invalid(f"{name}: {text[:80]!r} is not a valid name.")
    return text


@router.get("/measurements", summary="List measurements, paged")
def list_measurements(
    request: Request,
    source: str | None = Query(None, description="Managed object id."),
    dateFrom: str | None = Query(None, description="Inclusive, ISO-8601 with offset."),
    dateTo: str | None = Query(None, description="Exclusive, ISO-8601 with offset."),
    valueFragmentType: str | None = Query(None),
    valueFragmentSeries: str | None = Query(None),
    type: str | None = Query(None),
    revert: bool = Query(False, description="Newest first."),
    page: Paging = Depends(paging),
    principal: Principal = require(Role.MEASUREMENT_READ),
) -> JSONResponse:
    device_id: int | None = None
    if source is not None:
        device_id = parse_object_id(source)
        if device_id is None:
            raise Invalid(f"source: {source[:40]!r} is not a managed object id.")
    flt = MeasurementFilter(
        device_id=device_id,
        start_ns=_instant_ns(dateFrom, "dateFrom"),
        end_ns=_instant_ns(dateTo, "dateTo"),
        fragment=_name(valueFragmentType, "valueFragmentType"),
        series=_name(valueFragmentSeries, "valueFragmentSeries"),
        type=type,
    )
    found = services(request).measurements.page(
        principal.tenant,
        flt,
        page_size=page.size,
        current_page=page.current,
        descending=revert,
        with_total=page.with_total,
    )
    base = _base(request)
    items = [measurement_json(s, base) for s in found.measurements]
    body = envelope(
        request, "measurements", items, page, has_more=found.has_more, total=found.total
    )
    return JSONResponse(body)

"""Cumulocity events (design §2.4): create, read, change, delete by id or filter."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from batchscore.api.c8y_render import event_json, raw_event_json
from batchscore.api.deps import read_json, require, services
from batchscore.api.inventory import base_url
from batchscore.api.paging import Paging, paging, streamed_envelope
from batchscore.api.params import instant, instant_ns, source_below, strict_query
from batchscore.api.schemas import AuthErrorBody
from batchscore.domain.filters import EventFilter
from batchscore.domain.roles import Principal, Role
from batchscore.errors import Invalid

router = APIRouter(
    prefix="/event",
    tags=["event"],
    dependencies=[Depends(strict_query)],
    responses={code: {"model": AuthErrorBody} for code in (400, 401, 403, 404, 413, 422, 429)},
)
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": True}}
        },
    }
}


def event_filter(
    source: str | None = Query(None, description="Managed object id."),
    type: str | None = Query(None),
    fragmentType: str | None = Query(None),
    fragmentValue: str | None = Query(None, description="With fragmentType: its text value."),
    dateFrom: str | None = Query(None, description="Event time, inclusive."),
    dateTo: str | None = Query(None, description="Event time, exclusive."),
    createdFrom: str | None = Query(None),
    createdTo: str | None = Query(None),
    lastUpdatedFrom: str | None = Query(None),
    lastUpdatedTo: str | None = Query(None),
    withSourceAssets: bool = Query(False, description="Also the events of objects below source."),
    withSourceDevices: bool = Query(False, description="Also the events of devices below source."),
) -> EventFilter:
    if fragmentValue is not None and fragmentType is None:
        raise Invalid("fragmentValue: needs fragmentType.")
    source_id, below = source_below(source, withSourceAssets, withSourceDevices)
    return EventFilter(
        source=source_id,
        below=below,
        types=(type,) if type is not None else None,
        start_ns=instant_ns(dateFrom, "dateFrom"),
        end_ns=instant_ns(dateTo, "dateTo"),
        created_from=instant(createdFrom, "createdFrom"),
        created_to=instant(createdTo, "createdTo"),
        updated_from=instant(lastUpdatedFrom, "lastUpdatedFrom"),
        updated_to=instant(lastUpdatedTo, "lastUpdatedTo"),
        fragment=fragmentType,
        fragment_value=fragmentValue,
    )


@router.post("/events", status_code=201, summary="Create an event", openapi_extra=_BODY)
async def create_event(
    request: Request, principal: Principal = require(Role.EVENT_ADMIN)
) -> JSONResponse:
    body = await read_json(request)
    event = await run_in_threadpool(services(request).events.create, principal.tenant, body)
    url = f"{base_url(request)}/event/events/{event.id}"
    return JSONResponse(
        event_json(event, base_url(request)), status_code=201, headers={"Location": url}
    )


@router.get("/events", summary="List events, newest first, paged")
def list_events(
    request: Request,
    flt: EventFilter = Depends(event_filter),
    revert: bool = Query(False, description="Oldest first."),
    page: Paging = Depends(paging),
    principal: Principal = require(Role.EVENT_READ),
) -> Response:
    service = services(request).events
    found = service.read_page(
        principal.tenant,
        flt,
        page_size=page.size,
        current_page=page.current,
        oldest_first=revert,
        with_total=page.with_total,
    )
    base = base_url(request)
    batches = (
        [raw_event_json(event, fragments, base) for event, fragments in batch] for batch in found
    )
    return streamed_envelope(request, "events", batches, page, found)


@router.delete("/events", status_code=204, summary="Delete every matching event")
def delete_events(
    request: Request,
    flt: EventFilter = Depends(event_filter),
    principal: Principal = require(Role.EVENT_ADMIN),
) -> Response:
    services(request).events.delete_matching(principal.tenant, flt)
    return Response(status_code=204)


@router.get("/events/{eventId}", summary="Get an event")
def get_event(
    eventId: str, request: Request, principal: Principal = require(Role.EVENT_READ)
) -> JSONResponse:
    return JSONResponse(
        event_json(services(request).events.get(principal.tenant, eventId), base_url(request))
    )


@router.put("/events/{eventId}", summary="Change an event's text or fragments", openapi_extra=_BODY)
async def update_event(
    eventId: str, request: Request, principal: Principal = require(Role.EVENT_ADMIN)
) -> JSONResponse:
    body = await read_json(request)
    service = services(request).events
    event = await run_in_threadpool(service.update, principal.tenant, eventId, body)
    return JSONResponse(event_json(event, base_url(request)))


@router.delete("/events/{eventId}", status_code=204, summary="Delete an event")
def delete_event(
    eventId: str, request: Request, principal: Principal = require(Role.EVENT_ADMIN)
) -> Response:
    services(request).events.delete(principal.tenant, eventId)
    return Response(status_code=204)

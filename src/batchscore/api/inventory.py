"""The Cumulocity inventory subset (design §2.4): devices, groups, child assets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from batchscore.api.deps import read_json, require, services
from batchscore.api.links import public_base
from batchscore.api.paging import Paging, envelope, paging
from batchscore.api.render import managed_object_json, reference_json
from batchscore.api.schemas import AuthErrorBody
from batchscore.domain.roles import Principal, Role
from batchscore.service.inventory_query import query_objects

router = APIRouter(
    prefix="/inventory",
    tags=["inventory"],
    responses={code: {"model": AuthErrorBody} for code in (400, 401, 403, 404, 409, 413, 422, 429)},
)

_OBJECT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "type": {"type": "string"},
                        "c8y_IsDevice": {"type": "object"},
                        "c8y_IsDeviceGroup": {"type": "object"},
                    },
                    "additionalProperties": True,
                }
            }
        },
    }
}
_REFERENCE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "managedObject": {
                            "type": "object",
                            "properties": {"id": {"type": "string"}},
                            "required": ["id"],
                        }
                    },
                    "required": ["managedObject"],
                }
            }
        },
    }
}


def _base(request: Request) -> str:
    return public_base(request)


@router.post(
    "/managedObjects",
    status_code=201,
    summary="Create a device or group",
    openapi_extra=_OBJECT_BODY,
)
async def create_object(
    request: Request, principal: Principal = require(Role.INVENTORY_ADMIN)
) -> JSONResponse:
    body = await read_json(request)
    obj = await run_in_threadpool(services(request).inventory.create, principal.tenant, body)
    return JSONResponse(managed_object_json(obj, _base(request), []), status_code=201)


@router.get("/managedObjects", summary="List managed objects by an inventory query")
def list_objects(
    request: Request,
    query: str | None = Query(
        None,
        description="Cumulocity syntax: $filter=has(c8y_IsDevice), has(c8y_IsDeviceGroup), "
        "bygroupid(<id>), joined with 'and'; the $filter= prefix is optional.",
    ),
    page: Paging = Depends(paging),
    principal: Principal = require(Role.INVENTORY_READ),
) -> JSONResponse:
    found = query_objects(
        services(request).db,
        principal.tenant,
        query,
        offset=page.offset,
        limit=page.size,
        with_total=page.with_total,
    )
    base = _base(request)
    items = [managed_object_json(obj, base) for obj in found.objects]
    body = envelope(
        request, "managedObjects", items, page, has_more=found.has_more, total=found.total
    )
    return JSONResponse(body)


@router.get("/managedObjects/{objectId}", summary="Get a managed object")
def get_object(
    objectId: str,
    request: Request,
    principal: Principal = require(Role.INVENTORY_READ),
) -> JSONResponse:
    inventory = services(request).inventory
    obj = inventory.get(principal.tenant, objectId)
    children = inventory.children(principal.tenant, obj.id)
    return JSONResponse(managed_object_json(obj, _base(request), children))


@router.get("/managedObjects/{objectId}/childAssets", summary="Child assets of an object")
def get_children(
    objectId: str,
    request: Request,
    principal: Principal = require(Role.INVENTORY_READ),
) -> JSONResponse:
    base = _base(request)
    children = services(request).inventory.children(principal.tenant, objectId)
    return JSONResponse(
        {
            "self": f"{base}/inventory/managedObjects/{objectId}/childAssets",
            "references": [reference_json(c, base) for c in children],
            "statistics": {"pageSize": max(len(children), 5), "currentPage": 1},
        }
    )


@router.post(
    "/managedObjects/{objectId}/childAssets",
    status_code=201,
    summary="Add a child asset",
    openapi_extra=_REFERENCE_BODY,
)
async def add_child(
    objectId: str,
    request: Request,
    principal: Principal = require(Role.INVENTORY_ADMIN),
) -> JSONResponse:
    body = await read_json(request)
    inventory = services(request).inventory
    child = await run_in_threadpool(inventory.add_child, principal.tenant, objectId, body)
    return JSONResponse(reference_json(child, _base(request)), status_code=201)


@router.delete(
    "/managedObjects/{objectId}/childAssets/{childId}",
    status_code=204,
    summary="Remove a child asset",
)
def remove_child(
    objectId: str,
    childId: str,
    request: Request,
    principal: Principal = require(Role.INVENTORY_ADMIN),
) -> Response:
    services(request).inventory.remove_child(principal.tenant, objectId, childId)
    return Response(status_code=204)

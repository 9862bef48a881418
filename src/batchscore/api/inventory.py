"""The Cumulocity inventory (design §2.4): managed objects, their child assets and child devices,
and the measurements they support."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from batchscore.api.c8y_render import managed_object_json, object_batch, reference_json
from batchscore.api.deps import read_json, require, services
from batchscore.api.links import public_base
from batchscore.api.paging import Paging, envelope, paging, streamed_envelope
from batchscore.api.params import strict_query
from batchscore.api.schemas import AuthErrorBody
from batchscore.domain.inventory import Hierarchy, ManagedObject
from batchscore.domain.roles import Principal, Role
from batchscore.service.inventory_query import ObjectQuery, Shown, terms_of

router = APIRouter(
    prefix="/inventory",
    tags=["inventory"],
    dependencies=[Depends(strict_query)],
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
HIERARCHIES = {"childAssets": Hierarchy.ASSET, "childDevices": Hierarchy.DEVICE}


def base_url(request: Request) -> str:
    return public_base(request)


def shown(
    withChildren: bool = Query(True, description="Child references with ids and names."),
    withChildrenCount: bool = Query(False, description="A count in each child collection."),
    skipChildrenNames: bool = Query(False),
    withParents: bool = Query(
        False, description="Parent references (assetParents, deviceParents)."
    ),
) -> Shown:
    return Shown(withChildren, withChildrenCount, withParents, skip_names=skipChildrenNames)


def _render_one(
    request: Request, principal: Principal, obj: ManagedObject, show: Shown
) -> Response:
    objects = services(request).objects
    batch = objects.batch(principal.tenant, [obj.id], show)
    if not batch.objects:  # deleted meanwhile
        return JSONResponse(managed_object_json(obj, base_url(request), shown=show))
    body = object_batch(batch, base_url(request), show)[0]
    return Response(body, media_type="application/json")


@router.post(
    "/managedObjects",
    status_code=201,
    summary="Create a managed object (device, group, any asset)",
    openapi_extra=_OBJECT_BODY,
)
async def create_object(
    request: Request, principal: Principal = require(Role.INVENTORY_ADMIN)
) -> JSONResponse:
    body = await read_json(request)
    inventory = services(request).inventory
    obj = await run_in_threadpool(inventory.create, principal.tenant, body, principal.user)
    url = f"{base_url(request)}/inventory/managedObjects/{obj.id}"
    return JSONResponse(
        managed_object_json(obj, base_url(request)), status_code=201, headers={"Location": url}
    )


@router.get("/managedObjects", summary="List managed objects, filtered and paged")
def list_objects(
    request: Request,
    query: str | None = Query(
        None,
        description="Inventory query language: $filter=(has(...), bygroupid(...), "
        "<field> eq|ne|gt|lt|ge|le <value>, and, or, not) $orderby=<field> [asc|desc].",
    ),
    q: str | None = Query(None, description="As query, restricted to devices."),
    fragmentType: str | None = Query(None),
    type: str | None = Query(None),
    owner: str | None = Query(None),
    text: str | None = Query(None, description="Any property equal to this text."),
    ids: str | None = Query(None, description="Comma-separated ids."),
    onlyRoots: bool = Query(False, description="Only objects without a parent."),
    childAssetId: str | None = Query(None, description="Objects with this child asset."),
    childDeviceId: str | None = Query(None, description="Objects with this child device."),
    withGroups: bool = Query(False, description="The groups an object belongs to (assetParents)."),
    show: Shown = Depends(shown),
    page: Paging = Depends(paging),
    principal: Principal = require(Role.INVENTORY_READ),
) -> Response:
    spec = ObjectQuery(
        query, q, fragmentType, type, owner, text, ids, onlyRoots, childAssetId, childDeviceId
    )
    terms, order = terms_of(spec)
    if withGroups:
        show = Shown(show.children, show.counts, show.parents, True, show.skip_names)
    objects = services(request).objects
    found = objects.read_page(
        principal.tenant,
        terms,
        order,
        show,
        offset=page.offset,
        limit=page.size,
        with_total=page.with_total,
    )
    base = base_url(request)
    batches = (object_batch(batch, base, show) for batch in found)
    return streamed_envelope(request, "managedObjects", batches, page, found)


@router.get("/managedObjects/{objectId}", summary="Get a managed object")
def get_object(
    objectId: str,
    request: Request,
    show: Shown = Depends(shown),
    principal: Principal = require(Role.INVENTORY_READ),
) -> Response:
    obj = services(request).inventory.get(principal.tenant, objectId)
    return _render_one(request, principal, obj, show)


@router.put(
    "/managedObjects/{objectId}",
    summary="Update a managed object (fragments merged; null removes one)",
    openapi_extra=_OBJECT_BODY,
)
async def update_object(
    objectId: str, request: Request, principal: Principal = require(Role.INVENTORY_ADMIN)
) -> Response:
    body = await read_json(request)
    inventory = services(request).inventory
    obj = await run_in_threadpool(inventory.update, principal.tenant, objectId, body)
    return await run_in_threadpool(_render_one, request, principal, obj, Shown())


@router.delete(
    "/managedObjects/{objectId}", status_code=204, summary="Delete a managed object and its data"
)
def delete_object(
    objectId: str,
    request: Request,
    cascade: bool = Query(False, description="Also delete everything below it."),
    forceCascade: bool = Query(False, description="As cascade, whatever the object's type."),
    withDeviceUser: bool = Query(
        False, description="Accepted for Cumulocity clients; batchscore has no device users."
    ),
    principal: Principal = require(Role.INVENTORY_ADMIN),
) -> Response:
    services(request).inventory.delete(principal.tenant, objectId, cascade=cascade or forceCascade)
    return Response(status_code=204)


for _collection, _kind in HIERARCHIES.items():

    def _routes(collection: str, kind: Hierarchy) -> None:
        path = f"/managedObjects/{{objectId}}/{collection}"

        @router.get(
            path, summary=f"{collection} of a managed object, paged", name=f"list_{collection}"
        )
        def list_children(
            objectId: str,
            request: Request,
            query: str | None = Query(None, description="Filters the children (query language)."),
            page: Paging = Depends(paging),
            principal: Principal = require(Role.INVENTORY_READ),
        ) -> JSONResponse:
            svc = services(request)
            parent = svc.inventory.get(principal.tenant, objectId)
            terms, _ = terms_of(ObjectQuery(query=query))
            refs, has_more, total = svc.objects.children(
                principal.tenant,
                parent.id,
                kind,
                terms,
                offset=page.offset,
                limit=page.size,
                with_total=page.with_total,
            )
            base = base_url(request)
            collection_url = f"{base}/inventory/managedObjects/{parent.id}/{collection}"
            items = [reference_json(r, base, collection_url) for r in refs]
            return JSONResponse(
                envelope(request, "references", items, page, has_more=has_more, total=total)
            )

        @router.post(
            path,
            status_code=201,
            summary=f"Assign {collection} (one reference, or references in bulk)",
            openapi_extra=_REFERENCE_BODY,
            name=f"add_{collection}",
        )
        async def add_children(
            objectId: str, request: Request, principal: Principal = require(Role.INVENTORY_ADMIN)
        ) -> JSONResponse:
            body = await read_json(request)
            inventory = services(request).inventory
            added = await run_in_threadpool(
                inventory.add_children, principal.tenant, objectId, body, kind
            )
            base = base_url(request)
            url = f"{base}/inventory/managedObjects/{objectId}/{collection}"
            if isinstance(body, dict) and "references" in body:
                items = [reference_json(r, base, url) for r in added]
                return JSONResponse({"self": url, "references": items}, status_code=201)
            return JSONResponse(reference_json(added[0], base, url), status_code=201)

        @router.delete(
            f"{path}/{{childId}}",
            status_code=204,
            summary=f"Unassign one of the {collection}",
            name=f"remove_{collection}",
        )
        def remove_child(
            objectId: str,
            childId: str,
            request: Request,
            principal: Principal = require(Role.INVENTORY_ADMIN),
        ) -> Response:
            services(request).inventory.remove_child(principal.tenant, objectId, childId, kind)
            return Response(status_code=204)

        @router.delete(
            path,
            status_code=204,
            summary=f'Unassign {collection} in bulk ({{"references": [...]}})',
            name=f"remove_many_{collection}",
        )
        async def remove_children(
            objectId: str, request: Request, principal: Principal = require(Role.INVENTORY_ADMIN)
        ) -> Response:
            body = await read_json(request)
            inventory = services(request).inventory
            await run_in_threadpool(
                inventory.remove_children, principal.tenant, objectId, body, kind
            )
            return Response(status_code=204)

    _routes(_collection, _kind)


@router.get(
    "/managedObjects/{objectId}/supportedMeasurements",
    summary="The measurement fragments a source has series of",
)
def supported_measurements(
    objectId: str, request: Request, principal: Principal = require(Role.INVENTORY_READ)
) -> JSONResponse:
    pairs = services(request).measurements.supported(principal.tenant, objectId)
    fragments = list(dict.fromkeys(f for f, _ in pairs))
    return JSONResponse({"c8y_SupportedMeasurements": fragments})


@router.get(
    "/managedObjects/{objectId}/supportedSeries", summary="The series (fragment.series) of a source"
)
def supported_series(
    objectId: str, request: Request, principal: Principal = require(Role.INVENTORY_READ)
) -> JSONResponse:
    pairs = services(request).measurements.supported(principal.tenant, objectId)
    return JSONResponse({"c8y_SupportedSeries": [f"{f}.{s}" for f, s in pairs]})

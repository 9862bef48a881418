"""Console page of devices: groups with their members, and each device's latest values."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from batchscore.domain.inventory import ManagedObject
from batchscore.service.inventory_query import query_objects
from batchscore.store import inventory as inventory_repo
from batchscore.web.console import ConsoleRoute, ConsoleUser, CurrentUser, page
from batchscore.web.deps import services
from batchscore.web.queries import LatestValue, latest_values

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

MAX_OBJECTS = 500


@dataclass(frozen=True, slots=True)
class GroupView:
    group: ManagedObject
    members: list[ManagedObject]


@dataclass(frozen=True, slots=True)
class DeviceView:
    device: ManagedObject
    latest: list[LatestValue]


@router.get("/devices")
def devices_page(request: Request, user: ConsoleUser = CurrentUser) -> HTMLResponse:
    svc = services(request)
    tenant = user.principal.tenant
    groups = query_objects(
        svc.db,
        tenant,
        "$filter=has(c8y_IsDeviceGroup)",
        offset=0,
        limit=MAX_OBJECTS,
        with_total=False,
    )
    devices = query_objects(
        svc.db, tenant, "$filter=has(c8y_IsDevice)", offset=0, limit=MAX_OBJECTS, with_total=False
    )
    with svc.db.read() as conn:
        children = inventory_repo.children_of(conn, tenant, [g.id for g in groups.objects])
        members = inventory_repo.get_objects(
            conn, tenant, sorted({c for cs in children.values() for c in cs})
        )
        views = [DeviceView(d, latest_values(conn, tenant, d.id)) for d in devices.objects]
    group_views = [
        GroupView(g, [members[c] for c in children.get(g.id, []) if c in members])
        for g in groups.objects
    ]
    return page(
        request,
        "devices.html",
        user,
        groups=group_views,
        devices=views,
        more=groups.has_more or devices.has_more,
        source=svc.settings.source,
    )

"""Console page of devices: groups with their members, and each device's latest values."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from batchscore.domain.inventory import ManagedObject
from batchscore.service.console_queries import LatestValue, device_overview
from batchscore.service.inventory_query import query_objects
from batchscore.web.console import ConsoleRoute, ConsoleUser, CurrentUser, page
from batchscore.web.deps import services

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
    overview = device_overview(
        svc.db, tenant, [g.id for g in groups.objects], [d.id for d in devices.objects]
    )
    views = [DeviceView(d, overview.latest[d.id]) for d in devices.objects]
    group_views = [GroupView(g, overview.members[g.id]) for g in groups.objects]
    return page(
        request,
        "devices.html",
        user,
        groups=group_views,
        devices=views,
        more=groups.has_more or devices.has_more,
        source=svc.settings.source,
    )

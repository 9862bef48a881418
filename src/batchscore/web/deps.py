"""What console pages take from a request: the services and the viewer's time zone."""

from __future__ import annotations

from fastapi import Request

from batchscore.scheduling.schedules import zone_or_none
from batchscore.service.container import Services

ZONE_COOKIE = "batchscore_tz"


def services(request: Request) -> Services:
    """The services the app was built with."""
    svc: Services = request.app.state.services
    return svc


def viewer_zone(request: Request) -> str:
    """The IANA zone of the viewer's browser (the console's script keeps it in a cookie), UTC
    until the browser has told it."""
    name = request.cookies.get(ZONE_COOKIE, "")[:64]
    return name if zone_or_none(name) is not None else "UTC"

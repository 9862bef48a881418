"""What console pages take from a request: the services and the viewer's time zone."""

from __future__ import annotations

from fastapi import Request

from batchscore.http.requests import services
from batchscore.scheduling.schedules import zone_or_none

__all__ = ["ZONE_COOKIE", "services", "viewer_zone"]

ZONE_COOKIE = "batchscore_tz"


def viewer_zone(request: Request) -> str:
    """The IANA zone of the viewer's browser (the console's script keeps it in a cookie), UTC
    until the browser has told it."""
    name = request.cookies.get(ZONE_COOKIE, "")[:64]
    return name if zone_or_none(name) is not None else "UTC"

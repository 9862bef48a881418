"""Schedule preview: the next fire times of a cron expression in a zone (design §2.2)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from batchscore.api.deps import READ, require, services
from batchscore.api.schemas import ZEMENTIS_ERRORS
from batchscore.domain.roles import Principal
from batchscore.scheduling.preview import preview_fire_times

router = APIRouter(prefix="/service/zementis", tags=["schedule"], responses=ZEMENTIS_ERRORS)


@router.get(
    "/schedule/preview",
    response_model=list[str],
    summary="Next fire times of a Quartz cron expression in an IANA zone",
)
def preview(
    request: Request,
    principal: Principal = require(READ),
    cronExpression: str = Query(..., max_length=1024),
    timeZone: str = Query("UTC", max_length=64),
    from_: str | None = Query(None, alias="from", description="ISO-8601 instant; default now."),
    count: int = Query(5, ge=1, le=1000),
    dstPolicy: str = Query("fireAfterGap", description="fireAfterGap or quartz."),
) -> JSONResponse:
    now: datetime = services(request).clock.now()
    times = preview_fire_times(cronExpression, timeZone, from_, count, dstPolicy, now)
    return JSONResponse(times)

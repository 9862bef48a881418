"""``GET /service/zementis/job/{id}/history/{n}/actions``: each effect of an execution's actions
with its delivery status (design §2.9). Webhook secrets and payloads are never shown."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from batchscore.api.deps import READ, require, services
from batchscore.api.schemas import ZEMENTIS_ERRORS
from batchscore.domain.roles import Principal
from batchscore.domain.timefmt import format_instant
from batchscore.service.actions import StoredEffect

router = APIRouter(prefix="/service/zementis", tags=["jobs"], responses=ZEMENTIS_ERRORS)


class EffectOut(BaseModel):
    deviceId: int
    rule: str
    target: int
    kind: Literal["alarm", "clear", "event", "webhook", "measurements"]
    delivery: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    lastError: str | None
    createdAt: str
    deliveredAt: str | None
    description: str


def effect_json(effect: StoredEffect) -> dict[str, Any]:
    return {
        "deviceId": effect.device,
        "rule": effect.rule,
        "target": effect.target,
        "kind": effect.kind,
        "delivery": effect.key,
        "status": effect.status.value,
        "attempts": effect.attempts,
        "lastError": effect.last_error,
        "createdAt": format_instant(effect.created_at),
        "deliveredAt": format_instant(effect.delivered_at) if effect.delivered_at else None,
        "description": describe(effect),
    }


def describe(effect: StoredEffect) -> str:
    """What the effect does, in a few words (never the webhook's secret)."""
    payload = effect.payload
    if effect.kind == "webhook":
        return f"POST {payload.get('url')}"
    if effect.kind == "measurements":
        start, end = payload.get("rows", (0, 0))
        return f"{end - start} records into {payload.get('fragment')}"
    if effect.kind == "clear":
        return f"clear {payload.get('type')}"
    return f"{effect.kind} {payload.get('type')}"


@router.get(
    "/job/{jobId}/history/{executionId}/actions",
    response_model=list[EffectOut],
    summary="Effects of an execution's actions and their delivery",
)
def job_actions(
    jobId: str, executionId: str, request: Request, principal: Principal = require(READ)
) -> JSONResponse:
    effects = services(request).actions.effects(principal.tenant, jobId, executionId)
    return JSONResponse([effect_json(e) for e in effects])

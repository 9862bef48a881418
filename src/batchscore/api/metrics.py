"""``GET /metrics``: the process's Prometheus metrics (``batchscore.metrics``), for an admin
login or the ``BATCHSCORE_METRICS_TOKEN`` bearer token."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from batchscore import metrics
from batchscore.api.deps import services
from batchscore.api.schemas import AuthErrorBody
from batchscore.domain.roles import Role
from batchscore.errors import Forbidden

router = APIRouter(
    tags=["operations"],
    responses={code: {"model": AuthErrorBody} for code in (401, 403, 429, 503)},
)


@router.get(
    "/metrics",
    summary="Prometheus metrics (admin login or BATCHSCORE_METRICS_TOKEN bearer)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def prometheus_metrics(request: Request) -> Response:
    svc = services(request)
    header = request.headers.get("authorization") or ""
    token = svc.settings.metrics_token
    scheme, _, credentials = header.partition(" ")
    expected = token.get_secret_value().encode() if token is not None else None
    bearer = scheme.lower() == "bearer" and expected is not None
    if not (bearer and hmac.compare_digest(credentials.encode(), expected or b"")):
        principal = svc.auth.cached(header)
        if principal is None:
            address = request.client.host if request.client else "-"
            principal = await run_in_threadpool(svc.auth.authenticate, header, address)
        if not principal.has(Role.ML_ADMIN):
            raise Forbidden(f"Access is denied: the role {Role.ML_ADMIN.value} is required.")
    body, content_type = await run_in_threadpool(metrics.exposition)
    return Response(body, media_type=content_type)

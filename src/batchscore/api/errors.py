"""Maps the exception hierarchy to HTTP answers, in one place, in the shapes of design §2.2.

Zementis routes answer ``{"errors": [...]}``; Cumulocity-style routes (inventory, measurements,
alarms, events)
and authentication failures answer ``{"error", "message", "info"}``. Nothing answers FastAPI's
default ``{"detail": ...}`` and no internal detail reaches a client.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from batchscore.errors import (
    BatchscoreError,
    Forbidden,
    Invalid,
    MalformedRequest,
    NotFound,
    RateLimited,
    Unauthorized,
)
from batchscore.http.status import status_of

log = logging.getLogger(__name__)

INFO_URL = "https://www.cumulocity.com/guides/reference-guide/#error_reporting"
CUMULOCITY_PREFIXES = {
    "/inventory": "inventory",
    "/measurement": "measurement",
    "/alarm": "alarm",
    "/event": "event",
}


def cumulocity_area(path: str) -> str | None:
    for prefix, area in CUMULOCITY_PREFIXES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return area
    return None


def error_response(request: Request, exc: BatchscoreError) -> JSONResponse:
    status = status_of(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Basic realm="batchscore"'
        body: object = {"error": "general/internalError", "message": "Not authorized!"}
    elif isinstance(exc, Forbidden | RateLimited):
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        kind = "Forbidden" if isinstance(exc, Forbidden) else "TooManyRequests"
        body = {"error": f"security/{kind}", "message": str(exc)}
    elif (area := cumulocity_area(request.url.path)) is not None:
        if isinstance(exc, Invalid) and not isinstance(exc, MalformedRequest):
            status = 422
        body = {"error": f"{area}/{_reason(status)}", "message": str(exc)}
    else:
        return JSONResponse({"errors": list(exc.messages)}, status_code=status, headers=headers)
    assert isinstance(body, dict)
    body["info"] = INFO_URL
    return JSONResponse(body, status_code=status, headers=headers)


def _reason(status: int) -> str:
    return {
        400: "badRequest",
        404: "Not Found",
        409: "conflict",
        413: "payloadTooLarge",
        422: "validationError",
        503: "serviceUnavailable",
        507: "insufficientStorage",
    }.get(status, "internalError")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BatchscoreError)
    async def _known(request: Request, exc: BatchscoreError) -> JSONResponse:
        if status_of(exc) >= 500:
            log.warning("request failed: %s", exc)
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        messages = []
        for err in exc.errors()[:20]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
            messages.append(f"{where or 'request'}: {err.get('msg', 'invalid value')}.")
        return error_response(request, Invalid.collect(messages or ["The request is invalid."]))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            err: BatchscoreError = NotFound(f"No resource at {request.url.path[:200]}.")
        elif exc.status_code == 405:
            err = Invalid(f"Method {request.method} is not allowed here.")
            response = error_response(request, err)
            response.status_code = 405
            return response
        else:
            err = Invalid(str(exc.detail))
        response = error_response(request, err)
        response.status_code = exc.status_code
        return response


def internal_error(request_id: str) -> JSONResponse:
    """The answer to an internal fault: a 500 in the 400 shape, with the request id that finds
    its log line, and nothing of the fault itself."""
    return JSONResponse(
        {"errors": [f"Internal error; the request id is {request_id}."]}, status_code=500
    )

"""ASGI middleware: a request id on every request, its log lines and its response."""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from batchscore.logs import request_id_var

log = logging.getLogger("batchscore.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Request ids only need to be unique: a random prefix per process and a counter (16 hex digits),
# which costs a fraction of a uuid4 per request.
_ID_PREFIX = secrets.token_hex(4)
_ID_COUNTER = itertools.count(1)


def _new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER) & 0xFFFFFFFF:08x}"


class RequestIdMiddleware:
    """Takes a well-formed ``X-Request-ID`` from the client or makes one; logs one access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        text = incoming.decode("latin-1")
        request_id = text if _SAFE_ID.match(text) else _new_request_id()
        request_id_var.set(request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={"durationMs": round((time.perf_counter() - started) * 1000, 2)},
                )


_CUMULOCITY_AREAS = ("/inventory/", "/measurement/", "/alarm/", "/event/")
_SLASHES = re.compile(r"/{2,}")


class CumulocityPathMiddleware:
    """Cumulocity's routes take a path with a trailing or doubled slash as the plain one; c8y-api
    sends both (``/alarm/alarms/`` for a new alarm, ``/alarm/alarms//<id>`` to change one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(_CUMULOCITY_AREAS) and ("//" in path or path.endswith("/")):
                clean = _SLASHES.sub("/", path).rstrip("/") or "/"
                scope = {**scope, "path": clean, "raw_path": clean.encode()}
        await self.app(scope, receive, send)

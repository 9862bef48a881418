"""ASGI middleware: a request id on every request, its log lines and its response; internal
errors answered here, so that no exception reaches the server; the request's latency by route
template for ``/metrics``.

An exception that escaped to uvicorn would make it close the connection even after the 500 was
sent, and the client's next request on that keep-alive connection would meet a reset. So the
500 is answered and the exception ends here; only a response that was started and cannot be
finished still closes the connection (the client must not take half an answer for a whole one).
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from batchscore import metrics
from batchscore.api.errors import internal_error
from batchscore.logs import request_id_var

log = logging.getLogger("batchscore.access")
errors_log = logging.getLogger(__name__)
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
        complete = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, complete
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                message["headers"] = headers
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                complete = True
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            errors_log.exception("internal error on %s %s", scope["method"], scope["path"])
            if status and not complete:
                raise  # half an answer was sent: only closing the connection can say so
            if not status:
                await internal_error(request_id)(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            # The route's template (/job/{jobId}), never the raw path: bounded label values.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            metrics.HTTP_LATENCY.labels(scope["method"], route, str(status)).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={"durationMs": round(elapsed * 1000, 2)},
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

"""Early answers that clients can read: drain the unread request body, or close.

Python's urllib and requests (and most simple clients) send the whole request body before they
read the answer. When the service answers early (a 413 for a body over the limit, a 401 or 404
before the body was needed) and the connection is then closed with body bytes still unread,
the kernel resets the connection and the client sees ``BrokenPipeError`` or a reset instead of
the answer. So, before such an answer ends, the rest of the body is read and dropped, at most
``DRAIN_BYTES`` within ``DRAIN_SECONDS``; the connection then stays open for the next request.
A body known to be larger than that, a chunked body (size unknown) and a body the client only
sends once asked (``Expect: 100-continue``) get ``Connection: close`` instead, so the service
never reads more than the drain allows.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 30.0


@dataclass
class _Body:
    declared: int | None  # Content-Length, None for a chunked body
    expect_continue: bool
    received: int = 0
    asked: bool = False  # the application (or the drain) has called receive()
    done: bool = False  # the whole body arrived, or the client went away

    def must_close(self) -> bool:
        if self.expect_continue and not self.asked:
            return True  # the client has not sent the body: asking for it only to drop it wastes
        if self.declared is None:
            return True
        return self.declared - self.received > DRAIN_BYTES

    def may_drain(self) -> bool:
        if self.expect_continue and not self.asked:
            return False
        return self.declared is None or self.declared - self.received <= DRAIN_BYTES


class BodyDrainMiddleware:
    """Reads and drops what is left of the request body before an answer ends (see module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = _expected_body(scope)
        if body is None:
            await self.app(scope, receive, send)
            return

        async def counted_receive() -> Message:
            body.asked = True
            message = await receive()
            if message["type"] == "http.request":
                body.received += len(message.get("body", b""))
                body.done = not message.get("more_body", False)
            else:
                body.done = True  # http.disconnect
            return message

        async def draining_send(message: Message) -> None:
            if body.done:
                await send(message)
                return
            if message["type"] == "http.response.start" and body.must_close():
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            elif (
                message["type"] == "http.response.body"
                and not message.get("more_body", False)
                and body.may_drain()
            ):
                if message.get("body"):
                    await send({**message, "more_body": True})
                    message = {"type": "http.response.body", "body": b"", "more_body": False}
                await _drain(counted_receive, body)
            await send(message)

        await self.app(scope, counted_receive, draining_send)


async def _drain(receive: Receive, body: _Body) -> None:
    start = body.received
    with anyio.move_on_after(DRAIN_SECONDS):
        while not body.done and body.received - start <= DRAIN_BYTES:
            await receive()


def _expected_body(scope: Scope) -> _Body | None:
    """What the request announces of its body; None for a request without one."""
    if scope["type"] != "http":
        return None
    declared: int | None = 0
    chunked = expect_continue = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            declared = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"expect":
            expect_continue = value.lower() == b"100-continue"
    if chunked:
        declared = None
    elif not declared:
        return None
    return _Body(declared, expect_continue)

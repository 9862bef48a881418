"""Request-scoped helpers: the services, the authenticated principal, bounded body reading."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from batchscore.domain.documents import non_finite_path
from batchscore.domain.roles import Principal, Role
from batchscore.errors import Forbidden, Invalid, MalformedRequest, PayloadTooLarge
from batchscore.http.requests import services

__all__ = ["ADMIN", "READ", "read_body", "read_json", "require", "services"]


def require(role: Role) -> Any:
    """A dependency that authenticates the request and demands ``role``."""

    async def dependency(request: Request) -> Principal:
        svc = services(request)
        header = request.headers.get("authorization")
        # A login verified within the last minute is answered here, without a worker thread.
        principal = svc.auth.cached(header)
        if principal is None:
            address = request.client.host if request.client else "-"
            principal = await run_in_threadpool(svc.auth.authenticate, header, address)
        if not principal.has(role):
            raise Forbidden(f"Access is denied: the role {role.value} is required.")
        return principal

    return Depends(dependency)


READ = Role.ML_READ
ADMIN = Role.ML_ADMIN


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise MalformedRequest("The Content-Length header is invalid.")
        if int(declared) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # lets request.form() parse what was read here
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def read_json(request: Request) -> Any:
    """The request body as JSON, within the configured size; malformed JSON is a 400."""
    svc = services(request)
    body = await read_body(request, svc.settings.max_body_bytes)
    if not body.strip():
        raise MalformedRequest("The request body is empty; a JSON document is required.")
    overflowed = False

    def parse_float(text: str) -> float:
        nonlocal overflowed
        value = float(text)
        overflowed = overflowed or not math.isfinite(value)
        return value

    try:
        document = json.loads(body, parse_constant=_reject_constant, parse_float=parse_float)
    except RecursionError:
        raise MalformedRequest("The JSON document is nested too deeply.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(f"Malformed JSON: {str(exc)[:200]}.") from None
    if overflowed:
        # 1e400 is valid JSON but no finite double: refused as NaN and Infinity are, never
        # stored (where it would make every later answer that holds it fail).
        raise Invalid(f"{non_finite_path(document) or 'value'}: must be a finite number.")
    if b"\\u" in body:
        # PostgreSQL cannot store U+0000 in text, and a lone surrogate (\ud800) is not valid
        # UTF-8 at all; refuse both for every backend alike.
        found = _unstorable(document)
        if found == "\x00":
            raise MalformedRequest(
                "Text in the request must not contain the NUL character (U+0000)."
            )
        if found is not None:
            raise MalformedRequest("Text in the request must not contain unpaired surrogates.")
    return document


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(document: Any) -> str | None:
    """The first character in ``document``'s text that no backend can store, if any."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if match := _UNSTORABLE.search(item):
                return match.group()
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None

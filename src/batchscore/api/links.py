"""The base URL of links in answers (``self`` and friends), never taken from the ``Host`` header.

A link built from ``Host`` repeats whatever the client claimed (``Host: evil.example``), which
poisons shared caches and hands other clients links to a host of the attacker's choosing. Links
are built from ``BATCHSCORE_PUBLIC_URL`` when it is set (the name clients use, e.g. behind a
reverse proxy), else from the address the connection was accepted on.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from batchscore.api.deps import services

DEFAULT_PORTS = {"http": 80, "https": 443}


def public_base(request: Request) -> str:
    """``scheme://host[:port]`` (no trailing slash) for links in the answer to ``request``."""
    configured = services(request).settings.public_url
    if configured:
        return configured
    scheme = request.url.scheme
    server = request.scope.get("server")
    if not server:
        return f"{scheme}://localhost"
    host, port = str(server[0]), server[1]
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    if port is None or DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def link_to(request: Request, **query: Any) -> str:
    """The request's own path and query under :func:`public_base`, with ``query`` replaced."""
    url = request.url.include_query_params(**query) if query else request.url
    target = url.path + (f"?{url.query}" if url.query else "")
    return public_base(request) + target

"""uvicorn's options that decide what a request may claim about itself.

uvicorn believes ``X-Forwarded-For`` and ``X-Forwarded-Proto`` from 127.0.0.1 unless told
otherwise; a client on the same machine (or anything behind a local proxy that passes the
header on) could then claim any address, and the failed-login limiter, which counts per
address, would count nothing. So proxy headers are off unless ``BATCHSCORE_TRUSTED_PROXIES``
names the proxies that set them.
"""

from __future__ import annotations

from typing import Any

from batchscore.settings import Settings


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` that every ``serve`` process uses."""
    proxies = settings.trusted_proxy_list()
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies}

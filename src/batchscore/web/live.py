"""Parts of pages that refresh themselves: rendered like pages, fingerprinted, and answered
with 204 No Content (htmx then leaves the page alone) while the part is unchanged."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from batchscore.web.console import ConsoleUser
from batchscore.web.deps import viewer_zone
from batchscore.web.templating import render_page


def render_part(request: Request, user: ConsoleUser, template: str, **context: Any) -> str:
    """A template rendered with the context :func:`batchscore.web.console.page` gives pages."""
    return render_page(
        template,
        {
            "user": user,
            "csrf_token": user.session.csrf,
            "path": request.url.path,
            "viewer_zone": viewer_zone(request),
            **context,
        },
    )


def fingerprint(*parts: str) -> str:
    """A short digest of what a live part shows."""
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        digest.update(part.encode())
    return digest.hexdigest()


def unchanged(request: Request, version: str) -> Response | None:
    """204 when the poll says it shows ``version`` already."""
    if request.query_params.get("seen") == version:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    return None


def query(params: dict[str, Any], **changes: Any) -> str:
    """``params`` with ``changes`` as a query string, leaving out empty values."""
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in ("", None)})

"""The console's request plumbing: who is logged in, CSRF checks, and HTML answers for
errors and missing logins (the API's JSON error handlers stay untouched)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from batchscore.domain.roles import Principal, Role
from batchscore.errors import BatchscoreError, Forbidden
from batchscore.http.status import status_of
from batchscore.service.console_sessions import session_principal
from batchscore.web.deps import services, viewer_zone
from batchscore.web.forms import FormLimits, read_form
from batchscore.web.session import (
    COOKIE,
    MAX_AGE_S,
    Session,
    SessionCodec,
    load_secret,
)
from batchscore.web.templating import render_page

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'"
)


FORM_OVERHEAD = 64 * 1024
"""Bytes a multipart form may carry besides its file (boundaries, headers, other fields)."""


class LoginRequired(Exception):
    """No valid console session: answered with a redirect to the login form."""


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    principal: Principal
    session: Session

    @property
    def can_write(self) -> bool:
        return self.principal.has(Role.ML_ADMIN)

    def require_admin(self) -> None:
        if not self.can_write:
            raise Forbidden(f"Access is denied: the role {Role.ML_ADMIN.value} is required.")


def codec(request: Request) -> SessionCodec:
    """The app's session codec, made on first use from the settings' ``var_dir``."""
    found: SessionCodec | None = getattr(request.app.state, "console_codec", None)
    if found is None:
        found = SessionCodec(load_secret(services(request).settings.var_dir))
        request.app.state.console_codec = found
    return found


def _load_user(request: Request) -> ConsoleUser:
    session = codec(request).loads(request.cookies.get(COOKIE))
    if session is None:
        raise LoginRequired()
    svc = services(request)
    principal = session_principal(svc.db, svc.clock, session.tenant, session.user, session.id)
    if principal is None or not principal.has(Role.ML_READ):
        raise LoginRequired()
    return ConsoleUser(principal, session)


async def current_user(request: Request) -> ConsoleUser:
    return await run_in_threadpool(_load_user, request)


CurrentUser = Depends(current_user)


async def checked_form(
    request: Request, user: ConsoleUser, *, admin: bool = True, max_files: int = 0
) -> dict[str, Any]:
    """The posted form, read only after the role check (admin forms) and within bounds, its
    CSRF token checked against the session's as soon as it is read (``web/forms.py``)."""
    if admin:
        user.require_admin()
    settings = services(request).settings
    limit = settings.max_model_bytes + FORM_OVERHEAD if max_files else settings.max_body_bytes
    return dict(await read_form(request, user.session.csrf, FormLimits(limit, max_files=max_files)))


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def page(
    request: Request,
    template: str,
    user: ConsoleUser | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a console page with the layout's context (user, CSRF token, current path)."""
    html = render_page(
        template,
        {
            "user": user,
            "csrf_token": user.session.csrf if user else "",
            "path": request.url.path,
            "viewer_zone": viewer_zone(request),
            **context,
        },
    )
    return HTMLResponse(html, status_code=status_code)


class ConsoleRoute(APIRoute):
    """Console routes answer HTML: a redirect to /login without a session, an error page for
    the service's errors, and a restrictive Content-Security-Policy on every answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired:
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                location = "/login" if target == "/" else f"/login?next={quote(target, safe='')}"
                if request.headers.get("hx-request"):
                    response = Response(status_code=204, headers={"HX-Redirect": location})
                else:
                    response = RedirectResponse(location, status_code=303)
            except BatchscoreError as exc:
                status = status_of(exc)
                if status >= 500:
                    log.warning("console request failed: %s", exc)
                user = None
                try:
                    user = await current_user(request)
                except (LoginRequired, BatchscoreError):
                    user = None
                response = page(
                    request, "error.html", user, status, status=status, messages=exc.messages
                )
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return route

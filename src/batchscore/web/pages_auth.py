"""Login and logout. The login form checks the same users and roles as the API's Basic auth."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from batchscore.domain.roles import Role
from batchscore.errors import RateLimited, Unauthorized
from batchscore.service.console_sessions import end_session, start_session
from batchscore.web.console import (
    ConsoleRoute,
    ConsoleUser,
    CurrentUser,
    checked_form,
    codec,
    page,
    set_session_cookie,
)
from batchscore.web.deps import services
from batchscore.web.forms import FormLimits, read_form
from batchscore.web.session import COOKIE, LOGIN_CSRF_COOKIE, MAX_AGE_S, tokens_match

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

LOGIN_FORM_BYTES = 16 * 1024


def safe_next(target: str | None) -> str:
    """Only paths of this console; never another host (``//evil``, ``/\\evil``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target[:2000]


def _login_page(
    request: Request, next_url: str, error: str | None = None, login: str = ""
) -> HTMLResponse:
    """The form, with ``error`` shown in it. Always a 200: the browser shows the page either
    way, and a 4xx would be logged as a console error for what is an ordinary form answer."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = page(
        request,
        "login.html",
        None,
        login_csrf=token,
        next_url=next_url,
        error=error,
        login=login,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request, None, FormLimits(LOGIN_FORM_BYTES, max_fields=10))
    login_name = str(form.get("login") or "").strip()
    password = str(form.get("password") or "")
    next_url = safe_next(str(form.get("next") or "/"))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not expected or not tokens_match(str(form.get("csrf_token") or ""), expected):
        return _login_page(request, next_url, "The form expired; please sign in again.")
    if not login_name or not password or ":" in login_name:
        return _login_page(request, next_url, "Enter your user name and password.", login_name)
    svc = services(request)
    header = "Basic " + base64.b64encode(f"{login_name}:{password}".encode()).decode()
    address = request.client.host if request.client else "-"
    try:
        principal = await run_in_threadpool(svc.auth.authenticate, header, address)
    except Unauthorized:
        return _login_page(request, next_url, "Wrong user name or password.", login_name)
    except RateLimited as exc:
        message = f"Too many failed sign-ins; try again in {exc.retry_after} s."
        return _login_page(request, next_url, message, login_name)
    if not principal.has(Role.ML_READ):
        message = f"This user lacks the role {Role.ML_READ.value} needed for the console."
        return _login_page(request, next_url, message, login_name)
    cookie_codec = codec(request)
    session = cookie_codec.new(principal.tenant, principal.user)
    lifetime = timedelta(seconds=MAX_AGE_S)
    started = await run_in_threadpool(
        start_session, svc.db, svc.clock, principal.tenant, principal.user, session.id, lifetime
    )
    if not started:
        return _login_page(request, next_url, "Wrong user name or password.", login_name)
    response = RedirectResponse(next_url, status_code=303)
    set_session_cookie(response, request, cookie_codec.dumps(session))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, user: ConsoleUser = CurrentUser) -> Response:
    await checked_form(request, user, admin=False)
    await run_in_threadpool(end_session, services(request).db, user.session.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response

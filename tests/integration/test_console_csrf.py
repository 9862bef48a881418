"""Every write of the console needs the session's CSRF token: each POST route of the console's
router, found from the router itself, refuses a form with a forged token or none."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from batchscore.web.routes import router
from tests.conftest import PASSWORD


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """The routes of a router, through the routers it includes."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes)
    return found


POSTS = sorted(
    route.path
    for route in api_routes(router.routes)
    if "POST" in route.methods and route.path != "/login"
)


def sign_in(client: TestClient) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = client.post(
        "/login",
        data={"login": "t1/admin", "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_the_console_has_post_routes() -> None:
    assert {"/logout", "/jobs/new", "/models", "/models/delete"} <= set(POSTS)


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("token", [None, "forged"])
def test_posts_without_the_sessions_token_are_refused(
    client: TestClient, path: str, token: str | None
) -> None:
    sign_in(client)
    form = {"name": "x"} if token is None else {"name": "x", "csrf_token": token}
    r = client.post(path.replace("{job_id}", "1"), data=form, follow_redirects=False)
    assert r.status_code == 403, r.text
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in

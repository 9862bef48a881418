"""Fixtures of the browser tests: a live `batchscore serve` with demo content and a read-only
user, Debian's headless Chromium driven by Playwright, and a page that fails the test on any
browser console error."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from tests.conftest import CHROMIUM
from tests.integration.live_server import LiveServer, live_batchscore

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
READER = "viewer"
READER_PASSWORD = "viewer-Passw0rd"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("console")
    # Only the server's process gets these: the rest of the session must not see the demo.
    console_env = {
        "BATCHSCORE_DEMO": "true",
        "BATCHSCORE_VAR_DIR": str(workdir / "var"),
        "BATCHSCORE_LOG_LEVEL": "WARNING",
    }
    with live_batchscore(workdir, console_env) as live:
        cli = Path(sys.executable).with_name("batchscore")
        subprocess.run(
            [str(cli), "user", "add", READER, "--role", "read"],
            env={
                **os.environ,
                "BATCHSCORE_DATABASE_URL": live.database_url,
                "BATCHSCORE_PASSWORD_PROFILE": "fast",
                "BATCHSCORE_USER_PASSWORD": READER_PASSWORD,
            },
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield live


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    """A fresh browser context at 1280x800; console errors and page errors fail the test."""
    context = browser.new_context(
        base_url=server.base_url, viewport={"width": 1280, "height": 800}, accept_downloads=True
    )
    context.set_default_timeout(15_000)
    opened = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console error: {message.text} at {message.location}")

    opened.on("console", on_console)
    opened.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    yield opened
    context.close()
    assert not errors, "\n".join(errors)


def sign_in(page: Page, user: str, password: str) -> None:
    page.goto("/")
    assert "/login" in page.url
    page.get_by_label("User").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)

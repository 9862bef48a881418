"""Fixtures of the browser tests: a live `batchscore serve` with demo content and a read-only
user, Debian's headless Chromium driven by Playwright at 1440x900 (and 390x844 for mobile),
pages that fail the test on any browser console error, and axe-core's WCAG 2.2 A/AA audit.

axe-core is vendored (``vendor/axe-core/axe.min.js``, MPL-2.0, see its README there), so the
suite runs from a fresh clone without the npm registry; it is evaluated in the page through
the DevTools protocol, which the console's Content-Security-Policy does not govern.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from batchscore.demo.signals import SERIES
from batchscore.store.db import Database
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
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
MOBILE: ViewportSize = {"width": 390, "height": 844}
# The viewer's zone differs from every job's, so a time shown in the wrong zone shows.
VIEWER_ZONE = "Europe/Berlin"
REFRESH_S = 1.0
AXE_DIR = Path(__file__).with_name("vendor") / "axe-core"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
DEMO_JOB = "Demo: vibration anomalies"
HOUR_JOB = "Console: an hour of the line"
MAPPING = {series: f"{fragment}.{series}.value" for fragment, series, _ in SERIES.values()}
# A Quartz expression that does not fire in the suite's lifetime (New Year 2099).
NEVER = "0 0 0 1 1 ? 2099"


def axe_source() -> str:
    """The vendored axe-core, checked against the digest recorded next to it."""
    source = (AXE_DIR / "axe.min.js").read_bytes()
    recorded = (AXE_DIR / "SHA256").read_text().split()[0]
    assert hashlib.sha256(source).hexdigest() == recorded, "axe.min.js differs from SHA256"
    return source.decode()


AXE = axe_source()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("console")
    # Only the server's process gets these: the rest of the session must not see the demo.
    console_env = {
        "BATCHSCORE_DEMO": "true",
        "BATCHSCORE_VAR_DIR": str(workdir / "var"),
        "BATCHSCORE_LOG_LEVEL": "WARNING",
        "BATCHSCORE_CONSOLE_REFRESH_S": str(REFRESH_S),
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
def api(server: LiveServer) -> Iterator[httpx.Client]:
    """The Jobs API of the live server, as its admin."""
    with httpx.Client(
        base_url=f"{server.base_url}/service/zementis", auth=server.auth, timeout=30
    ) as client:
        yield client


def job_body(name: str, target: int = 1, **schedule: Any) -> dict[str, Any]:
    """A job on the demo line (group 1) with the demo model and mapping."""
    return {
        "jobName": name,
        "associatedModel": "DemoIsolationForest",
        "associatedGroupOrDeviceId": target,
        "modelToDeviceMappings": MAPPING,
        "jobSchedule": schedule
        or {
            "frequency": "periodic",
            "cronExpression": NEVER,
            "timeZone": "UTC",
            "dataFromPreviousNSeconds": 60,
        },
    }


def create_job(api: httpx.Client, body: dict[str, Any]) -> int:
    r = api.post("/job", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["jobId"])


def run_job(api: httpx.Client, job_id: int, timeout: float = 60) -> int:
    """Fire a job now and wait (with a deadline) until its execution has finished."""
    r = api.post(f"/job/{job_id}/run")
    assert r.status_code in (200, 201), r.text
    number = int(r.json()["jobExecutionNumber"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = api.get(f"/job/{job_id}/history/{number}").json()["jobExecutionStatus"]
        if status != "Running":
            return number
        time.sleep(0.1)  # polling interval while waiting for the condition, bounded by deadline
    raise AssertionError(f"execution {number} of job {job_id} still running after {timeout} s")


@pytest.fixture(scope="session")
def hour_run(api: httpx.Client) -> tuple[int, int]:
    """(job id, execution number) of a finished execution over the demo line's last hour:
    three devices x 3600 records, more than a chart has pixel columns."""
    job_id = create_job(
        api,
        job_body(
            HOUR_JOB,
            frequency="periodic",
            cronExpression=NEVER,
            timeZone="Asia/Kolkata",
            dataFromPreviousNSeconds=3600,
        ),
    )
    run_job(api, job_id)  # a first execution, so the second has a previous one
    return job_id, run_job(api, job_id)


@pytest.fixture(scope="session")
def many_jobs(api: httpx.Client) -> list[int]:
    """Enough jobs for two pages of the list, named to sort after the demo job."""
    return [create_job(api, job_body(f"Paging job {i:02d}")) for i in range(1, 46)]


@pytest.fixture
def live_db(server: LiveServer) -> Iterator[Database]:
    """The live server's database, for what no route can do (an execution held running, a
    long history written at once)."""
    db = Database.from_url(server.database_url)
    yield db
    db.dispose()


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


@contextmanager
def open_page(browser: Browser, server: LiveServer, viewport: ViewportSize) -> Iterator[Page]:
    """A fresh browser context; console errors and page errors fail the test."""
    context = browser.new_context(
        base_url=server.base_url,
        viewport=viewport,
        timezone_id=VIEWER_ZONE,
        accept_downloads=True,
    )
    context.set_default_timeout(15_000)
    opened = context.new_page()
    errors: list[str] = []
    ALLOWED[id(opened)] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(a in message.text for a in ALLOWED[id(opened)]):
            errors.append(f"console error: {message.text} at {message.location}")

    opened.on("console", on_console)
    opened.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    yield opened
    context.close()
    del ALLOWED[id(opened)]
    assert not errors, "\n".join(errors)


ALLOWED: dict[int, list[str]] = {}


def allow_console_error(page: Page, text: str) -> None:
    """Let a browser console error containing ``text`` pass (an error page the test asks for)."""
    ALLOWED[id(page)].append(text)


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    """A desktop page (1440x900) in the viewer's zone."""
    with open_page(browser, server, DESKTOP) as opened:
        yield opened


@pytest.fixture
def mobile(browser: Browser, server: LiveServer) -> Iterator[Page]:
    """A phone-sized page (390x844) in the viewer's zone."""
    with open_page(browser, server, MOBILE) as opened:
        yield opened


def sign_in(page: Page, user: str, password: str) -> None:
    page.goto("/")
    assert "/login" in page.url
    page.get_by_label("User").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def audit(page: Page, state: str) -> None:
    """axe-core finds no WCAG 2.2 A/AA violation in the page as it is now."""
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)
    result = page.evaluate(
        """tags => axe.run(document, {
            runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})""",
        AXE_TAGS,
    )
    found = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(str(n["target"]) for n in v["nodes"][:5])
        for v in result["violations"]
    ]
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert not found, f"axe, {state} at {width}px:\n" + "\n".join(found)


# 2026-01-14 17:30:00 CET, or 2026-01-14 17:30:00.250 CEST: the console's one format.
ABSOLUTE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{3})? \S+$")
RELATIVE = re.compile(r"^(\d+ (s|min|h|d) ago|in \d+ (s|min|h|d))$")
VIEWER = re.compile(r" CES?T$")  # Europe/Berlin, the browser's zone in these tests


def times_are_one_format_in_the_viewers_zone(page: Page, selector: str = "main time") -> int:
    """Every time the selector finds reads as the console's format in the viewer's zone (a
    relative time has that in its title); returns how many there are."""
    found = page.locator(selector).evaluate_all(
        "ts => ts.map(t => [t.textContent.trim(), t.getAttribute('title') || ''])"
    )
    for text, title in found:
        shown = title if RELATIVE.match(text) else text
        assert ABSOLUTE.match(shown), (text, title)
        assert VIEWER.search(shown), (text, title)
    return len(found)


def overflow(page: Page) -> int:
    """How far the page is wider than the screen, in CSS pixels."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def shoot(page: Page, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=full_page)


def eventually(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    """Wait until ``check()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)  # polling interval while waiting for the condition, bounded by deadline
    raise AssertionError(f"{what} did not happen within {timeout} s")

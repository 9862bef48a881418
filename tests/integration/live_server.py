"""Real HTTP servers on 127.0.0.1 for tests: a live `batchscore serve`, and small ASGI apps
served by uvicorn in a thread (for failure modes batchscore itself never shows).

Use from a test module as::

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
        with live_batchscore(tmp_path_factory.mktemp("serve")) as live:
            yield live
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ADMIN_PASSWORD = "live-Passw0rd"
TENANT = "default"
ADMIN = "admin"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class LiveServer:
    """A running `batchscore serve`: its URL, its database, and the first admin's login."""

    base_url: str
    database_url: str
    pid: int = 0
    tenant: str = TENANT
    user: str = ADMIN
    password: str = ADMIN_PASSWORD
    pid: int = 0

    @property
    def auth(self) -> tuple[str, str]:
        return (f"{self.tenant}/{self.user}", self.password)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(ready: Callable[[], bool], what: str, timeout: float = 90) -> None:
    """Poll ``ready`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)  # polling interval while waiting for the condition, bounded by deadline
    raise AssertionError(f"{what} did not happen within {timeout} s")


@contextmanager
def live_batchscore(
    workdir: Path,
    extra_env: Mapping[str, str] | None = None,
    database_url: str | None = None,
) -> Iterator[LiveServer]:
    """`batchscore serve` on a free port with a fresh SQLite database in ``workdir`` (or on
    ``database_url``, an empty database); stopped (and its log checked for tracebacks) at the
    end."""
    port = free_port()
    database_url = database_url or f"sqlite:///{workdir / 'live.db'}"
    env = {
        **os.environ,
        "BATCHSCORE_DATABASE_URL": database_url,
        "BATCHSCORE_HOST": "127.0.0.1",
        "BATCHSCORE_PORT": str(port),
        "BATCHSCORE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "BATCHSCORE_PASSWORD_PROFILE": "fast",
        "BATCHSCORE_SCHEDULER": "false",
        **(extra_env or {}),
    }
    cli = Path(sys.executable).with_name("batchscore")
    log_path = workdir / "serve.log"
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(cli), "serve"], env=env, stdout=log, stderr=log)

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}: {log_path.read_text()}")
        try:
            return httpx.get(f"{base}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(healthy, "batchscore serve answering /health")
        yield LiveServer(base, database_url, pid=proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "Traceback" not in log_path.read_text()


def peak_rss(pid: int) -> int:
    """The most memory (resident set, bytes) process ``pid`` has held since it started."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for process {pid}")


@dataclass
class Reply:
    """One scripted answer: status, JSON (or raw text) body, headers, and a delay first."""

    status: int = 200
    body: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Seen:
    path: str
    query: str
    authorization: str


class ScriptedApp:
    """An ASGI app answering each request with the next scripted reply (the last one repeats)
    and recording what it was asked."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.seen: list[Seen] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.seen.append(
            Seen(scope["path"], scope["query_string"].decode(), headers.get("authorization", ""))
        )
        reply = self.replies[min(len(self.seen), len(self.replies)) - 1]
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.text is not None:
            payload, kind = reply.text.encode(), "text/plain"
        else:
            payload, kind = httpx.Response(200, json=reply.body).content, "application/json"
        out = [(b"content-type", kind.encode())]
        out += [(k.lower().encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": out})
        await send({"type": "http.response.body", "body": payload})


@contextmanager
def serve_asgi(app: Any, **options: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free 127.0.0.1 port in a thread; yields its base URL.
    ``options`` add to (or replace) uvicorn's settings."""
    port = free_port()
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "lifespan": "off",
        "ws": "none",
        "log_level": "critical",
        "access_log": False,
        "timeout_graceful_shutdown": 1,
    }
    config = uvicorn.Config(app, **{**settings, **options})
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-asgi", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, "the test server starting", timeout=10)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

"""Hostile input, round two (issue 20): the console's forms and sessions.

- the role is checked before a form is read, and the CSRF token as soon as it is read (before
  any file part): a forged upload costs the server its first part, not its size;
- forms are bounded (``BATCHSCORE_MAX_BODY_BYTES``; uploads ``BATCHSCORE_MAX_MODEL_BYTES`` plus
  64 KiB; the login form 16 KiB), chunked or not;
- signing out ends the session on the server: the cookie replayed afterwards is refused.
"""

from __future__ import annotations

import re
import select
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from fastapi.testclient import TestClient

from batchscore.settings import Settings
from batchscore.store import sessions as sessions_repo
from batchscore.store import users as users_repo
from batchscore.store.db import Database
from batchscore.store.sessions import MAX_SESSIONS_PER_USER
from batchscore.testing import regression_pmml
from tests.conftest import PASSWORD
from tests.integration.live_server import LiveServer, live_batchscore, peak_rss

MB = 1024 * 1024
MODEL_LIMIT = 2 * MB
BODY_LIMIT = 256 * 1024
BOUNDARY = "hostileboundary"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        password_profile="fast",
        var_dir=tmp_path,
        max_model_bytes=MODEL_LIMIT,
        max_body_bytes=BODY_LIMIT,
    )


def sign_in(client: TestClient, login: str = "t1/admin") -> str:
    """Sign in; the session's CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = client.post(
        "/login",
        data={"csrf_token": token.group(1), "login": login, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/").text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def multipart(*parts: tuple[str, bytes, str | None]) -> bytes:
    """A multipart body of (name, content, filename) parts, in this order."""
    out = b""
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += content + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


# --- in process, both backends ----------------------------------------------------------------


def test_signing_out_ends_the_session_on_the_server(client: TestClient) -> None:
    token = sign_in(client)
    cookie = client.cookies.get("batchscore_session")
    assert cookie
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.set("batchscore_session", cookie)  # the cookie, kept and replayed
    r = client.get("/", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")


def test_the_token_must_come_before_any_file(client: TestClient) -> None:
    token = sign_in(client)
    pmml = regression_pmml("Uploaded", ["a"])
    forged = multipart(("csrf_token", b"forged", None), ("file", pmml, "m.pmml"))
    late = multipart(("file", pmml, "m.pmml"), ("csrf_token", token.encode(), None))
    for body in (forged, late):
        r = client.post("/models", content=body, headers=MULTIPART, follow_redirects=False)
        assert r.status_code == 403, r.text[:300]
    good = multipart(("csrf_token", token.encode(), None), ("file", pmml, "m.pmml"))
    r = client.post("/models", content=good, headers=MULTIPART, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/models?done=uploaded&name=Uploaded")


def test_a_reader_is_refused_before_the_form_is_read(client: TestClient) -> None:
    token = sign_in(client, "t1/reader")
    body = multipart(("csrf_token", token.encode(), None), ("file", b"x" * MB, "m.pmml"))
    r = client.post("/models", content=body, headers=MULTIPART, follow_redirects=False)
    assert r.status_code == 403
    assert "ROLE_MACHINE_LEARNING_ADMIN" in r.text


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        ("/models/delete", b"csrf_token=T&name=" + b"x" * BODY_LIMIT, {}),
        (
            "/models",
            multipart(("csrf_token", b"T", None), ("file", b"x" * (MODEL_LIMIT + 65 * 1024), "m")),
            1,
        ),
        ("/login", b"csrf_token=x&login=a&password=" + b"x" * 20_000, {}),
    ],
    ids=["long-field", "upload", "login"],
)
def test_forms_past_their_bound_are_a_413(
    client: TestClient, path: str, body: bytes, headers: Any
) -> None:
    token = sign_in(client)
    body = body.replace(b"csrf_token=T", f"csrf_token={token}".encode())
    body = body.replace(b"\r\n\r\nT\r\n", f"\r\n\r\n{token}\r\n".encode())
    kind = MULTIPART if headers == 1 else {"Content-Type": "application/x-www-form-urlencoded"}
    r = client.post(path, content=body, headers=kind, follow_redirects=False)
    assert r.status_code == 413, r.text[:300]
    # Chunked (no Content-Length): cut off while reading, the same answer.
    r = client.post(path, content=iter([body]), headers=kind, follow_redirects=False)
    assert r.status_code == 413, r.text[:300]
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in


def test_too_many_fields_are_a_400(client: TestClient) -> None:
    token = sign_in(client)
    body = f"csrf_token={token}&".encode() + b"&".join([b"a="] * 2001)
    r = client.post(
        "/models/delete",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert r.status_code == 400
    assert "more than 2000 fields" in r.text


# --- a live server: how much of a hostile form is read ------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"BATCHSCORE_MAX_MODEL_BYTES": str(20 * MB)}
    with live_batchscore(tmp_path_factory.mktemp("console"), env) as server:
        yield server


def live_session(server: LiveServer) -> tuple[str, str]:
    """The admin's session cookie and CSRF token on the live server."""
    with requests.Session() as browser:
        page = browser.get(f"{server.base_url}/login", timeout=30)
        r = browser.post(
            f"{server.base_url}/login",
            data={"csrf_token": csrf_of(page.text), "login": "admin", "password": server.password},
            allow_redirects=False,
            timeout=30,
        )
        assert r.status_code == 303
        cookie = str(r.cookies.get("batchscore_session"))
        token = csrf_of(browser.get(f"{server.base_url}/", timeout=30).text)
    return cookie, token


def send_until_answered(
    server: LiveServer, head: bytes, chunks: Iterator[bytes]
) -> tuple[int, int]:
    """Send ``head`` then ``chunks`` until the server answers; (status, body bytes sent)."""
    url = urlsplit(server.base_url)
    sent = 0
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        sock.sendall(head)
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        answer = b""
        while b"\r\n" not in answer:
            part = sock.recv(65536)
            if not part:
                break
            answer += part
    return int(answer.split(b" ", 2)[1]), sent


def upload_head(cookie: str, first_part: bytes, length: int | None) -> bytes:
    size = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST /models HTTP/1.1\r\nHost: x\r\nCookie: batchscore_session={cookie}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{size}\r\n\r\n"
    ).encode() + first_part


def slow(piece: bytes, count: int) -> Iterator[bytes]:
    """``count`` pieces, paced so the server's answer can overtake them."""
    for _ in range(count):
        time.sleep(0.002)  # pacing the upload, not waiting for a condition
        yield piece


def test_a_forged_upload_is_refused_after_its_first_part(live: LiveServer) -> None:
    cookie, _ = live_session(live)
    first = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\nforged\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="m"\r\n\r\n'
    ).encode()
    status, sent = send_until_answered(
        live, upload_head(cookie, first, 20 * MB), slow(b"x" * 65536, 320)
    )
    assert status == 403
    assert sent < 4 * MB, f"{sent} bytes of the file went in before the 403"


def test_an_endless_chunked_upload_stops_at_the_bound_in_bounded_memory(live: LiveServer) -> None:
    cookie, token = live_session(live)
    first = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="m"\r\n\r\n'
    ).encode()
    framed = b"%x\r\n%s\r\n" % (len(first), first)
    piece = b"x" * MB
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
    before = peak_rss(live.pid)
    status, sent = send_until_answered(
        live, upload_head(cookie, b"", None) + framed, slow(chunk, 2000)
    )
    grown = peak_rss(live.pid) - before
    assert status == 413
    assert sent < 120 * MB, f"{sent / MB:.0f} MB went in for a 20 MB bound"
    assert grown < 150 * MB, f"peak memory grew by {grown / MB:.0f} MB"


def test_signing_in_again_and_again_keeps_at_most_a_hundred_sessions(db: Database) -> None:
    now = datetime(2026, 1, 14, 12, tzinfo=UTC)
    with db.write() as conn:
        user = users_repo.get_user(conn, "t1", "reader")
        assert user is not None
        for i in range(MAX_SESSIONS_PER_USER + 1):
            started = now + timedelta(seconds=i)
            sessions_repo.insert_session(
                conn, f"s{i}", user.id, started, started + timedelta(hours=8)
            )
    later = now + timedelta(minutes=5)
    with db.read() as conn:
        assert sessions_repo.session_user(conn, "s0", later) is None  # the oldest went
        assert sessions_repo.session_user(conn, "s1", later) == user.id
        assert sessions_repo.session_user(conn, f"s{MAX_SESSIONS_PER_USER}", later) == user.id
        assert sessions_repo.session_user(conn, "s1", now + timedelta(hours=9)) is None  # expired

"""Hostile input, round two (issue 20): request bodies.

- ``POST /apply/{name}`` reads its body within ``BATCHSCORE_MAX_BODY_BYTES`` and parses records
  one at a time within a 100,000-record budget (CSV, a JSON array of objects, a JSON array of
  ``{}``): a clear 4xx, and the live server's peak memory stays bounded;
- numbers JSON or CSV can write but a float cannot hold (400 digits, ``1e400``) are a 400;
- an answer sent before the body was read (413, 401) reaches urllib, requests and httpx, which
  send the whole body before they read: the body is drained, or the connection closed;
- after a 500 the keep-alive connection serves the next request.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
from fastapi import FastAPI
from fastapi.testclient import TestClient

from batchscore.api.drain import DRAIN_BYTES
from batchscore.composition.app import create_app
from batchscore.server_options import server_options
from batchscore.service.container import Services
from batchscore.settings import Settings
from batchscore.testing import basic_auth, regression_pmml
from tests.integration.live_server import LiveServer, live_batchscore, peak_rss, serve_asgi

BASE = "/service/zementis"
INPUTS = ["a", "b", "c", "d", "e", "f"]
BUDGET = 100_000
MB = 1024 * 1024
ROW = b'{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}'


def error_messages(r: Any) -> list[str]:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    body = r.json()
    assert set(body) == {"errors"}, body
    return [str(m) for m in body["errors"]]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Room for 100,000 CSV records, so that the record budget (not the byte budget) decides.
    return Settings(password_profile="fast", var_dir=tmp_path, max_body_bytes=4 * MB)


@pytest.fixture
def model(client: TestClient, admin: dict[str, str]) -> str:
    r = client.post(f"{BASE}/model", content=regression_pmml("Sum", INPUTS), headers=admin)
    assert r.status_code == 201, r.text
    return "Sum"


def csv_body(records: int) -> bytes:
    return (",".join(INPUTS) + "\n" + "1,2,3,4,5,6\n" * records).encode()


# --- in process, both backends ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_the_record_budget_holds_exactly(
    client: TestClient, reader: dict[str, str], model: str, kind: str
) -> None:
    def post(records: int) -> Any:
        if kind == "csv":
            body, media = csv_body(records), "text/csv"
        else:
            body, media = b"[" + b",".join([ROW] * records) + b"]", "application/json"
        return client.post(
            f"{BASE}/apply/{model}", content=body, headers={**reader, "Content-Type": media}
        )

    r = post(BUDGET)
    assert r.status_code == 200, r.text[:300]
    outputs = r.json()["outputs"]
    assert len(outputs) == BUDGET
    assert outputs[0]["score"] == 21.0
    r = post(BUDGET + 1)
    assert error_messages(r) == [f"At most {BUDGET} records can be scored in one request."]


@pytest.mark.parametrize(
    ("body", "media", "record"),
    [
        (b'{"a": ' + b"9" * 400 + b"}", "application/json", 1),
        (b'[{"a": 1}, {"a": -' + b"9" * 400 + b"}]", "application/json", 2),
        (b'[{"a": 1e400}]', "application/json", 1),
        (b'[{"a": 1}, {"a": "1e999"}]', "application/json", 2),
        (b'[{"a": 1}] trailing', "application/json", 2),
        (b'[{"a": 1} {"a": 2}]', "application/json", 2),
        (b"[" + b"[" * 100_000, "application/json", 1),
        (b"", "application/json", 1),
        (b"[1]", "application/json", 1),
        (b"a,b\n1,2\n" + b"9" * 400 + b",1\n", "text/csv", 2),
        (b"a,b\n1,2\n" + b"x" * 200_000 + b",1\n", "text/csv", 2),
        (b"a,b\n1,\x002\n", "text/csv", 1),
        (b"a,b\n1,2,3\n", "text/csv", 1),
        (b"a,b\n\xff\xfe,1\n", "text/csv", 1),
    ],
    ids=[
        "400-digit-int",
        "400-digit-negative",
        "1e400",
        "1e999-text",
        "trailing",
        "missing-comma",
        "deep",
        "empty",
        "not-an-object",
        "csv-400-digits",
        "csv-huge-field",
        "csv-nul",
        "csv-extra-field",
        "csv-not-utf8",
    ],
)
def test_unparseable_records_are_a_400_naming_the_record(
    client: TestClient, reader: dict[str, str], model: str, body: bytes, media: str, record: int
) -> None:
    r = client.post(
        f"{BASE}/apply/{model}", content=body, headers={**reader, "Content-Type": media}
    )
    assert error_messages(r) == [f"Failed to parse input at record {record}."]


def test_a_400_digit_number_in_the_query_record_is_a_400(
    client: TestClient, reader: dict[str, str], model: str
) -> None:
    record = '{"a": ' + "1" * 400 + "}"
    r = client.get(f"{BASE}/apply/{model}", params={"record": record}, headers=reader)
    assert error_messages(r) == ["Failed to parse input at record 1."]
    r = client.get(f"{BASE}/apply/{model}", params={"record": ROW.decode()}, headers=reader)
    assert r.json()["outputs"][0]["score"] == 21.0


def test_apply_reads_at_most_the_body_limit(
    client: TestClient, reader: dict[str, str], model: str, settings: Settings
) -> None:
    body = csv_body(settings.max_body_bytes // 12 + 10)
    assert len(body) > settings.max_body_bytes
    r = client.post(
        f"{BASE}/apply/{model}", content=body, headers={**reader, "Content-Type": "text/csv"}
    )
    assert r.status_code == 413
    assert error_messages(r) == [
        f"The request body is larger than {settings.max_body_bytes} bytes."
    ]


# --- a live server: memory, and what real clients see ----------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_batchscore(tmp_path_factory.mktemp("bodies")) as server:
        r = httpx.post(
            f"{server.base_url}{BASE}/model", content=regression_pmml("Sum", INPUTS),
            auth=server.auth, timeout=30,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        yield server


@pytest.fixture(scope="module")
def roomy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that takes 64 MB bodies, as an operator might set it for big batches."""
    env = {"BATCHSCORE_MAX_BODY_BYTES": str(64 * MB)}
    with live_batchscore(tmp_path_factory.mktemp("roomy"), env) as server:
        r = httpx.post(
            f"{server.base_url}{BASE}/model", content=regression_pmml("Sum", INPUTS),
            auth=server.auth, timeout=30,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        yield server


@pytest.mark.parametrize("kind", ["csv", "json-objects", "json-empty-objects"])
def test_fifty_megabytes_of_records_stop_at_the_budget_in_bounded_memory(
    roomy: LiveServer, kind: str
) -> None:
    """The attack of the issue (5.3 GB before the 400): 50 MB of records from a reader."""
    if kind == "csv":
        body, media = csv_body(50 * MB // 12), "text/csv"
    elif kind == "json-objects":
        body, media = b"[" + b",".join([ROW] * (50 * MB // len(ROW))) + b"]", "application/json"
    else:
        body, media = b"[" + b",".join([b"{}"] * (50 * MB // 3)) + b"]", "application/json"
    before = peak_rss(roomy.pid)
    r = requests.post(
        f"{roomy.base_url}{BASE}/apply/Sum",
        data=body,
        headers={"Content-Type": media},
        auth=roomy.auth,
        timeout=120,
    )
    grown = peak_rss(roomy.pid) - before
    assert r.status_code == 400, r.text[:300]
    assert error_messages(r) == [f"At most {BUDGET} records can be scored in one request."]
    # The body (50 MB) and, for JSON, its text; not the records (5.3 GB before the fix).
    assert grown < 200 * MB, f"peak memory grew by {grown / MB:.0f} MB"


def urllib_post(url: str, body: bytes, headers: dict[str, str]) -> urllib.error.HTTPError:
    """POST with urllib (which sends `Connection: close`); the error answer it got."""
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - http://127.0.0.1
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=60)  # noqa: S310 - the live test server
    return caught.value


def _auth_header(server: LiveServer) -> dict[str, str]:
    return basic_auth(server.user, server.password, tenant=server.tenant)


@pytest.mark.parametrize("path", [f"{BASE}/apply/Sum", f"{BASE}/job", "/inventory/managedObjects"])
def test_urllib_reads_the_413_of_a_body_over_the_limit(live: LiveServer, path: str) -> None:
    """urllib sends `Connection: close` and the whole body before reading: it used to get
    a reset (or BrokenPipeError) instead of the 413."""
    refused = urllib_post(
        live.base_url + path,
        b"x" * (20 * MB),
        {**_auth_header(live), "Content-Type": "application/json"},
    )
    assert refused.code == 413
    with refused:
        body = json.loads(refused.read())
    assert "The request body is larger than 1000000 bytes." in (
        body.get("errors") or [body["message"]]
    )


def test_urllib_reads_a_401_sent_before_the_body(live: LiveServer) -> None:
    refused = urllib_post(
        live.base_url + f"{BASE}/apply/Sum",
        b"x" * (20 * MB),
        {**basic_auth("admin", "wrong-password"), "Content-Type": "text/csv"},
    )
    with refused:
        assert refused.code == 401


def test_requests_reads_the_413_and_keeps_its_connection(live: LiveServer) -> None:
    with requests.Session() as session:
        session.auth = live.auth
        r = session.post(
            f"{live.base_url}{BASE}/apply/Sum",
            data=b"x" * (50 * MB),
            headers={"Content-Type": "text/csv"},
            timeout=60,
        )
        assert r.status_code == 413, r.text[:300]
        assert "connection" not in {k.lower() for k in r.headers}  # drained: kept alive
        r = session.get(f"{live.base_url}{BASE}/models", timeout=30)
        assert r.json() == {"models": ["Sum"]}


def test_requests_reads_the_413_of_a_chunked_body(live: LiveServer) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * MB

    r = requests.post(
        f"{live.base_url}{BASE}/job",
        data=chunks(),
        headers={"Content-Type": "application/json"},
        auth=live.auth,
        timeout=60,
    )
    assert r.status_code == 413
    assert r.headers["connection"] == "close"  # a chunked body's size is unknown: never kept


def test_httpx_reads_the_413(live: LiveServer) -> None:
    r = httpx.post(
        f"{live.base_url}{BASE}/apply/Sum",
        content=b"x" * (50 * MB),
        headers={"Content-Type": "text/csv"},
        auth=live.auth,
        timeout=60,
    )
    assert r.status_code == 413
    error_messages(r)


def _raw_answer(server: LiveServer, head: bytes) -> bytes:
    url = urlsplit(server.base_url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head)
        answer = b""
        while b"\r\n\r\n" not in answer:
            part = sock.recv(65536)
            if not part:
                break
            answer += part
        return answer


def test_a_body_beyond_the_drain_is_answered_at_once_and_the_connection_closed(
    live: LiveServer,
) -> None:
    token = _auth_header(live)["Authorization"]
    head = (
        f"POST {BASE}/job HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {DRAIN_BYTES * 4}\r\n\r\n"
    ).encode()
    answer = _raw_answer(live, head).lower()
    assert answer.startswith(b"http/1.1 413")
    assert b"\r\nconnection: close\r\n" in answer


def test_expect_100_continue_is_not_asked_for_a_body_that_would_be_refused(
    live: LiveServer,
) -> None:
    token = _auth_header(live)["Authorization"]
    head = (
        f"POST {BASE}/job HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 5000000\r\n"
        "Expect: 100-continue\r\n\r\n"
    ).encode()
    answer = _raw_answer(live, head).lower()
    assert answer.startswith(b"http/1.1 413"), answer[:200]
    assert b"100 continue" not in answer
    assert b"\r\nconnection: close\r\n" in answer


# --- after a 500, the same connection goes on ------------------------------------------------


@pytest.fixture
def failing_app(services: Services) -> FastAPI:
    """The real app with one route that fails inside, as an unexpected fault would."""
    app = create_app(services)

    @app.api_route("/test/fault", methods=["GET", "POST"])
    def fault() -> None:
        raise RuntimeError("an unexpected fault")

    return app


def test_the_connection_serves_the_next_request_after_a_500(
    failing_app: FastAPI, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn (with the options `serve` gives it) on a socket; http.client keeps one
    connection, so a reset shows as an exception on the second request."""
    assert server_options(settings) == {"proxy_headers": False, "forwarded_allow_ips": []}
    options = {**server_options(settings), "log_config": None, "log_level": None}
    with serve_asgi(failing_app, **options) as base:
        url = urlsplit(base)
        conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
        try:
            for method, body in [("GET", None), ("POST", b"x" * 300_000), ("GET", None)]:
                conn.request(method, "/test/fault", body=body)
                failed = conn.getresponse()
                text = failed.read()
                assert failed.status == 500
                request_id = failed.headers["x-request-id"]
                assert json.loads(text) == {
                    "errors": [f"Internal error; the request id is {request_id}."]
                }
                sock = conn.sock
                conn.request("GET", "/health")
                ok = conn.getresponse()
                assert (ok.status, json.loads(ok.read())["status"]) == (200, "UP")
                assert conn.sock is sock  # the same connection, not a new one
        finally:
            conn.close()
    assert "an unexpected fault" in caplog.text  # logged with its traceback, for the operator
    assert "Exception in ASGI application" not in caplog.text  # uvicorn never saw it

"""The Cumulocity connector over real HTTP: against a live `batchscore serve` (which speaks
Cumulocity's inventory and measurement API) and against scripted servers for failure modes."""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest

from batchscore.clock import SystemClock
from batchscore.domain.jobs import MeasurementPath
from batchscore.domain.roles import Role
from batchscore.errors import NotFound, SourceError
from batchscore.passwords import configure_hashing
from batchscore.service.inventory import InventoryService
from batchscore.service.users import add_user
from batchscore.sources.cumulocity import CumulocitySettings, CumulocitySource
from batchscore.sources.cumulocity_http import CumulocityClient, RetryPolicy
from batchscore.sources.embedded import EmbeddedSource
from batchscore.sources.source import MeasurementSource, SeriesChunk
from batchscore.store.db import Database
from tests.integration.live_server import (
    LiveServer,
    Reply,
    ScriptedApp,
    free_port,
    live_batchscore,
    serve_asgi,
)

T0 = datetime(2026, 1, 14, 0, 0, tzinfo=UTC)
ACC = [MeasurementPath("c8y_Acceleration", s) for s in ("accelerationX", "accelerationY")]
GYRO = [MeasurementPath("c8y_Gyroscope", s) for s in ("gyroX", "gyroY", "gyroZ")]
ABSENT = MeasurementPath("c8y_Temperature", "T")
PATHS = [*ACC, *GYRO, ABSENT]
SECONDS = 2400  # 40 min at 1 Hz: the gyroscope needs two pages of 2000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_batchscore(tmp_path_factory.mktemp("serve")) as live:
        yield live


@dataclass(frozen=True)
class World:
    group: int
    subgroup: int
    devices: list[int]  # [in group, in subgroup, in subgroup]
    outside: int


def _post(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = http.post(path, json=body)
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def _measurements(device: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for s in range(SECONDS):
        at = (T0 + timedelta(seconds=s, milliseconds=250 * (s % 4))).isoformat()
        if s % 5:  # acceleration has gaps
            out.append(
                {
                    "source": {"id": str(device)},
                    "time": at,
                    "type": "c8y_Acceleration",
                    "c8y_Acceleration": {
                        "accelerationX": {"value": s / 8, "unit": "m/s2"},
                        "accelerationY": {"value": -s * 1.5, "unit": "m/s2"},
                    },
                }
            )
        out.append(
            {
                "source": {"id": str(device)},
                "time": at,
                "type": "c8y_Gyroscope",
                "c8y_Gyroscope": {f"gyro{a}": {"value": s + i / 3} for i, a in enumerate("XYZ")},
            }
        )
    return out


@pytest.fixture(scope="module")
def world(server: LiveServer) -> World:
    with httpx.Client(base_url=server.base_url, auth=server.auth, timeout=30) as http:

        def create(body: dict[str, Any]) -> int:
            return int(_post(http, "/inventory/managedObjects", body)["id"])

        group = create({"name": "plant", "type": "c8y_DeviceGroup", "c8y_IsDeviceGroup": {}})
        subgroup = create({"name": "line", "type": "c8y_DeviceSubgroup", "c8y_IsDeviceGroup": {}})
        asset = create({"name": "room"})  # neither device nor group: walked through
        devices = [create({"name": f"sensor-{i}", "c8y_IsDevice": {}}) for i in range(3)]
        outside = create({"name": "elsewhere", "c8y_IsDevice": {}})
        for parent, child in [
            (group, devices[0]),
            (group, subgroup),
            (subgroup, devices[1]),
            (subgroup, asset),
            (asset, devices[2]),
            (subgroup, devices[1]),  # the same child twice is harmless
        ]:
            _post(
                http,
                f"/inventory/managedObjects/{parent}/childAssets",
                {"managedObject": {"id": str(child)}},
            )
        items = _measurements(devices[0])
        for at in range(0, len(items), 1500):
            _post(http, "/measurement/measurements", {"measurements": items[at : at + 1500]})
    return World(group, subgroup, devices, outside)


@pytest.fixture
def source(server: LiveServer) -> Iterator[CumulocitySource]:
    settings = CumulocitySettings(
        c8y_baseurl=server.base_url,
        c8y_tenant=server.tenant,
        c8y_user=server.user,
        c8y_password=server.password,
        c8y_timeout_s=10,
    )
    with CumulocitySource.from_settings(settings) as connector:
        yield connector


@pytest.fixture
def embedded(server: LiveServer) -> Iterator[EmbeddedSource]:
    db = Database.from_url(server.database_url)
    yield EmbeddedSource(db, InventoryService(db, SystemClock()))
    db.dispose()


def _joined(chunks: list[SeriesChunk], path: MeasurementPath) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.concatenate([c.series[path].times_ns for c in chunks]),
        np.concatenate([c.series[path].values for c in chunks]),
    )


@pytest.mark.parametrize(
    ("start", "end", "chunk"),
    [
        (T0, T0 + timedelta(hours=1), None),
        (T0 + timedelta(seconds=17.25), T0 + timedelta(seconds=3000.5), timedelta(minutes=10)),
        (T0 - timedelta(hours=1), T0, None),
    ],
    ids=["whole-hour", "odd-bounds-in-chunks", "empty"],
)
def test_reads_the_same_arrays_as_the_embedded_store(
    source: CumulocitySource,
    embedded: EmbeddedSource,
    world: World,
    server: LiveServer,
    start: datetime,
    end: datetime,
    chunk: timedelta | None,
) -> None:
    over_http = list(source.read(server.tenant, world.devices[0], PATHS, start, end, chunk))
    direct = list(embedded.read(server.tenant, world.devices[0], PATHS, start, end, chunk))
    assert [(c.start, c.end) for c in over_http] == [(c.start, c.end) for c in direct]
    for path in PATHS:
        times, values = _joined(over_http, path)
        want_times, want_values = _joined(direct, path)
        assert times.dtype == np.int64
        assert values.dtype == np.float64
        np.testing.assert_array_equal(times, want_times)
        np.testing.assert_array_equal(values, want_values)
    if start == T0 and chunk is None:
        assert len(over_http[0].series[GYRO[0]]) == SECONDS  # both pages of 2000 were read
        assert len(over_http[0].series[ACC[0]]) == SECONDS * 4 // 5
        assert len(over_http[0].series[ABSENT]) == 0


def test_long_sparse_windows_take_a_few_requests(
    source: CumulocitySource,
    embedded: EmbeddedSource,
    world: World,
    server: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two years in 6-hour chunks (2,920) around the 40 minutes of data: empty stretches are
    jumped over with one single-item page per fragment, to the same chunks as the embedded
    store reads."""
    requests = 0
    get_json = source.client.get_json

    def counted(*args: Any, **kwargs: Any) -> dict[str, Any]:
        nonlocal requests
        requests += 1
        return get_json(*args, **kwargs)

    monkeypatch.setattr(source.client, "get_json", counted)
    start, end, chunk = T0 - timedelta(days=365), T0 + timedelta(days=365), timedelta(hours=6)
    over_http = list(source.read(server.tenant, world.devices[0], PATHS, start, end, chunk))
    direct = list(embedded.read(server.tenant, world.devices[0], PATHS, start, end, chunk))
    assert requests < 20
    assert [(c.start, c.end) for c in over_http] == [(c.start, c.end) for c in direct]
    assert len(over_http) == 3
    for path in PATHS:
        np.testing.assert_array_equal(_joined(over_http, path)[0], _joined(direct, path)[0])
    assert len(_joined(over_http, GYRO[0])[0]) == SECONDS


def test_devices_below_follows_nested_child_assets(
    source: CumulocitySource, embedded: EmbeddedSource, world: World, server: LiveServer
) -> None:
    checked: MeasurementSource = source
    assert checked.devices_below(server.tenant, world.group) == sorted(world.devices)
    assert checked.devices_below(server.tenant, world.subgroup) == sorted(world.devices[1:])
    assert checked.devices_below(server.tenant, world.outside) == [world.outside]
    for target in (world.group, world.subgroup, world.devices[2]):
        assert source.devices_below("t", target) == embedded.devices_below(server.tenant, target)


def test_unknown_device_is_not_found(source: CumulocitySource, server: LiveServer) -> None:
    with pytest.raises(NotFound, match="'987654' not found"):
        source.devices_below(server.tenant, 987654)
    (chunk,) = source.read(server.tenant, 987654, ACC, T0, T0 + timedelta(hours=1))
    assert all(len(chunk.series[p]) == 0 for p in ACC)


def _one_sentence(message: str) -> None:
    assert message.endswith(".")
    assert "\n" not in message
    assert "Traceback" not in message


def test_wrong_password_is_a_clear_error(server: LiveServer, world: World) -> None:
    client = CumulocityClient(server.base_url, server.tenant, server.user, "wrong-Passw0rd")
    with CumulocitySource(client) as connector, pytest.raises(SourceError) as raised:
        connector.devices_below(server.tenant, world.group)
    message = str(raised.value)
    assert "401" in message
    assert "'default/admin'" in message
    assert "C8Y_PASSWORD" in message
    assert "wrong-Passw0rd" not in message
    _one_sentence(message)


def test_missing_role_is_a_clear_error(server: LiveServer, world: World) -> None:
    configure_hashing("fast")
    db = Database.from_url(server.database_url)
    roles = frozenset({Role.INVENTORY_READ})
    add_user(db, SystemClock(), server.tenant, "inventory-only", "inv-Passw0rd", roles)
    db.dispose()
    client = CumulocityClient(server.base_url, server.tenant, "inventory-only", "inv-Passw0rd")
    with CumulocitySource(client) as connector:
        assert connector.devices_below(server.tenant, world.group) == sorted(world.devices)
        with pytest.raises(SourceError, match=r"403 Forbidden\); the user needs") as raised:
            list(connector.read(server.tenant, world.devices[0], ACC, T0, T0 + timedelta(hours=1)))
    _one_sentence(str(raised.value))


def test_connection_refused(world: World) -> None:
    base = f"http://127.0.0.1:{free_port()}"
    delays: list[float] = []
    client = CumulocityClient(
        base, "t", "u", "p", retry=RetryPolicy(attempts=3, backoff_s=0.01), sleep=delays.append
    )
    with CumulocitySource(client) as connector, pytest.raises(SourceError) as raised:
        connector.devices_below("t", world.group)
    assert str(raised.value) == (
        f"Cumulocity at {base} could not be reached (connection refused) (tried 3 times)."
    )
    assert len(delays) == 2


def test_settings_come_from_c8y_variables(
    server: LiveServer, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C8Y_BASEURL", server.base_url + "/")
    monkeypatch.setenv("C8Y_TENANT", server.tenant)
    monkeypatch.setenv("C8Y_USER", server.user)
    monkeypatch.setenv("C8Y_PASSWORD", server.password)
    monkeypatch.setenv("BATCHSCORE_C8Y_ATTEMPTS", "2")
    settings = CumulocitySettings.from_env()
    assert settings.c8y_attempts == 2
    assert server.password not in repr(settings)
    with CumulocitySource.from_settings(settings) as connector:
        assert connector.devices_below("any", world.subgroup) == sorted(world.devices[1:])
    monkeypatch.delenv("C8Y_PASSWORD")
    with pytest.raises(SourceError, match=r"missing or invalid: C8Y_PASSWORD\)\.$"):
        CumulocitySettings.from_env()
    monkeypatch.setenv("C8Y_PASSWORD", "x")
    monkeypatch.setenv("C8Y_BASEURL", "ftp://example.com")
    with pytest.raises(SourceError, match="must be an http"):
        CumulocitySource.from_settings(CumulocitySettings.from_env())


# --- failure modes batchscore never shows, on a scripted server over real HTTP ---------------

X = ACC[0]


def _page(*measurements: dict[str, Any], next_link: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "measurements": list(measurements),
        "statistics": {"pageSize": 2000, "currentPage": 1},
    }
    if next_link:  # real Cumulocity links a next page even from the last one
        body["next"] = "https://example.com/measurement/measurements?currentPage=2"
    return body


_IDS = itertools.count(1)


def _m(time_text: str, value: Any, type_: str = "c8y_Acceleration") -> dict[str, Any]:
    return {
        "id": str(next(_IDS)),
        "source": {"id": "5"},
        "time": time_text,
        "type": type_,
        "c8y_Acceleration": {"accelerationX": {"value": value, "unit": "m/s2"}},
    }


def _scripted(
    base: str, *, attempts: int = 4, timeout_s: float = 5
) -> tuple[CumulocitySource, list[float]]:
    delays: list[float] = []
    client = CumulocityClient(
        base,
        "acme",
        "reader",
        "pw",
        timeout_s=timeout_s,
        retry=RetryPolicy(attempts=attempts, backoff_s=0.01, max_backoff_s=0.05),
        sleep=delays.append,
    )
    return CumulocitySource(client), delays


def _read_x(connector: CumulocitySource) -> SeriesChunk:
    (chunk,) = connector.read("t", 5, [X], T0, T0 + timedelta(hours=1))
    return chunk


def test_429_then_503_then_success() -> None:
    good = _page(
        _m("2026-01-14T00:00:02.000Z", 2.0),
        _m("2026-01-14T01:00:00.000+01:00", 0.5),  # the same instant as T0, with an offset
        _m("2026-01-14T00:00:02.000Z", 9.0, "other"),  # a repeated instant: the first counts
        _m("2026-01-14T01:00:00.000Z", 7.0),  # at dateTo: outside [start, end)
        _m("2026-01-14T00:00:03.000Z", "n/a"),  # not a number: skipped
        next_link=True,
    )
    app = ScriptedApp(
        Reply(429, {"error": "too many"}, headers={"Retry-After": "0"}),
        Reply(503, {"error": "general/serviceUnavailable"}),
        Reply(200, good),
    )
    with serve_asgi(app) as base:
        connector, delays = _scripted(base)
        with connector:
            chunk = _read_x(connector)
    t0 = int(T0.timestamp()) * 10**9
    np.testing.assert_array_equal(chunk.series[X].times_ns, [t0, t0 + 2 * 10**9])
    np.testing.assert_array_equal(chunk.series[X].values, [0.5, 2.0])
    assert len(app.seen) == 3
    assert delays[0] == 0  # Retry-After honoured
    assert 0 < delays[1] <= 0.05
    query = httpx.QueryParams(app.seen[-1].query)
    assert query["pageSize"] == "2000"
    assert query["currentPage"] == "1"
    assert query["source"] == "5"
    assert query["valueFragmentType"] == "c8y_Acceleration"
    assert query["valueFragmentSeries"] == "accelerationX"
    assert query["dateFrom"] == "2026-01-14T00:00:00.000Z"
    assert query["dateTo"] == "2026-01-14T01:00:00.000Z"
    assert app.seen[-1].authorization == "Basic " + base64.b64encode(b"acme/reader:pw").decode()


def test_5xx_that_persists_gives_up_with_a_clear_error() -> None:
    app = ScriptedApp(Reply(500, {"error": "boom"}))
    with serve_asgi(app) as base:
        connector, delays = _scripted(base, attempts=3)
        with connector, pytest.raises(SourceError) as raised:
            _read_x(connector)
    assert str(raised.value) == (
        f"Cumulocity at {base} answered GET /measurement/measurements with 500 Internal Server "
        "Error (tried 3 times)."
    )
    assert len(app.seen) == 3
    assert len(delays) == 2


def test_slow_server_times_out_cleanly() -> None:
    app = ScriptedApp(Reply(200, _page(), delay_s=0.6))
    with serve_asgi(app) as base:
        connector, _ = _scripted(base, attempts=2, timeout_s=0.2)
        started = time.monotonic()
        with connector, pytest.raises(SourceError) as raised:
            _read_x(connector)
        took = time.monotonic() - started
    assert str(raised.value) == (
        f"Cumulocity at {base} did not answer GET /measurement/measurements within 0.2 s "
        "(tried 2 times)."
    )
    assert took < 1.0


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(200, text="<html>proxy login</html>"), "with something that is not a JSON object"),
        (Reply(200, {"items": []}), "without a 'measurements' list"),
        (Reply(200, _page(_m("yesterday", 1.0))), "time 'yesterday' is not ISO-8601"),
        (
            Reply(422, {"error": "x", "message": "dateFrom is\n  bad."}),
            "refused GET /measurement/measurements with 422: dateFrom is bad.",
        ),
        (Reply(404, {"error": "x"}), "has no /measurement/measurements (404 Not Found)"),
    ],
    ids=["not-json", "wrong-shape", "bad-time", "4xx-with-message", "404-path"],
)
def test_unexpected_answers_are_clear_errors(reply: Reply, expected: str) -> None:
    app = ScriptedApp(reply)
    with serve_asgi(app) as base:
        connector, _ = _scripted(base)
        with connector, pytest.raises(SourceError) as raised:
            _read_x(connector)
    assert expected in str(raised.value)
    assert len(app.seen) == 1  # not retried
    _one_sentence(str(raised.value))


def test_pages_are_followed_until_a_short_page() -> None:
    full = _page(*[_m(f"2026-01-14T00:00:{s:02d}.000Z", float(s)) for s in range(2)])
    full["statistics"]["pageSize"] = 2  # the server capped the page size
    full["next"] = "https://example.com/measurement/measurements?currentPage=2"
    last = _page(_m("2026-01-14T00:00:05.000Z", 5.0), next_link=True)
    app = ScriptedApp(Reply(200, full), Reply(200, last))
    with serve_asgi(app) as base:
        connector, _ = _scripted(base)
        with connector:
            chunk = _read_x(connector)
    np.testing.assert_array_equal(chunk.series[X].values, [0.0, 1.0, 5.0])
    asked = [httpx.QueryParams(s.query) for s in app.seen]
    # the next page from the last time read on, not currentPage=2 (the server would skip a page)
    assert [(q["dateFrom"], q["currentPage"]) for q in asked] == [
        ("2026-01-14T00:00:00.000Z", "1"),
        ("2026-01-14T00:00:01.000Z", "1"),
    ]

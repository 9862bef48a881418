"""The Cumulocity connector against a fake tenant written from Cumulocity's documentation
(``fake_tenant.py``), not against batchscore's own server: it reads the same arrays from the
fake as the embedded store answers for the same data, follows its paging and date formats,
waits out 429s, retries 5xx, gives up on slow pages, and writes measurements, alarms and events
with the same outcome as the embedded store. And batchscore's series answer equals the fake's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from batchscore.domain.alarms import NewAlarm, Severity
from batchscore.domain.events import NewEvent
from batchscore.domain.jobs import MeasurementPath
from batchscore.domain.measurements import parse_measurements, to_ns
from batchscore.errors import SourceError
from batchscore.service.container import Services
from batchscore.service.embedded_writer import EmbeddedWriter
from batchscore.sources.cumulocity import CumulocitySource
from batchscore.sources.cumulocity_http import CumulocityClient, RetryPolicy
from batchscore.sources.writer import PlatformWriter
from batchscore.testing import RecordingWriter
from tests.integration.fake_tenant import FakeTenant, device_time, parse_time
from tests.integration.live_server import serve_asgi

T0 = datetime(2026, 1, 14, 0, 0, tzinfo=UTC)
ACC = [MeasurementPath("c8y_Acceleration", s) for s in ("accelerationX", "accelerationY")]
GYRO = MeasurementPath("c8y_Gyroscope", "gyroX")
PATHS = [*ACC, GYRO, MeasurementPath("c8y_Temperature", "T")]
SECONDS = 2600  # the acceleration of one device (6 in 7 seconds) needs two pages of 2000
TENANT = "t1"


def documents(device: str, offset_hours: int) -> list[dict[str, Any]]:
    """A device's measurements as it would send them: its own UTC offset, gaps, a second
    measurement at an instant (the first stored counts), another type at the same instant."""
    out: list[dict[str, Any]] = []
    for s in range(SECONDS):
        at = device_time(T0, s + 0.25 * (s % 4), offset_hours)
        if s % 7:
            out.append(
                {
                    "source": {"id": device},
                    "time": at,
                    "type": "c8y_Acceleration",
                    "c8y_Acceleration": {
                        "accelerationX": {"value": s / 8, "unit": "m/s2"},
                        "accelerationY": {"value": -s * 1.5, "unit": "m/s2"},
                    },
                }
            )
        if s % 50 == 0:
            out.append(
                {
                    "source": {"id": device},
                    "time": at,
                    "type": "c8y_Gyroscope",
                    "c8y_Gyroscope": {"gyroX": {"value": s / 3}, "note": {"text": "calibrated"}},
                }
            )
        if s % 100 == 0:  # a repeated instant and type: both stored, the first one counts
            out.append({**out[-1], "c8y_Gyroscope": {"gyroX": {"value": -1.0}}})
    return out


@pytest.fixture
def fake() -> FakeTenant:
    return FakeTenant()


@pytest.fixture
def tenant_url(fake: FakeTenant) -> Iterator[str]:
    with serve_asgi(fake.app()) as url:
        yield url


def connector(
    fake: FakeTenant, url: str, *, attempts: int = 4, timeout_s: float = 5
) -> tuple[CumulocitySource, list[float]]:
    delays: list[float] = []
    client = CumulocityClient(
        url,
        fake.tenant,
        fake.user,
        fake.password,
        timeout_s=timeout_s,
        retry=RetryPolicy(attempts=attempts, backoff_s=0.01, max_backoff_s=1.0),
        sleep=delays.append,
    )
    return CumulocitySource(client), delays


@dataclass(frozen=True)
class Twins:
    devices: list[tuple[int, int]]  # (fake id, embedded id)
    groups: tuple[int, int]  # (fake id, embedded id)


@pytest.fixture
def twins(fake: FakeTenant, services: Services) -> Twins:
    """The same data in the fake tenant and in the embedded store: three devices, the first two
    in a group (one through a subgroup), each sending with its own UTC offset."""
    inv = services.inventory
    group = inv.create(TENANT, {"name": "plant", "c8y_IsDeviceGroup": {}}).id
    sub = inv.create(TENANT, {"name": "line", "c8y_IsDeviceGroup": {}}).id
    inv.add_child(TENANT, group, {"managedObject": {"id": str(sub)}})
    fake_group = fake.add_object("plant", "c8y_IsDeviceGroup")
    fake_sub = fake.add_object("line", "c8y_IsDeviceGroup")
    fake.assign(fake_group, fake_sub)
    pairs: list[tuple[int, int]] = []
    for index, offset in enumerate((1, -5, 0)):
        mine = inv.create(TENANT, {"name": f"d{index}", "c8y_IsDevice": {}}).id
        theirs = fake.add_object(f"d{index}", "c8y_IsDevice")
        if index < 2:
            inv.add_child(TENANT, (group, sub)[index], {"managedObject": {"id": str(mine)}})
            fake.assign((fake_group, fake_sub)[index], theirs)
        for doc in documents(theirs, offset):
            fake.add_measurement(doc)
        local = [{**d, "source": {"id": str(mine)}} for d in documents(theirs, offset)]
        for start in range(0, len(local), 1000):
            services.measurements.create(TENANT, {"measurements": local[start : start + 1000]})
        pairs.append((int(theirs), mine))
    return Twins(pairs, (int(fake_group), group))


@pytest.mark.parametrize(
    ("start", "end", "chunk"),
    [
        (T0, T0 + timedelta(hours=1), None),
        (T0 + timedelta(seconds=17.25), T0 + timedelta(seconds=2200.5), timedelta(minutes=10)),
        (T0 - timedelta(days=1), T0 + timedelta(days=1), timedelta(hours=6)),
    ],
    ids=["hour", "odd-bounds-in-chunks", "sparse-two-days"],
)
def test_the_connector_reads_the_same_arrays_as_the_embedded_store(
    fake: FakeTenant,
    tenant_url: str,
    services: Services,
    twins: Twins,
    start: datetime,
    end: datetime,
    chunk: timedelta | None,
) -> None:
    remote, _ = connector(fake, tenant_url)
    with remote:
        for theirs, mine in twins.devices:
            expected = list(services.source.read(TENANT, mine, PATHS, start, end, chunk))
            got = list(remote.read("t", theirs, PATHS, start, end, chunk))
            assert [(c.start, c.end) for c in got] == [(c.start, c.end) for c in expected]
            for path in PATHS:
                for ours, theirs_chunk in zip(expected, got, strict=True):
                    np.testing.assert_array_equal(
                        theirs_chunk.series[path].times_ns, ours.series[path].times_ns
                    )
                    np.testing.assert_array_equal(
                        theirs_chunk.series[path].values, ours.series[path].values
                    )
    reads = [dict(parse_qsl(q)) for (_, p, q) in fake.seen if p == "/measurement/measurements"]
    # A full page is followed by one asked from its last time on (the device's own time text,
    # never the connector's "Z"), not by currentPage=2 (which makes the tenant skip a page).
    later_pages = [r for r in reads if not r["dateFrom"].endswith("Z")]
    assert bool(later_pages) == (chunk != timedelta(minutes=10))  # long reads took two pages
    assert {r["currentPage"] for r in reads} == {"1"}


def test_reading_by_time_reads_every_measurement_once(fake: FakeTenant, tenant_url: str) -> None:
    """Pages walked by time: an instant with more measurements than a page (paged through with
    currentPage), then instants of 7 measurements each, which page ends cut in two."""
    device = fake.add_object("d", "c8y_IsDevice")
    for s in [0] * 2500 + [s for s in range(1, 601) for _ in range(7)]:
        fake.add_measurement({"source": {"id": device}, "time": device_time(T0, s, 1)})
    client = CumulocityClient(tenant_url, fake.tenant, fake.user, fake.password)
    window = {
        "source": device,
        "dateFrom": "2026-01-14T00:00:00.000Z",
        "dateTo": "2026-01-15T00:00:00.000Z",
        "revert": "false",
    }
    try:
        pages = list(
            client.pages_by_time(
                "/measurement/measurements",
                "measurements",
                window,
                lambda m: to_ns(parse_time(m["time"])),
            )
        )
    finally:
        client.close()
    read = [m["id"] for page in pages for m in page]
    assert read == [m["id"] for m in fake.measurements]  # each once, in the tenant's order
    reads = [dict(parse_qsl(q)) for (_, p, q) in fake.seen if p == "/measurement/measurements"]
    assert [(r["dateFrom"][11:19], r["currentPage"]) for r in reads] == [
        ("00:00:00", "1"),  # 2,000 of the 2,500 at 01:00:00+01:00
        ("01:00:00", "2"),  # the other 500 and 214 instants of 7, then 2 of the next one
        ("01:03:35", "1"),  # its other 5 and 284 instants, then 5 of the next
        ("01:08:20", "1"),  # the remaining 2 and 100 instants: a short page, the end
    ]


def test_group_membership_is_the_same(
    fake: FakeTenant, tenant_url: str, services: Services, twins: Twins
) -> None:
    """childAssets references of the fake carry only id and name: the connector looks the
    objects up to know what they are."""
    remote, _ = connector(fake, tenant_url)
    with remote:
        theirs = remote.devices_below("t", twins.groups[0])
    ours = services.source.devices_below(TENANT, twins.groups[1])
    by_theirs = dict(twins.devices)
    assert sorted(by_theirs[t] for t in theirs) == ours == sorted(m for _, m in twins.devices[:2])


def test_429_with_retry_after_5xx_and_slow_pages(
    fake: FakeTenant, tenant_url: str, services: Services, twins: Twins
) -> None:
    theirs, mine = twins.devices[0]
    window = (T0, T0 + timedelta(minutes=30))
    expected = next(iter(services.source.read(TENANT, mine, [ACC[0]], *window)))
    fake.fail("/measurement/measurements", 429, times=2, retry_after="0.25")
    fake.fail("/measurement/measurements", 503, times=1)
    remote, delays = connector(fake, tenant_url)
    with remote:
        got = next(iter(remote.read("t", theirs, [ACC[0]], *window)))
    np.testing.assert_array_equal(got.series[ACC[0]].values, expected.series[ACC[0]].values)
    assert delays[:2] == [0.25, 0.25]  # the tenant's Retry-After, then backoff for the 503
    assert 0 < delays[2] <= 0.05

    fake.fail("/measurement/measurements", 500, times=5)
    failing, _ = connector(fake, tenant_url, attempts=3)
    with (
        failing,
        pytest.raises(
            SourceError, match=r"answered GET /measurement/measurements with 500 .*tried 3 times"
        ),
    ):
        next(iter(failing.read("t", theirs, [ACC[0]], *window)))
    fake.faults.clear()

    fake.slow("/measurement/measurements", 0.5)
    slow, _ = connector(fake, tenant_url, attempts=2, timeout_s=0.2)
    with (
        slow,
        pytest.raises(
            SourceError, match=r"did not answer GET /measurement/measurements within 0\.2 s"
        ),
    ):
        next(iter(slow.read("t", theirs, [ACC[0]], *window)))
    patient, _ = connector(fake, tenant_url, timeout_s=3)
    with patient:
        got = next(iter(patient.read("t", theirs, [ACC[0]], *window)))
    np.testing.assert_array_equal(got.series[ACC[0]].values, expected.series[ACC[0]].values)


def test_revert_and_date_formats_of_the_fake(fake: FakeTenant, tenant_url: str) -> None:
    """The fake itself, as documented: newest first with revert=true; a date alone and times
    with offsets select the same measurements."""
    device = fake.add_object("d", "c8y_IsDevice")
    for doc in documents(device, 2)[:20]:
        fake.add_measurement(doc)
    auth = (f"{fake.tenant}/{fake.user}", fake.password)
    with httpx.Client(base_url=tenant_url, auth=auth) as http:

        def times(**params: Any) -> list[str]:
            body = http.get(
                "/measurement/measurements", params={"source": device, "pageSize": 100, **params}
            ).json()
            return [m["time"] for m in body["measurements"]]

        oldest = times()
        assert times(revert="true") == oldest[::-1]
        assert times(dateFrom="2026-01-14", dateTo="2026-01-15") == oldest
        assert times(dateFrom="2026-01-14T02:00:05.000+02:00") == times(
            dateFrom="2026-01-14T00:00:05Z"
        )


def test_batchscore_answers_series_as_the_fake_does(
    fake: FakeTenant, tenant_url: str, client: TestClient, admin: dict[str, str], services: Services
) -> None:
    """The same measurements in both: /measurement/measurements/series answers the same values,
    specs and truncation, per instant (past 5000 instants) and aggregated."""
    mine = services.inventory.create("t1", {"name": "s", "c8y_IsDevice": {}}).id
    theirs = fake.add_object("s", "c8y_IsDevice")
    docs = [
        {
            "time": device_time(T0, s * 1.5, 0),
            "type": "c8y_T",
            "c8y_T": {"T": {"value": float(s % 17), "unit": "C"}},
            **({"c8y_H": {"H": {"value": float(s)}}} if s % 3 == 0 else {}),
        }
        for s in range(5002)
    ]
    for doc in docs:
        fake.add_measurement({**doc, "source": {"id": theirs}})
    parsed, _ = parse_measurements(
        {"measurements": [{**d, "source": {"id": str(mine)}} for d in docs]}
    )
    services.measurements.create_many("t1", parsed)
    auth = (f"{fake.tenant}/{fake.user}", fake.password)
    truncated = []
    with httpx.Client(base_url=tenant_url, auth=auth) as http:
        for extra in (
            {},
            {"aggregationType": "MINUTELY"},
            {"aggregationType": "HOURLY", "revert": "true"},
        ):
            params = {
                "series": ["c8y_T.T", "c8y_H.H"],
                "dateFrom": "2026-01-14T00:00:00Z",
                "dateTo": "2026-01-14T05:00:00Z",
                **extra,
            }
            ours = client.get(
                "/measurement/measurements/series", params={"source": mine, **params}, headers=admin
            ).json()
            reference = http.get(
                "/measurement/measurements/series", params={"source": theirs, **params}
            ).json()
            assert ours == reference, extra
            truncated.append(ours["truncated"])
    assert truncated == [True, False, False]  # 5002 instants; 126 minutes; 3 hours


def write_everything(writer: PlatformWriter, source: int) -> dict[str, Any]:
    ids = writer.create_measurements(
        "t1",
        parse_measurements(
            {
                "measurements": [
                    {
                        "source": {"id": source},
                        "time": "2026-01-14T00:00:00Z",
                        "type": "c8y_S",
                        "c8y_S": {"s": {"value": 1}},
                    },
                    {
                        "source": {"id": source},
                        "time": "2026-01-14T00:00:00Z",
                        "type": "c8y_S",
                        "c8y_S": {"s": {"value": 1}},
                    },
                ]
            }
        )[0],
    )
    alarm = NewAlarm(source, "bs_Anomaly", to_ns(T0), "3 anomalies", Severity.MAJOR)
    first = writer.raise_alarm("t1", alarm)
    again = writer.raise_alarm("t1", alarm)
    cleared = writer.clear_alarms("t1", source, "bs_Anomaly")
    after = writer.raise_alarm("t1", alarm)
    event = writer.create_event(
        "t1", NewEvent(source, "bs_Scored", to_ns(T0), "scored", {"bs_Job": {"id": 1}})
    )
    return {
        "measurements": len(set(ids)),
        "deduplicated": (again.id == first.id, first.count, again.count),
        "cleared": cleared,
        "new after clearing": after.id != first.id and after.is_new,
        "event": event > 0,
    }


def test_writes_have_the_same_outcome_in_the_tenant_and_the_store(
    fake: FakeTenant, tenant_url: str, services: Services
) -> None:
    """The PlatformWriter port: the Cumulocity connector's writer and the embedded one, same
    calls, same outcome (every measurement stored, alarms de-duplicated, cleared, raised anew)."""
    remote_source = int(fake.add_object("d", "c8y_IsDevice"))
    remote, _ = connector(fake, tenant_url)
    with remote:
        theirs = write_everything(remote.writer(), remote_source)
    embedded = EmbeddedWriter(services.measurements, services.alarms, services.events)
    mine = services.inventory.create("t1", {"name": "d", "c8y_IsDevice": {}}).id
    ours = write_everything(embedded, mine)
    assert (
        theirs
        == ours
        == {
            "measurements": 2,
            "deduplicated": (True, 1, 2),
            "cleared": 1,
            "new after clearing": True,
            "event": True,
        }
    )
    assert fake.events[0]["bs_Job"] == {"id": 1}
    assert [a["status"] for a in fake.alarms] == ["CLEARED", "ACTIVE"]


def test_writes_are_repeated_only_when_surely_not_taken(fake: FakeTenant, tenant_url: str) -> None:
    """429 and 503: the tenant did not take the write, it is sent again; a 500 may have been
    taken: never sent twice."""
    source = int(fake.add_object("d", "c8y_IsDevice"))
    event = NewEvent(source, "bs_Scored", to_ns(T0), "scored")
    fake.fail("/event/events", 429, times=1, retry_after="0")
    fake.fail("/event/events", 503, times=1)
    remote, _ = connector(fake, tenant_url)
    with remote:
        remote.writer().create_event("t1", event)
        assert len(fake.events) == 1
        fake.fail("/event/events", 500, times=1)
        with pytest.raises(SourceError, match="with 500"):
            remote.writer().create_event("t1", event)
    posts = [p for (m, p, _) in fake.seen if m == "POST"]
    assert len(posts) == 4
    assert len(fake.events) == 1


def test_the_recording_writer_behaves_as_the_others() -> None:
    """batchscore.testing.RecordingWriter, the port's test double, answers as the two writers."""
    writer = RecordingWriter()
    assert write_everything(writer, 5) == {
        "measurements": 2,
        "deduplicated": (True, 1, 2),
        "cleared": 1,
        "new after clearing": True,
        "event": True,
    }

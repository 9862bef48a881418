"""The embedded MeasurementSource reads windows of the store into numpy arrays."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from batchscore.domain.jobs import MeasurementPath
from batchscore.domain.measurements import to_ns
from batchscore.errors import NotFound
from batchscore.service.container import Services
from batchscore.sources.embedded import EmbeddedSource
from batchscore.sources.source import MeasurementSource, SeriesChunk
from batchscore.store.measurements import insert_values
from batchscore.store.series import ValueRow

T0 = datetime(2026, 1, 14, 0, 0, tzinfo=UTC)
X = MeasurementPath("c8y_Acceleration", "accelerationX")
Y = MeasurementPath("c8y_Acceleration", "accelerationY")
TENANT = "t1"


@pytest.fixture
def source(services: Services) -> EmbeddedSource:
    return EmbeddedSource(services.db, services.inventory)


@pytest.fixture
def device(services: Services) -> int:
    return services.inventory.create(TENANT, {"name": "d", "c8y_IsDevice": {}}).id


def store(services: Services, device: int, path: MeasurementPath, seconds: range) -> None:
    rows = [
        ValueRow(device, path.fragment, path.series, to_ns(T0) + s * 10**9, s / 4, None, "t")
        for s in seconds
    ]
    with services.db.write() as conn:
        insert_values(conn, TENANT, rows)


def concat(
    chunks: list[SeriesChunk], path: MeasurementPath
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    times = np.concatenate([c.series[path].times_ns for c in chunks])
    values = np.concatenate([c.series[path].values for c in chunks])
    return times, values


def test_reads_exact_arrays_in_half_open_windows(
    source: EmbeddedSource, services: Services, device: int
) -> None:
    store(services, device, X, range(0, 100))
    store(services, device, Y, range(0, 100, 10))
    store(services, device + 1, X, range(0, 100))  # another device, never read
    (chunk,) = source.read(
        TENANT, device, [X, Y], T0 + timedelta(seconds=10), T0 + timedelta(seconds=20)
    )
    xs = chunk.series[X]
    assert xs.times_ns.dtype == np.int64
    assert xs.values.dtype == np.float64
    expected = np.arange(10, 20, dtype=np.int64) * 10**9 + to_ns(T0)
    np.testing.assert_array_equal(xs.times_ns, expected)
    np.testing.assert_array_equal(xs.values, np.arange(10, 20) / 4)
    np.testing.assert_array_equal(chunk.series[Y].times_ns, [to_ns(T0) + 10 * 10**9])
    assert (chunk.start, chunk.end) == (T0 + timedelta(seconds=10), T0 + timedelta(seconds=20))


def test_long_windows_stream_in_chunks_with_the_same_arrays(
    source: EmbeddedSource, services: Services, device: int
) -> None:
    store(services, device, X, range(0, 3600, 7))
    end = T0 + timedelta(hours=1)
    (whole,) = source.read(TENANT, device, [X], T0, end)
    chunks = list(source.read(TENANT, device, [X], T0, end, chunk=timedelta(minutes=7)))
    assert len(chunks) == 9
    assert chunks[0].start == T0
    assert chunks[-1].end == end
    assert all(a.end == b.start for a, b in itertools.pairwise(chunks))
    times, values = concat(chunks, X)
    np.testing.assert_array_equal(times, whole.series[X].times_ns)
    np.testing.assert_array_equal(values, whole.series[X].values)
    assert len(times) == len(range(0, 3600, 7))


def test_empty_windows_give_empty_arrays(
    source: EmbeddedSource, services: Services, device: int
) -> None:
    store(services, device, X, range(10))
    (chunk,) = source.read(TENANT, device, [X, Y], T0 - timedelta(hours=1), T0)
    for path in (X, Y):
        assert len(chunk.series[path]) == 0
        assert chunk.series[path].times_ns.dtype == np.int64
        assert chunk.series[path].values.dtype == np.float64
    (other,) = source.read("t2", device, [X], T0, T0 + timedelta(hours=1))
    assert len(other.series[X]) == 0


def test_devices_below_resolves_groups(source: EmbeddedSource, services: Services) -> None:
    inv = services.inventory
    group = inv.create(TENANT, {"name": "g", "c8y_IsDeviceGroup": {}})
    devices = [inv.create(TENANT, {"name": n, "c8y_IsDevice": {}}).id for n in "ab"]
    for d in devices:
        inv.add_child(TENANT, group.id, {"managedObject": {"id": str(d)}})
    checked: MeasurementSource = source
    assert checked.devices_below(TENANT, group.id) == devices
    assert checked.devices_below(TENANT, devices[0]) == devices[:1]
    with pytest.raises(NotFound):
        checked.devices_below("t2", group.id)


def test_empty_stretches_of_long_windows_are_skipped(
    source: EmbeddedSource, services: Services, device: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two bursts of data a year apart in a three-year window of 6-hour chunks (4,380 chunks):
    a handful of reads, the same arrays as one read of the whole window, and the chunks that
    hold data are those of the 6-hour grid."""
    year = 365 * 86400
    store(services, device, X, range(0, 60))
    store(services, device, Y, range(year + 3600, year + 3660))
    start = T0 - timedelta(days=365) + timedelta(minutes=1)
    end = start + timedelta(days=3 * 365)
    six_hours = timedelta(hours=6)
    reads = 0
    read = services.db.read

    def counted() -> Any:
        nonlocal reads
        reads += 1
        return read()

    monkeypatch.setattr(services.db, "read", counted)
    chunks = list(source.read(TENANT, device, [X, Y], start, end, chunk=six_hours))
    assert len(chunks) == 5
    assert reads == 5 + 3  # a read per chunk, and where-next after each of 3 empty ones
    assert chunks[0].start == start
    assert chunks[-1].end == end
    assert all(a.end == b.start for a, b in itertools.pairwise(chunks))
    assert all((c.start - start) % six_hours == timedelta(0) for c in chunks)
    full = [c for c in chunks if any(len(s) for s in c.series.values())]
    assert [c.end - c.start for c in full] == [six_hours, six_hours]
    (whole,) = source.read(TENANT, device, [X, Y], start, end)
    for path in (X, Y):
        times, values = concat(chunks, path)
        np.testing.assert_array_equal(times, whole.series[path].times_ns)
        np.testing.assert_array_equal(values, whole.series[path].values)
        assert len(times) == 60

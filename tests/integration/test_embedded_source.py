"""The embedded MeasurementSource reads windows of the store into numpy arrays."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pytest

from batchscore.domain.jobs import MeasurementPath
from batchscore.domain.measurements import to_ns
from batchscore.errors import NotFound
from batchscore.service.container import Services
from batchscore.sources.embedded import EmbeddedSource
from batchscore.sources.source import MeasurementSource, SeriesChunk, chunk_bounds
from batchscore.store.measurements import ValueRow, insert_values

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


def test_chunk_bounds() -> None:
    hour = timedelta(hours=1)
    assert list(chunk_bounds(T0, T0 + hour, None)) == [(T0, T0 + hour)]
    assert list(chunk_bounds(T0, T0 + hour, timedelta(minutes=40))) == [
        (T0, T0 + timedelta(minutes=40)),
        (T0 + timedelta(minutes=40), T0 + hour),
    ]
    assert list(chunk_bounds(T0, T0, hour)) == [(T0, T0)]
    with pytest.raises(ValueError, match="positive"):
        list(chunk_bounds(T0, T0 + hour, timedelta(0)))

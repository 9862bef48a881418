"""One read for all of a device's mapped series (``store.series.read_paths``) answers exactly
what one range read per series answers: per path in the order asked, the first-stored value
where two measurements share an instant, nothing of series not asked for or other devices."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from batchscore.domain.measurements import to_ns
from batchscore.service.container import Services
from batchscore.store import series as series_module
from batchscore.store.measurements import insert_values
from batchscore.store.series import ValueRow, read_paths, read_series

TENANT = "t1"
T0 = to_ns(datetime(2026, 1, 14, tzinfo=UTC))


@pytest.fixture
def device(services: Services) -> int:
    return services.inventory.create(TENANT, {"name": "d", "c8y_IsDevice": {}}).id


def test_one_read_of_all_paths_equals_a_read_per_path(
    services: Services, device: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        ValueRow(device, fragment, series, T0 + s * 10**9, s * k + 0.5, None, None)
        for k, (fragment, series, step) in enumerate(
            [("b", "x", 1), ("a", "y", 2), ("a", "x", 3), ("b", "z", 1), ("a", "z", 5)]
        )
        for s in range(0, 200, step)
    ]
    rows += [ValueRow(device + 1, "a", "x", T0 + s * 10**9, -1.0, None, None) for s in range(9)]
    with services.db.write() as conn:
        insert_values(conn, TENANT, rows)
        # a second measurement at instants already held: the first stored value counts
        insert_values(
            conn,
            TENANT,
            [
                ValueRow(device, "a", "y", T0 + s * 10**9, 99.0, None, "other")
                for s in range(0, 40, 2)
            ],
        )
    # asked in another order than the key's, a cross pair (b.y) without data, a.z left out
    paths = [("b", "z"), ("a", "y"), ("b", "y"), ("a", "x"), ("b", "x")]
    lo, hi = T0 + 10 * 10**9, T0 + 150 * 10**9
    with services.db.read() as conn:
        alone = [read_series(conn, TENANT, device, f, s, lo, hi) for f, s in paths]
        if conn.dialect.name == "postgresql":  # one COPY, never the per-path way
            monkeypatch.setattr(series_module, "read_series", None)
        together = read_paths(conn, TENANT, device, paths, lo, hi)
        assert read_paths(conn, TENANT, device, [], lo, hi) == []
    assert [len(t) for t, _ in together] == [140, 70, 0, 46, 140]
    for (times, values), (want_times, want_values) in zip(together, alone, strict=True):
        assert times.dtype == np.int64
        assert values.dtype == np.float64
        np.testing.assert_array_equal(times, want_times)
        np.testing.assert_array_equal(values, want_values)
    assert 99.0 not in together[1][1]

"""The measurement store on every backend: documents and their series values written together,
read back as documents and as windows, deleted together; ids never reused."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from batchscore.domain.measurements import NewMeasurement, SeriesValue
from batchscore.store.db import Database
from batchscore.store.measurements import (
    MeasurementFilter,
    delete_matching,
    delete_measurement,
    get_measurement,
    insert_measurements,
    insert_values,
    measurements_of_values,
)
from batchscore.store.series import ValueRow, read_series, series_of
from batchscore.store.tables import measurement_values

T = 1_767_225_600 * 10**9


def values_count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(measurement_values)).scalar_one())


def test_bulk_documents_are_the_json_of_their_values(db: Database) -> None:
    """insert_values writes documents as text directly; they read back as measurements_of_values
    builds them: names with quotes, backslashes and unicode, units, float spellings."""
    rows = [
        ValueRow(5, "c8y_A", "x", T, 1e-05, "m/s²", "t"),
        ValueRow(5, "c8y_A", "y\\z", T, 1e16, None, "t"),
        ValueRow(5, "Zürich_北京", "ü", T, -0.0, 'in"ch', "t"),
        ValueRow(5, "c8y_A", "x", T + 1, 3, None, None),
    ]
    with db.write() as conn:
        assert insert_values(conn, "t", rows) == 2
    expected = measurements_of_values(rows)
    with db.read() as conn:
        stored = [get_measurement(conn, "t", i) for i in (1, 2)]
    assert [(s.source, s.time_ns, s.type, s.fragments) for s in stored if s] == [
        (m.source, m.time_ns, m.type, m.fragments) for m in expected
    ]
    assert stored[1] is not None
    assert json.dumps(stored[1].fragments) == '{"c8y_A": {"x": {"value": 3.0}}}'


def test_repeated_instants_are_kept_and_the_first_counts_in_windows(db: Database) -> None:
    first = NewMeasurement(
        5, T, "t", {"f": {"s": {"value": 1.0}}}, (SeriesValue("f", "s", 1.0, None),)
    )
    second = NewMeasurement(
        5, T, "t", {"f": {"s": {"value": 2.0}}}, (SeriesValue("f", "s", 2.0, None),)
    )
    later = NewMeasurement(
        5, T + 5, "u", {"f": {"s": {"value": 3.0}}}, (SeriesValue("f", "s", 3.0, None),)
    )
    with db.write() as conn:
        ids = insert_measurements(conn, "t", [first, second, later])
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    with db.read() as conn:
        times, values = read_series(conn, "t", 5, "f", "s", T, T + 10)
    assert times.tolist() == [T, T + 5]
    assert values.tolist() == [1.0, 3.0]
    assert values_count(db) == 3


def test_deletes_take_the_values_along_and_ids_stay_used(db: Database) -> None:
    rows = [
        ValueRow(5, "f", s, T + i, float(i), None, "a" if i % 2 else "b")
        for i in range(6)
        for s in "xy"
    ]
    with db.write() as conn:
        insert_values(conn, "t", rows)
        insert_values(conn, "t", [ValueRow(6, "g", "z", T, 1.0, None, "c")])
    assert values_count(db) == 13
    with db.write() as conn:
        assert delete_measurement(conn, "t", 1)  # T + 0, both series
        assert not delete_measurement(conn, "t", 1)
        assert delete_matching(conn, "t", MeasurementFilter(device_id=5, type="a")) == 3
        assert delete_matching(conn, "t", MeasurementFilter(device_id=5, start_ns=T + 3)) == 1
    with db.read() as conn:
        times, _ = read_series(conn, "t", 5, "f", "x", T, T + 10)
        assert times.tolist() == [T + 2]
        assert series_of(conn, "t", 6) == [("g", "z")]
    assert values_count(db) == 3
    with db.write() as conn:
        assert delete_matching(conn, "t", MeasurementFilter()) == 2
        (new_id,) = insert_measurements(conn, "t", [NewMeasurement(5, T, "t", {}, ())])
    assert values_count(db) == 0
    assert new_id == 8  # after the 7 ever stored, deleted or not

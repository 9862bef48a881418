"""Measurement JSON validation: every problem named with its measurement index and field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from batchscore.domain.measurements import (
    MAX_MEASUREMENTS,
    format_time,
    from_ns,
    parse_measurements,
    to_ns,
)
from batchscore.errors import Invalid


def measurement(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": {"id": "7"},
        "time": "2026-01-14T12:00:00.000+01:00",
        "type": "c8y_Acceleration",
        "c8y_Acceleration": {
            "accelerationX": {"value": 1.5, "unit": "g"},
            "accelerationY": {"value": -2},
        },
    }
    body.update(overrides)
    return body


def messages(body: Any) -> list[str]:
    with pytest.raises(Invalid) as info:
        parse_measurements(body)
    return list(info.value.messages)


def test_one_measurement_parses_to_values() -> None:
    parsed, is_collection = parse_measurements(measurement())
    assert not is_collection
    (item,) = parsed
    assert item.source == 7
    assert item.type == "c8y_Acceleration"
    assert item.time_ns == to_ns(datetime(2026, 1, 14, 11, 0, tzinfo=UTC))
    assert [(v.fragment, v.series, v.value, v.unit) for v in item.values] == [
        ("c8y_Acceleration", "accelerationX", 1.5, "g"),
        ("c8y_Acceleration", "accelerationY", -2.0, None),
    ]


def test_a_collection_parses_every_item() -> None:
    body = {"measurements": [measurement(), measurement(source={"id": 8})]}
    parsed, is_collection = parse_measurements(body)
    assert is_collection
    assert [p.source for p in parsed] == [7, 8]


def test_any_fragment_is_kept_and_only_number_values_are_series() -> None:
    """Fragments are kept as sent; a series is a ``{"value": <number>}`` two levels down."""
    extra = {
        "c8y_Position": {"lat": 52.1, "lng": 4.3},
        "c8y_Note": "checked",
        "c8y_Flags": [1, 2],
        "c8y_Status": {"state": {"value": "ok"}, "on": {"value": True}},
        "c8y_Big": {"n": {"value": 10**30}},
    }
    (item,), _ = parse_measurements(measurement(**extra))
    assert item.fragments == {"c8y_Acceleration": measurement()["c8y_Acceleration"], **extra}
    assert [(v.fragment, v.series, v.value) for v in item.values] == [
        ("c8y_Acceleration", "accelerationX", 1.5),
        ("c8y_Acceleration", "accelerationY", -2.0),
        ("c8y_Big", "n", 1e30),
    ]


def test_a_measurement_without_fragments_is_one() -> None:
    body = measurement()
    del body["c8y_Acceleration"]
    (item,), _ = parse_measurements(body)
    assert (item.fragments, item.values) == ({}, ())


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"source": None}, "source:"),
        ({"source": {"id": ""}}, "source:"),
        ({"time": None}, "time: is required"),
        ({"time": "yesterday"}, "time: 'yesterday' is not ISO-8601"),
        ({"time": "2026-01-14T12:00:00"}, "time: '2026-01-14T12:00:00' is not ISO-8601"),
        ({"time": "1969-12-31T23:59:59Z"}, "time: must lie in [1970-01-01, 2100-01-01)"),
        ({"time": "2100-01-01T00:00:00Z"}, "time: must lie in"),
        ({"type": None}, "type: a string"),
        ({"type": ""}, "type: a string"),
        ({"c8y_Acceleration": {"x": {"value": float("nan")}}}, "x.value: must be a finite"),
        ({"c8y_Acceleration": {"x": {"value": float("inf")}}}, "x.value: must be a finite"),
        ({"c8y_Acceleration": {"x": {"value": 10**400}}}, "x.value: must be a finite"),
        ({"c8y_Note": [1.0, float("-inf")]}, "c8y_Note[1]: must be a finite"),
        ({"c8y_Acceleration": {"a.b": {"value": 1}}}, "'a.b': is not a valid series name"),
        ({"c8y_Acceleration": {"": {"value": 1}}}, "'': is not a valid series name"),
        ({"c8y_Acceleration": {"x": {"value": 1, "unit": 3}}}, "x.unit: must be a string"),
        ({"c8y_Acceleration": {"x": {"value": 1, "unit": "u" * 33}}}, "x.unit: must be a string"),
    ],
)
def test_each_problem_has_a_clear_message(overrides: dict[str, Any], expected: str) -> None:
    found = messages(measurement(**overrides))
    assert len(found) == 1, found
    assert expected in found[0]


def test_fragment_names_without_dots() -> None:
    body = measurement()
    body["a.b"] = {"x": {"value": 1}}
    body[""] = {"x": {"value": 1}}
    found = messages(body)
    assert found == [
        "'a.b': is not a valid fragment name.",
        "'': is not a valid fragment name.",
    ]


def test_collection_messages_name_the_index() -> None:
    body = {"measurements": [measurement(), measurement(time="nope"), "x"]}
    assert messages(body) == [
        "measurements[1].time: 'nope' is not ISO-8601 with a UTC offset.",
        "measurements[2]: must be a JSON object.",
    ]


def test_collection_shape_and_size() -> None:
    assert messages([]) == ["The measurement must be a JSON object."]
    assert messages({"measurements": {}}) == ["measurements must be a list of measurement objects."]
    assert messages({"measurements": []}) == ["measurements must not be empty."]
    too_many = {"measurements": [measurement()] * (MAX_MEASUREMENTS + 1)}
    assert messages(too_many) == [f"A collection holds at most {MAX_MEASUREMENTS} measurements."]


def test_many_problems_are_summarised() -> None:
    body = {"measurements": [measurement(time="bad")] * 50}
    found = messages(body)
    assert len(found) == 21
    assert found[-1] == "... and 30 more problems."


def test_times_round_trip_exactly() -> None:
    instant = datetime(2026, 1, 14, 12, 0, 0, 123456, tzinfo=UTC)
    assert from_ns(to_ns(instant)) == instant
    assert format_time(to_ns(instant)) == "2026-01-14T12:00:00.123456Z"
    assert format_time(to_ns(instant.replace(microsecond=5000))) == "2026-01-14T12:00:00.005Z"
    assert to_ns(datetime(1970, 1, 1, tzinfo=UTC)) == 0

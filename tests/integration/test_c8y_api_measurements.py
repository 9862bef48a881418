"""c8y-api's measurement calls against a live batchscore (design §2.4): each test names the
c8y-api methods it drives, used unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from c8y_api import CumulocityApi
from c8y_api.model import Device, Measurement, Measurements

T0 = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)


def _device(c8y: CumulocityApi, name: str) -> Device:
    return Device(c8y, type="c8y_Linux", name=name).create()


def _temperature(c8y: CumulocityApi, source: str, second: int, value: float) -> Measurement:
    return Measurement(
        c8y,
        type="c8y_Temperature",
        source=source,
        time=T0 + timedelta(seconds=second),
        c8y_Temperature={"T": {"value": value, "unit": "C"}},
    )


def test_create_get_delete_one(c8y: CumulocityApi, tag: str) -> None:
    """Measurement.create, Measurements.get (every self link works), Measurement.delete."""
    device = _device(c8y, tag)
    created = _temperature(c8y, device.id, 0, 21.5).create()
    assert created.id.isdigit()
    got = c8y.measurements.get(created.id)
    assert (got.source, got.type, got.c8y_Temperature.T.value) == (
        device.id,
        "c8y_Temperature",
        21.5,
    )
    assert got.datetime == T0
    self_link = c8y.get(f"/measurement/measurements/{created.id}")["self"]
    assert self_link.endswith(f"/measurement/measurements/{created.id}")
    created.delete()
    with pytest.raises(KeyError):
        c8y.measurements.get(created.id)


def test_every_measurement_is_stored(c8y: CumulocityApi, tag: str) -> None:
    """Measurements.create (a collection) and Measurements.get_all(source=): the same source,
    time and type twice, and two types at one instant, are all stored with distinct ids."""
    device = _device(c8y, tag)
    twice = _temperature(c8y, device.id, 0, 1.0)
    other = Measurement(
        c8y, type="c8y_Humidity", source=device.id, time=T0, c8y_Humidity={"H": {"value": 40}}
    )
    c8y.measurements.create(twice, _temperature(c8y, device.id, 0, 2.0), other)
    found = c8y.measurements.get_all(source=device.id)
    assert len(found) == 3
    assert len({m.id for m in found}) == 3
    assert sorted(m.type for m in found) == ["c8y_Humidity", "c8y_Temperature", "c8y_Temperature"]


def test_any_fragment_is_returned(c8y: CumulocityApi, tag: str) -> None:
    """Measurement.create with fragments that are no series (text, flags, positions),
    Measurements.get: returned as sent; Inventory.get_supported_series lists only the number
    leaves."""
    device = _device(c8y, tag)
    created = Measurement(
        c8y,
        type="c8y_Mixed",
        source=device.id,
        time=T0,
        c8y_Temperature={"T": {"value": 3, "unit": "C"}},
        c8y_Status={"state": "ok", "checked": True},
        c8y_Position={"lat": 52.1, "lng": 4.3},
    ).create()
    got = c8y.measurements.get(created.id)
    assert got.c8y_Status.state == "ok"
    assert got.c8y_Position.lng == 4.3
    assert got.c8y_Status.checked is True
    assert c8y.inventory.get_supported_series(device.id) == ["c8y_Temperature.T"]


def test_filters_order_and_paging(c8y: CumulocityApi, tag: str) -> None:
    """Measurements.get_all and .get_count with source=, type=, value_fragment_type=,
    value_fragment_series=, series=, after=/before=, date_from=/date_to= (dates alone too),
    reverse=, limit=, page_size=; Measurements.select."""
    device = _device(c8y, tag)
    c8y.measurements.create(*[_temperature(c8y, device.id, s, float(s)) for s in range(10)])
    c8y.measurements.create(
        Measurement(c8y, type="c8y_Wind", source=device.id, time=T0, c8y_Wind={"v": {"value": 9}})
    )

    def values(**kwargs: object) -> list[float]:
        found = c8y.measurements.get_all(source=device.id, **kwargs)  # type: ignore[arg-type]
        return [m.c8y_Temperature.T.value for m in found if "c8y_Temperature" in m]

    assert values() == [float(s) for s in range(10)]
    assert c8y.measurements.get_count(source=device.id) == 11
    assert c8y.measurements.get_count(source=device.id, type="c8y_Wind") == 1
    assert len(c8y.measurements.get_all(source=device.id, value_fragment_type="c8y_Wind")) == 1
    assert values(value_fragment_type="c8y_Temperature", value_fragment_series="T") == values()
    assert values(series="c8y_Temperature.T") == values()
    assert c8y.measurements.get_all(source=device.id, series="c8y_Temperature.X") == []
    window = {"after": T0 + timedelta(seconds=2), "before": T0 + timedelta(seconds=5)}
    assert values(**window) == [2.0, 3.0, 4.0]
    assert values(date_from=(T0 + timedelta(seconds=8)).isoformat()) == [8.0, 9.0]
    assert values(date_from="2026-01-14", date_to="2026-01-15") == values()
    assert values(date_to="2026-01-14") == []
    assert values(reverse=True, limit=3) == [9.0, 8.0, 7.0]
    assert values(page_size=3) == values()  # followed page by page
    assert [
        m.c8y_Temperature.T.value
        for m in c8y.measurements.select(source=device.id, type="c8y_Temperature", limit=2)
    ] == [0.0, 1.0]


def test_get_last(c8y: CumulocityApi, tag: str) -> None:
    """Measurements.get_last(source=): c8y-api sends dateFrom=1970-01-01 and revert=true."""
    device = _device(c8y, tag)
    assert c8y.measurements.get_last(source=device.id) is None
    c8y.measurements.create(*[_temperature(c8y, device.id, s, float(s)) for s in (5, 1, 3)])
    last = c8y.measurements.get_last(source=device.id)
    assert last is not None
    assert last.c8y_Temperature.T.value == 5.0
    earlier = c8y.measurements.get_last(source=device.id, before=T0 + timedelta(seconds=4))
    assert earlier is not None
    assert earlier.c8y_Temperature.T.value == 3.0


def test_series(c8y: CumulocityApi, tag: str) -> None:
    """Measurements.get_series (per instant, and aggregated HOURLY/DAILY/MINUTELY) and
    Measurements.collect_series; Series.truncated and Series.specs."""
    device = _device(c8y, tag)
    items = [_temperature(c8y, device.id, s * 600, float(s)) for s in range(12)]  # 2 h, each 10 min
    items.append(
        Measurement(c8y, type="c8y_Wind", source=device.id, time=T0, c8y_Wind={"v": {"value": 7}})
    )
    c8y.measurements.create(*items)
    window = {"after": T0, "before": T0 + timedelta(hours=2)}
    raw = c8y.measurements.get_series(source=device.id, series="c8y_Temperature.T", **window)
    assert raw.truncated is False
    assert [(s.type, s.name, s.unit) for s in raw.specs] == [("c8y_Temperature", "T", "C")]
    assert raw.collect(series="c8y_Temperature.T", value="min") == [float(s) for s in range(12)]
    hourly = c8y.measurements.get_series(
        source=device.id,
        series=["c8y_Temperature.T", "c8y_Wind.v"],
        aggregation=Measurements.AggregationType.HOURLY,
        **window,
    )
    assert hourly.collect(series="c8y_Temperature.T") == [(0.0, 5.0), (6.0, 11.0)]
    assert hourly.collect(series="c8y_Wind.v", value="max") == [7]
    daily = c8y.measurements.collect_series(
        source=device.id, series="c8y_Temperature.T", aggregation="DAILY", value="max", **window
    )
    assert daily == [11.0]
    newest_first = c8y.measurements.get_series(
        source=device.id, series="c8y_Temperature.T", reverse=True, **window
    )
    assert newest_first.collect(series="c8y_Temperature.T", value="max")[:2] == [11.0, 10.0]
    minutely = c8y.measurements.get_series(
        source=device.id, series="c8y_Temperature.T", aggregation="MINUTELY", **window
    )
    assert len(minutely["values"]) == 12
    both = c8y.measurements.get_series(source=device.id, **window)  # every series of the source
    assert sorted(s.series for s in both.specs) == ["c8y_Temperature.T", "c8y_Wind.v"]


def test_series_are_truncated_past_5000_values(c8y: CumulocityApi, tag: str) -> None:
    """Measurements.get_series without aggregation: at most 5000 values, Series.truncated."""
    device = _device(c8y, tag)
    items = [_temperature(c8y, device.id, s, float(s)) for s in range(5003)]
    for start in range(0, len(items), 2000):
        c8y.measurements.create(*items[start : start + 2000])
    series = c8y.measurements.get_series(
        source=device.id, series="c8y_Temperature.T", after=T0, before=T0 + timedelta(hours=2)
    )
    assert series.truncated is True
    assert len(series["values"]) == 5000


def test_supported_measurements_and_series(c8y: CumulocityApi, tag: str) -> None:
    """Inventory.get_supported_measurements, .get_supported_series,
    ManagedObject.get_supported_measurements and .get_supported_series."""
    device = _device(c8y, tag)
    c8y.measurements.create(
        _temperature(c8y, device.id, 0, 1.0),
        Measurement(c8y, type="c8y_Wind", source=device.id, time=T0, c8y_Wind={"v": {"value": 2}}),
    )
    assert c8y.inventory.get_supported_measurements(device.id) == ["c8y_Temperature", "c8y_Wind"]
    assert c8y.inventory.get_supported_series(device.id) == ["c8y_Temperature.T", "c8y_Wind.v"]
    assert device.get_supported_measurements() == ["c8y_Temperature", "c8y_Wind"]
    assert device.get_supported_series() == ["c8y_Temperature.T", "c8y_Wind.v"]


def test_delete_by_filters(c8y: CumulocityApi, tag: str) -> None:
    """Measurements.delete_by(source=, type=, date_from=, date_to=) and Measurements.delete."""
    device = _device(c8y, tag)
    c8y.measurements.create(*[_temperature(c8y, device.id, s, float(s)) for s in range(6)])
    c8y.measurements.create(
        Measurement(c8y, type="c8y_Wind", source=device.id, time=T0, c8y_Wind={"v": {"value": 2}})
    )
    c8y.measurements.delete_by(source=device.id, type="c8y_Wind")
    assert c8y.measurements.get_count(source=device.id, type="c8y_Wind") == 0
    c8y.measurements.delete_by(
        source=device.id, date_from=T0 + timedelta(seconds=1), date_to=T0 + timedelta(seconds=3)
    )
    left = c8y.measurements.get_all(source=device.id)
    assert [m.c8y_Temperature.T.value for m in left] == [0.0, 3.0, 4.0, 5.0]
    c8y.measurements.delete(left[0].id)
    assert c8y.measurements.get_count(source=device.id) == 3
    c8y.measurements.delete_by(source=device.id)
    assert c8y.measurements.get_count(source=device.id) == 0
    assert c8y.inventory.get_supported_series(device.id) == []


def test_non_finite_and_unknown_parameters_are_refused(c8y: CumulocityApi, tag: str) -> None:
    """A measurement holding 1e400 posted through c8y-api's session (its Measurement.create
    refuses to encode NaN itself): 422, nothing stored, the list still answers;
    Measurements.get_series with aggregation_function= (not supported): a 422 naming it."""
    device = _device(c8y, tag)
    body = (
        f'{{"source": {{"id": "{device.id}"}}, "time": "2026-01-14T12:00:00Z", "type": "t",'
        ' "c8y_T": {"T": {"value": 1e400}}}'
    )
    r = c8y.session.post(
        c8y.base_url + "/measurement/measurements",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["message"] == "c8y_T.T.value: must be a finite number."
    assert c8y.measurements.get_count(source=device.id) == 0
    with pytest.raises(ValueError, match="aggregationFunction"):
        c8y.measurements.get_series(
            source=device.id,
            series="c8y_Temperature.T",
            aggregation="HOURLY",
            aggregation_function="avg",
            after=T0,
            before=T0 + timedelta(hours=1),
        )

"""c8y-api's alarm and event calls against a live batchscore (design §2.4): each test names the
c8y-api methods it drives, used unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from c8y_api import CumulocityApi
from c8y_api.model import Alarm, Device, DeviceGroup, Event

T0 = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)


def _device(c8y: CumulocityApi, name: str) -> Device:
    return Device(c8y, type="c8y_Linux", name=name).create()


def _alarm(c8y: CumulocityApi, source: str, type_: str, minute: int = 0, **kwargs: object) -> Alarm:
    defaults: dict[str, object] = {"text": f"{type_} at {minute}", "severity": Alarm.Severity.MAJOR}
    return Alarm(
        c8y,
        type=type_,
        source=source,
        time=T0 + timedelta(minutes=minute),
        **{**defaults, **kwargs},
    )


def test_alarm_deduplication(c8y: CumulocityApi, tag: str) -> None:
    """Alarm.create twice for one source and type: one alarm, count 2, time and text of the
    second, firstOccurrenceTime of the first; after Alarm.update to CLEARED a new one is raised."""
    device = _device(c8y, tag)
    first = _alarm(c8y, device.id, "c8y_Overheat", 0).create()
    assert (first.count, first.status) == (1, Alarm.Status.ACTIVE)
    again = _alarm(c8y, device.id, "c8y_Overheat", 5, text="hotter").create()
    assert again.id == first.id
    assert (again.count, again.text) == (2, "hotter")
    assert again.datetime == T0 + timedelta(minutes=5)
    # (c8y-api parses firstOccurrenceTime into first_occurrence, as text)
    assert again.first_occurrence == "2026-01-14T12:00:00.000Z"
    acked = c8y.alarms.get(first.id)
    acked.status = Alarm.Status.ACKNOWLEDGED
    acked.update()
    assert _alarm(c8y, device.id, "c8y_Overheat", 6).create().count == 3  # still open
    cleared = c8y.alarms.get(first.id)
    cleared.status = Alarm.Status.CLEARED
    cleared.update()
    fresh = _alarm(c8y, device.id, "c8y_Overheat", 7).create()
    assert fresh.id != first.id
    assert (fresh.count, c8y.alarms.get(first.id).status) == (1, Alarm.Status.CLEARED)
    other_type = _alarm(c8y, device.id, "c8y_Leak", 8).create()
    assert other_type.id not in (first.id, fresh.id)


def test_alarm_get_update_apply(c8y: CumulocityApi, tag: str) -> None:
    """Alarms.create, Alarms.get_all(type=), Alarm.update (text, severity, a fragment),
    Alarms.update, Alarms.apply_to."""
    device = _device(c8y, tag)
    c8y.alarms.create(_alarm(c8y, device.id, f"{tag}_A"), _alarm(c8y, device.id, f"{tag}_B"))
    a, b = sorted(c8y.alarms.get_all(source=device.id), key=lambda x: x.type)
    a.text = "changed"
    a.severity = Alarm.Severity.CRITICAL
    a["c8y_Detail"] = {"sensor": 3}
    updated = a.update()
    assert (updated.text, updated.severity, updated.c8y_Detail.sensor) == (
        "changed",
        "CRITICAL",
        3,
    )
    b.text = "b-text"
    c8y.alarms.update(b)
    assert c8y.alarms.get(b.id).text == "b-text"
    model = Alarm(c8y, severity=Alarm.Severity.MINOR)
    c8y.alarms.apply_to(model, a.id, b.id)
    assert {c8y.alarms.get(i).severity for i in (a.id, b.id)} == {"MINOR"}


def test_alarm_filters_count_bulk_and_delete(c8y: CumulocityApi, tag: str) -> None:
    """Alarms.get_all and Alarms.count with source=, type=, status=, severity=, resolved=,
    after=/before=, with_source_devices=, with_source_assets=, reverse=; Alarms.apply_by (bulk
    status change); Alarms.delete_by; Alarm.delete; Alarms.select."""
    group = DeviceGroup(c8y, root=True, name=f"{tag}-g").create()
    device = _device(c8y, f"{tag}-d")
    child = _device(c8y, f"{tag}-c")
    group.add_child_asset(device)
    device.add_child_device(child)
    _alarm(c8y, device.id, "c8y_A", 0).create()
    _alarm(c8y, device.id, "c8y_B", 1, severity=Alarm.Severity.CRITICAL).create()
    _alarm(c8y, child.id, "c8y_A", 2, severity=Alarm.Severity.MINOR).create()

    def types(**kwargs: object) -> list[str]:
        return [a.type for a in c8y.alarms.get_all(**kwargs)]  # type: ignore[arg-type]

    assert types(source=device.id) == ["c8y_B", "c8y_A"]  # newest first
    assert types(source=device.id, reverse=True) == ["c8y_A", "c8y_B"]
    assert types(source=device.id, type="c8y_A") == ["c8y_A"]
    assert types(source=device.id, severity="CRITICAL") == ["c8y_B"]
    assert len(types(source=device.id, with_source_devices=True)) == 3
    assert len(types(source=group.id, with_source_assets=True)) == 2
    assert len(types(source=group.id, with_source_assets=True, with_source_devices=True)) == 3
    assert types(source=device.id, after=T0 + timedelta(seconds=30)) == ["c8y_B"]
    assert types(source=device.id, before=T0 + timedelta(seconds=30)) == ["c8y_A"]
    assert c8y.alarms.count(source=device.id, with_source_devices=True) == 3
    assert c8y.alarms.count(source=device.id, status=Alarm.Status.ACTIVE) == 2

    c8y.alarms.apply_by(Alarm(c8y, status=Alarm.Status.CLEARED), source=device.id, type="c8y_A")
    assert types(source=device.id, resolved="true") == ["c8y_A"]
    assert types(source=device.id, resolved="false") == ["c8y_B"]
    assert types(source=device.id, status="ACTIVE,CLEARED") == ["c8y_B", "c8y_A"]
    assert [a.type for a in c8y.alarms.select(source=device.id, limit=1)] == ["c8y_B"]

    c8y.alarms.delete_by(source=device.id, status=Alarm.Status.CLEARED)
    assert types(source=device.id) == ["c8y_B"]
    c8y.alarms.get_all(source=device.id)[0].delete()  # by its source and type, as c8y-api does
    assert types(source=device.id) == []
    assert types(source=child.id) == ["c8y_A"]


def test_alarm_errors(c8y: CumulocityApi, tag: str) -> None:
    """Alarm.create with an unknown severity or source, Alarms.get of an unknown id,
    Alarms.apply_by without any filter: refused with Cumulocity's status codes."""
    device = _device(c8y, tag)
    with pytest.raises(ValueError, match="severity"):
        _alarm(c8y, device.id, "c8y_X", severity="LOUD").create()
    with pytest.raises(ValueError, match="source"):
        _alarm(c8y, "999999999", "c8y_X").create()
    with pytest.raises(KeyError):
        c8y.alarms.get("999999999")
    with pytest.raises(ValueError, match="At least one filter"):
        c8y.alarms.apply_by(Alarm(c8y, status=Alarm.Status.CLEARED))


def test_event_create_get_update_delete(c8y: CumulocityApi, tag: str) -> None:
    """Event.create, Events.create, Events.get, Event.update (text, fragment), Events.update,
    Events.apply_to, Event.delete, Events.delete."""
    device = _device(c8y, tag)
    event = Event(
        c8y, type="c8y_Door", source=device.id, time=T0, text="opened", c8y_Door={"side": "left"}
    ).create()
    got = c8y.events.get(event.id)
    assert (got.type, got.text, got.c8y_Door.side, got.source) == (
        "c8y_Door",
        "opened",
        "left",
        device.id,
    )
    got.text = "closed"
    got["c8y_Door"] = {"side": "right"}
    changed = got.update()
    assert (changed.text, changed.c8y_Door.side) == ("closed", "right")
    c8y.events.create(Event(c8y, type="c8y_Bell", source=device.id, time=T0, text="ring"))
    (bell,) = c8y.events.get_all(source=device.id, type="c8y_Bell")
    bell.text = "rang"
    c8y.events.update(bell)
    c8y.events.apply_to({"c8y_Checked": {}}, event.id, bell.id)
    assert all("c8y_Checked" in c8y.events.get(i) for i in (event.id, bell.id))
    event.delete()
    with pytest.raises(KeyError):
        c8y.events.get(event.id)
    c8y.events.delete(bell.id)
    assert c8y.events.get_all(source=device.id) == []


def test_event_filters_last_count_and_delete_by(c8y: CumulocityApi, tag: str) -> None:
    """Events.get_all and .get_count with source=, type=, fragment=, fragment_type= with
    fragment_value=, after=/before=, reverse=, with_source_assets=; Events.get_last;
    Events.delete_by."""
    group = DeviceGroup(c8y, root=True, name=f"{tag}-g").create()
    device = _device(c8y, tag)
    group.add_child_asset(device)
    for minute in range(4):
        fragments: dict[str, object] = {"c8y_Level": "high" if minute == 3 else "low"}
        if minute % 2 == 0:
            fragments["c8y_Mode"] = {"m": "even"}
        Event(
            c8y,
            type="c8y_Tick" if minute % 2 else "c8y_Tock",
            source=device.id,
            time=T0 + timedelta(minutes=minute),
            text=f"m{minute}",
            **fragments,
        ).create()

    def texts(**kwargs: object) -> list[str]:
        return [e.text for e in c8y.events.get_all(source=device.id, **kwargs)]  # type: ignore[arg-type]

    assert texts() == ["m3", "m2", "m1", "m0"]  # newest first
    assert texts(reverse=True) == ["m0", "m1", "m2", "m3"]
    assert texts(type="c8y_Tick") == ["m3", "m1"]
    assert texts(fragment="c8y_Mode") == ["m2", "m0"]
    assert texts(fragment_type="c8y_Level", fragment_value="high") == ["m3"]
    assert texts(after=T0 + timedelta(minutes=2)) == ["m3", "m2"]
    assert texts(before=T0 + timedelta(minutes=1)) == ["m0"]
    assert c8y.events.get_count(source=device.id, type="c8y_Tock") == 2
    assert [e.text for e in c8y.events.get_all(source=group.id, with_source_assets=True)] == texts()
    last = c8y.events.get_last(source=device.id)
    assert last is not None
    assert last.text == "m3"
    c8y.events.delete_by(source=device.id, type="c8y_Tock")
    assert texts() == ["m3", "m1"]
    c8y.events.delete_by(source=device.id, before=T0 + timedelta(minutes=2))
    assert texts() == ["m3"]

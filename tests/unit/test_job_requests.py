"""Pure validation of POST /job bodies."""

from __future__ import annotations

from typing import Any

import pytest

from batchscore.domain.jobs import Frequency, MisfirePolicy
from batchscore.errors import Invalid
from batchscore.scheduling.schedules import zone_or_none
from batchscore.service.job_requests import parse_job_request


def body(**schedule: Any) -> dict[str, Any]:
    return {
        "jobName": "J",
        "associatedGroupOrDeviceId": "42",
        "associatedModel": "M",
        "modelToDeviceMappings": {"f.s.value": "x", "y": "g.t.value"},
        "jobSchedule": schedule
        or {
            "frequency": "periodic",
            "cronExpression": "0 * * ? * *",
            "timeZone": "UTC",
            "dataFromPreviousNSeconds": 60,
        },
    }


def test_mixed_orientations_are_canonicalised() -> None:
    spec = parse_job_request(body())
    assert spec.mappings == {"x": "f.s.value", "y": "g.t.value"}
    assert spec.mappings_sent == {"f.s.value": "x", "y": "g.t.value"}
    assert spec.target_id == 42
    assert spec.description == ""
    assert spec.schedule.frequency is Frequency.PERIODIC
    assert spec.schedule.misfire_policy is MisfirePolicy.FIRE_ONCE_NOW
    assert spec.schedule.sent["scheduleAt"] is None


def test_once_schedule_keeps_the_strings_as_sent() -> None:
    spec = parse_job_request(
        body(
            frequency="once",
            dataFrom="2026-01-01T00:00:00+05:30",
            dataTo="2026-01-02T00:00:00Z",
            misfirePolicy="doNothing",
        )
    )
    assert spec.schedule.sent["dataFrom"] == "2026-01-01T00:00:00+05:30"
    assert spec.schedule.data_from is not None
    assert spec.schedule.data_from.isoformat() == "2025-12-31T18:30:00+00:00"
    assert spec.schedule.sent["misfirePolicy"] == "doNothing"
    assert spec.schedule.schedule_at is None


def test_a_model_input_mapped_twice_is_refused() -> None:
    data = body()
    data["modelToDeviceMappings"] = {"a.b.value": "x", "c.d.value": "x"}
    with pytest.raises(Invalid) as info:
        parse_job_request(data)
    assert "mapped more than once" in info.value.messages[0]


def test_too_many_mappings() -> None:
    data = body()
    data["modelToDeviceMappings"] = {f"in{i}": "a.b.value" for i in range(10_000)}
    with pytest.raises(Invalid) as info:
        parse_job_request(data)
    assert info.value.messages == ("modelToDeviceMappings must have at most 1000 entries.",)


@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus", "../../etc/passwd", "/etc/localtime", " UTC", "x" * 100]
)
def test_bad_zones(name: str) -> None:
    assert zone_or_none(name) is None


@pytest.mark.parametrize("name", ["UTC", "Asia/Calcutta", "Asia/Kolkata", "Europe/Berlin"])
def test_good_zones(name: str) -> None:
    zone = zone_or_none(name)
    assert zone is not None
    assert zone.key == name

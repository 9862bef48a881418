"""What the console reads beyond the API's use cases (``service/console_queries.py``), over the
ASGI app: the devices page shows each group's members and each device's newest value per
series, and the job form offers the series the target's devices have."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.integration.conftest import World
from tests.integration.test_console_csrf import sign_in


def _measure(
    client: TestClient,
    auth: dict[str, str],
    device: int,
    time: str,
    fragment: str,
    values: dict[str, float],
) -> None:
    body = {
        "source": {"id": str(device)},
        "time": time,
        "type": fragment,
        fragment: {name: {"value": v, "unit": "g"} for name, v in values.items()},
    }
    r = client.post("/measurement/measurements", json=body, headers=auth)
    assert r.status_code == 201, r.text


def test_devices_page_shows_members_and_the_newest_value_of_each_series(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    _measure(
        client,
        admin,
        world.device,
        "2026-01-01T00:00:00Z",
        "c8y_Acceleration",
        {"accelerationX": 1.25, "accelerationY": 7.5},
    )
    _measure(
        client,
        admin,
        world.device,
        "2026-01-01T00:01:00Z",
        "c8y_Acceleration",
        {"accelerationX": 2.5},
    )
    _measure(
        client, admin, world.device2, "2026-01-01T00:00:30Z", "c8y_Gyroscope", {"gyroZ": 0.125}
    )
    sign_in(client)
    page = client.get("/devices")
    assert page.status_code == 200
    groups = page.text.split("<h2>Groups</h2>")[1].split("</section>")[0]
    assert f"#{world.group}" in groups
    assert groups.count("<li>") == 2  # both devices are members of line-1
    assert f'href="#device-{world.device}"' in groups
    assert f'href="#device-{world.device2}"' in groups

    def latest(device: int) -> list[tuple[str, str]]:
        section = page.text.split(f'id="device-{device}"')[1].split("<h3")[0]
        return re.findall(r"<code>([^<]+)</code></td><td>([^<]+)</td>", section)

    assert latest(world.device) == [
        ("c8y_Acceleration.accelerationX", "2.5"),  # the newer of its two values
        ("c8y_Acceleration.accelerationY", "7.5"),
    ]
    assert latest(world.device2) == [("c8y_Gyroscope.gyroZ", "0.125")]


def test_the_job_form_offers_the_series_of_the_targets_devices(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    _measure(
        client,
        admin,
        world.device,
        "2026-01-01T00:00:00Z",
        "c8y_Acceleration",
        {"accelerationX": 1.0},
    )
    _measure(client, admin, world.device2, "2026-01-01T00:00:00Z", "c8y_Gyroscope", {"gyroZ": 2.0})
    sign_in(client)
    group = client.get(
        "/jobs/new/mapping",
        params={"associatedModel": world.model, "associatedGroupOrDeviceId": str(world.group)},
    )
    assert group.status_code == 200
    assert "c8y_Acceleration.accelerationX.value" in group.text
    assert "c8y_Gyroscope.gyroZ.value" in group.text
    one = client.get(
        "/jobs/new/mapping",
        params={"associatedModel": world.model, "associatedGroupOrDeviceId": str(world.device2)},
    )
    assert "c8y_Gyroscope.gyroZ.value" in one.text
    assert "c8y_Acceleration.accelerationX.value" not in one.text

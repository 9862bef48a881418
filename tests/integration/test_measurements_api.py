"""POST and GET /measurement/measurements in Cumulocity's shapes, on every backend."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from tests.integration.conftest import World

COLLECTION = "application/vnd.com.nsn.cumulocity.measurementcollection+json"
SINGLE = "application/vnd.com.nsn.cumulocity.measurement+json"


def measurement(device: int, second: int, **fragments: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": {"id": str(device)},
        "time": f"2026-01-14T12:00:{second:02d}.000Z",
        "type": "c8y_Acceleration",
    }
    body.update(
        fragments
        or {
            "c8y_Acceleration": {
                "accelerationX": {"value": second * 1.5, "unit": "g"},
                "accelerationY": {"value": -second},
            }
        }
    )
    return body


def post(client: TestClient, auth: dict[str, str], body: Any, media: str = COLLECTION) -> Any:
    return client.post(
        "/measurement/measurements",
        content=json.dumps(body),
        headers={**auth, "Content-Type": media},
    )


def fill(client: TestClient, auth: dict[str, str], world: World, count: int = 6) -> None:
    items = [measurement(world.device, s) for s in range(count)]
    items.append(measurement(world.device2, 0, c8y_Gyroscope={"gyroX": {"value": 9}}))
    r = post(client, auth, {"measurements": items})
    assert r.status_code == 201, r.text


def listed(client: TestClient, auth: dict[str, str], **params: Any) -> Any:
    r = client.get("/measurement/measurements", params=params, headers=auth)
    assert r.status_code == 200, r.text
    return r.json()


def test_post_one_measurement(client: TestClient, admin: dict[str, str], world: World) -> None:
    body = measurement(world.device, 3)
    r = post(client, admin, body, SINGLE)
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith(SINGLE)
    created = r.json()
    assert created["id"].isdigit()
    assert created["self"].endswith(f"/measurement/measurements/{created['id']}")
    assert created["source"]["id"] == str(world.device)
    assert created["source"]["self"].endswith(f"/inventory/managedObjects/{world.device}")
    assert created["time"] == "2026-01-14T12:00:03.000Z"
    assert created["type"] == "c8y_Acceleration"
    assert created["c8y_Acceleration"] == body["c8y_Acceleration"]
    got = listed(client, admin, source=world.device)
    assert got["measurements"] == [created]


def test_post_a_collection_in_both_content_types(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    first = {"measurements": [measurement(world.device, 1), measurement(world.device2, 2)]}
    r = post(client, admin, first, COLLECTION)
    assert r.status_code == 201, r.text
    assert [m["source"]["id"] for m in r.json()["measurements"]] == [
        str(world.device),
        str(world.device2),
    ]
    r = post(client, admin, {"measurements": [measurement(world.device, 5)]}, "application/json")
    assert r.status_code == 201, r.text
    times = [m["time"][17:19] for m in listed(client, admin, pageSize=10)["measurements"]]
    assert times == ["01", "02", "05"]


def test_every_post_is_a_new_measurement(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    """Cumulocity does not de-duplicate: the same source, time and type posted twice are two
    measurements with their own ids, both listed, the second not dropped."""
    body = {"measurements": [measurement(world.device, 1), measurement(world.device, 2)]}
    first = post(client, admin, body).json()["measurements"]
    changed = {"measurements": [measurement(world.device, 1, c8y_Acceleration={"x": {"value": 7}})]}
    again = post(client, admin, changed).json()["measurements"]
    ids = [m["id"] for m in first + again]
    assert len(set(ids)) == 3
    got = listed(client, admin, source=world.device, withTotalPages=True, pageSize=10)
    assert got["statistics"]["totalPages"] == 1
    assert [m["id"] for m in got["measurements"]] == [ids[0], ids[2], ids[1]]
    assert got["measurements"][1]["c8y_Acceleration"] == {"x": {"value": 7}}


def test_filters(client: TestClient, admin: dict[str, str], world: World) -> None:
    fill(client, admin, world)

    def seconds(**params: Any) -> list[str]:
        return [m["time"][17:19] for m in listed(client, admin, **params)["measurements"]]

    assert seconds(source=world.device, pageSize=100) == ["00", "01", "02", "03", "04", "05"]
    window = {"dateFrom": "2026-01-14T12:00:02Z", "dateTo": "2026-01-14T13:00:04+01:00"}
    assert seconds(source=world.device, **window) == ["02", "03"]
    assert seconds(valueFragmentType="c8y_Gyroscope") == ["00"]
    assert seconds(valueFragmentType="c8y_Acceleration", valueFragmentSeries="gyroX") == []
    assert seconds(valueFragmentSeries="gyroX") == ["00"]
    assert seconds(type="c8y_Acceleration", source=world.device2) == ["00"]
    assert seconds(type="other") == []
    assert seconds(source=world.device, revert="true", pageSize=3) == ["05", "04", "03"]
    # A fragment filter still answers whole measurements.
    whole = listed(client, admin, source=world.device, valueFragmentSeries="accelerationY")
    assert set(whole["measurements"][0]["c8y_Acceleration"]) == {"accelerationX", "accelerationY"}


def test_paging(client: TestClient, admin: dict[str, str], world: World) -> None:
    fill(client, admin, world)
    first = listed(client, admin, source=world.device, withTotalPages="true")
    assert first["statistics"] == {"pageSize": 5, "currentPage": 1, "totalPages": 2}
    assert "prev" not in first
    assert first["self"].endswith("withTotalPages=true")
    second = client.get(first["next"], headers=admin).json()
    assert [m["time"][17:19] for m in second["measurements"]] == ["05"]
    assert second["statistics"] == {"pageSize": 5, "currentPage": 2, "totalPages": 2}
    assert "next" not in second
    assert "currentPage=1" in second["prev"]
    capped = listed(client, admin, pageSize=5000)
    assert capped["statistics"]["pageSize"] == 2000
    assert len(capped["measurements"]) == 7
    beyond = listed(client, admin, currentPage=9)
    assert beyond["measurements"] == []


def test_bad_query_parameters(client: TestClient, admin: dict[str, str], world: World) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"dateFrom": "soon"}, "dateFrom"),
        ({"source": "abc"}, "source"),
        ({"pageSize": 0}, "pageSize"),
        ({"currentPage": "x"}, "currentPage"),
        ({"valueFragmentType": "a.b"}, "valueFragmentType"),
    ]
    for params, fragment in cases:
        r = client.get("/measurement/measurements", params=params, headers=admin)
        assert r.status_code == 422, (params, r.text)
        body = r.json()
        assert body["error"] == "measurement/validationError"
        assert fragment in body["message"]


def test_rejected_collections_write_nothing(
    client: TestClient, admin: dict[str, str], other_admin: dict[str, str], world: World
) -> None:
    foreign = client.post(
        "/inventory/managedObjects", json={"name": "x", "c8y_IsDevice": {}}, headers=other_admin
    ).json()["id"]
    cases: list[tuple[dict[str, Any], str]] = [
        (measurement(int(foreign), 2), f"measurements[1].source: managed object '{foreign}'"),
        (measurement(999999, 2), "measurements[1].source: managed object '999999' not found."),
        (measurement(world.device, 2) | {"time": "2026-01-14"}, "measurements[1].time:"),
        (measurement(world.device, 2) | {"time": "1969-12-31T00:00:00Z"}, "[1970-01-01"),
        (
            measurement(world.device, 2, f={"s": {"value": 1, "unit": 5}}),
            "measurements[1].f.s.unit",
        ),
        (measurement(world.device, 2) | {"type": ""}, "measurements[1].type:"),
        (measurement(world.device, 2, f={"s.t": {"value": 1}}), "'s.t': is not a valid series"),
        (measurement(world.device, 2, **{"f.g": {"s": {"value": 1}}}), "'f.g': is not a valid"),
    ]
    for bad, expected in cases:
        body = {"measurements": [measurement(world.device, 1), bad]}
        r = post(client, admin, body)
        assert r.status_code == 422, r.text
        error = r.json()
        assert error["error"] == "measurement/validationError"
        assert expected in error["message"], error["message"]
    assert listed(client, admin)["measurements"] == []


def test_nan_and_malformed_json_are_refused(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post(
        "/measurement/measurements",
        content=b'{"source": {"id": "1"}, "time": "2026-01-14T12:00:00Z", "type": "t",'
        b' "f": {"s": {"value": NaN}}}',
        headers={**admin, "Content-Type": SINGLE},
    )
    assert r.status_code == 400
    assert "NaN" in r.json()["message"]


def test_other_tenant_sees_nothing(
    client: TestClient, admin: dict[str, str], other_admin: dict[str, str], world: World
) -> None:
    fill(client, admin, world)
    assert listed(client, other_admin, source=world.device)["measurements"] == []
    r = post(client, other_admin, measurement(world.device, 1), SINGLE)
    assert r.status_code == 422
    assert r.json()["message"] == f"source: managed object '{world.device}' not found."


def test_roles(client: TestClient, reader: dict[str, str], world: World) -> None:
    assert listed(client, reader)["measurements"] == []
    r = post(client, reader, measurement(world.device, 1), SINGLE)
    assert r.status_code == 403
    assert r.json()["error"] == "security/Forbidden"
    assert client.get("/measurement/measurements").status_code == 401


def test_pages_of_interleaved_devices_and_types_hold_whole_measurements(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    """Two devices at the same instants, two types at one instant of one device: every page
    holds whole measurements (all their fragments), and the pages joined are the whole list."""
    items = []
    for second in range(7):
        for device in (world.device, world.device2):
            items.append(measurement(device, second))
    twin = measurement(
        world.device, 3, c8y_Gyroscope={"gyroX": {"value": 1}, "gyroY": {"value": 2}}
    )
    twin["type"] = "c8y_Gyro"
    items.append(twin)
    assert post(client, admin, {"measurements": items}).status_code == 201
    whole = listed(client, admin, pageSize=100)["measurements"]
    assert len(whole) == 15
    joined = [
        m
        for page in range(1, 6)
        for m in listed(client, admin, pageSize=3, currentPage=page)["measurements"]
    ]
    assert joined == whole
    keys = [(m["time"], int(m["id"])) for m in whole]
    assert keys == sorted(keys)
    gyro = [m for m in whole if m["type"] == "c8y_Gyro"]
    assert [sorted(m["c8y_Gyroscope"]) for m in gyro] == [["gyroX", "gyroY"]]
    assert all(
        sorted(m["c8y_Acceleration"]) == ["accelerationX", "accelerationY"]
        for m in whole
        if m["type"] != "c8y_Gyro"
    )
    device_only = listed(client, admin, source=world.device2, pageSize=4, currentPage=2)[
        "measurements"
    ]
    assert [m["time"][17:19] for m in device_only] == ["04", "05", "06"]

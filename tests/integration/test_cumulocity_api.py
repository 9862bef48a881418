"""The Cumulocity-style API's edges that c8y-api does not reach: strict parameters, page bounds,
non-finite numbers, paths with extra slashes, data deleted with its device, concurrent alarms,
tenancy."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from batchscore.domain.alarms import NewAlarm, Severity
from batchscore.domain.measurements import to_ns
from batchscore.service.container import Services
from tests.conftest import START
from tests.integration.conftest import World, create_device

C8Y_ERROR = {"error", "message", "info"}


def _measure(client: TestClient, auth: dict[str, str], device: int, second: int) -> Any:
    r = client.post(
        "/measurement/measurements",
        json={
            "source": {"id": str(device)},
            "time": f"2026-01-14T12:00:{second:02d}Z",
            "type": "c8y_T",
            "c8y_T": {"T": {"value": second}},
        },
        headers=auth,
    )
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/inventory/managedObjects", {"withLatestValues": "true"}),
        ("/inventory/managedObjects", {"childAdditionId": "1"}),
        ("/inventory/managedObjects/1", {"bogus": "1"}),
        ("/inventory/managedObjects/1/childAssets", {"fragmentType": "x"}),
        ("/measurement/measurements", {"fragmentType": "c8y_T"}),
        ("/measurement/measurements", {"valueFragmentTypes": "c8y_T"}),
        ("/measurement/measurements/series", {"source": "1", "aggregationInterval": "1h"}),
        ("/alarm/alarms", {"sources": "1"}),
        ("/alarm/alarms/count", {"revert": "true"}),
        ("/event/events", {"severity": "MAJOR"}),
    ],
)
def test_unknown_parameters_are_refused_by_name(
    client: TestClient, admin: dict[str, str], path: str, params: dict[str, str]
) -> None:
    """Never a silently ignored filter: a parameter a route does not know is a 422 naming it."""
    r = client.get(path, params=params, headers=admin)
    assert r.status_code == 422, r.text
    assert set(r.json()) == C8Y_ERROR
    assert r.json()["message"].startswith(list(params)[-1])


@pytest.mark.parametrize(
    "path",
    [
        "/service/zementis/jobs?pageSize=5&currentPage=99999999999999999999",
        "/service/zementis/jobs?pageSize=2000&currentPage=9223372036854775807",
        "/inventory/managedObjects?pageSize=2000&currentPage=9223372036854775807",
        "/measurement/measurements?currentPage=100000000",
        "/alarm/alarms?currentPage=18446744073709551616",
        "/event/events?currentPage=-1",
        "/inventory/managedObjects/1/childDevices?currentPage=99999999999",
    ],
)
def test_huge_page_numbers_are_refused_not_a_500(
    client: TestClient, admin: dict[str, str], path: str
) -> None:
    r = client.get(path, headers=admin)
    assert r.status_code in (400, 422), r.text
    assert "currentPage" in r.text


def test_the_last_allowed_page_is_empty(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    r = client.get("/service/zementis/jobs?pageSize=2000&currentPage=10000000", headers=admin)
    assert (r.status_code, r.json()) == (200, [])
    r = client.get("/measurement/measurements?pageSize=2000&currentPage=10000000", headers=admin)
    assert (r.status_code, r.json()["measurements"]) == (200, [])


def test_non_finite_numbers_never_reach_a_listing(
    client: TestClient, admin: dict[str, str]
) -> None:
    """1e400 in a managed object was stored as Infinity and the tenant's listing answered 500
    from then on: now it is refused, and the listing answers."""
    for body in (
        b'{"name": "x", "c8y_IsDevice": {}, "c8y_Bad": {"v": 1e400}}',
        b'{"name": "x", "c8y_Bad": [1, -1e999]}',
        b'{"name": "x", "c8y_Bad": NaN}',
    ):
        r = client.post(
            "/inventory/managedObjects",
            content=body,
            headers={**admin, "Content-Type": "application/json"},
        )
        assert r.status_code in (400, 422), r.text
        assert set(r.json()) == C8Y_ERROR
    r = client.post(
        "/inventory/managedObjects",
        content=b'{"name": "x", "c8y_Bad": {"v": 1e400}}',
        headers={**admin, "Content-Type": "application/json"},
    )
    assert r.json()["message"] == "c8y_Bad.v: must be a finite number."
    assert client.get("/inventory/managedObjects", headers=admin).status_code == 200


def test_extra_slashes_and_location(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    """c8y-api posts alarms to /alarm/alarms/ and changes them at /alarm/alarms//<id>."""
    r = client.post(
        "/alarm/alarms/",
        json={
            "source": {"id": str(world.device)},
            "type": "c8y_X",
            "time": "2026-01-14T12:00:00Z",
            "text": "x",
            "severity": "MAJOR",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    alarm_id = r.json()["id"]
    assert r.headers["location"].endswith(f"/alarm/alarms/{alarm_id}")
    r = client.put(f"/alarm/alarms//{alarm_id}", json={"status": "CLEARED"}, headers=admin)
    assert (r.status_code, r.json()["status"]) == (200, "CLEARED")
    r = client.get(f"/inventory//managedObjects/{world.device}/", headers=admin)
    assert r.status_code == 200


def test_put_merges_and_null_removes(client: TestClient, admin: dict[str, str]) -> None:
    created = client.post(
        "/inventory/managedObjects",
        json={"name": "n", "type": "t", "c8y_A": {"x": 1}, "c8y_B": 2},
        headers=admin,
    ).json()
    url = f"/inventory/managedObjects/{created['id']}"
    r = client.put(
        url, json={"c8y_A": {"y": 2}, "c8y_B": None, "type": None, "c8y_C": []}, headers=admin
    )
    assert r.status_code == 200, r.text
    got = client.get(url, headers=admin).json()
    assert got["c8y_A"] == {"y": 2}  # a fragment is replaced whole
    assert "c8y_B" not in got
    assert "type" not in got
    assert (got["name"], got["c8y_C"]) == ("n", [])
    assert got["lastUpdated"] >= got["creationTime"]
    assert client.put(url, json={"name": 5}, headers=admin).status_code == 422
    too_big = {"c8y_Big": "x" * 600_000, "c8y_Big2": "y" * 600_000}
    r = client.put(url, json={"c8y_Big": too_big["c8y_Big"]}, headers=admin)
    assert r.status_code == 200
    r = client.put(url, json={"c8y_Big2": too_big["c8y_Big2"]}, headers=admin)
    assert r.status_code == 413  # the per-object fragment budget (the body limit)


def test_deleting_a_device_deletes_its_data(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    device = create_device(client, admin, "doomed")
    measured = _measure(client, admin, device, 1)
    base = {"source": {"id": str(device)}, "time": "2026-01-14T12:00:00Z", "text": "t"}
    client.post("/alarm/alarms", json={**base, "type": "a", "severity": "MINOR"}, headers=admin)
    client.post("/event/events", json={**base, "type": "e"}, headers=admin)
    client.post(
        f"/inventory/managedObjects/{world.group}/childAssets",
        json={"managedObject": {"id": str(device)}},
        headers=admin,
    )
    assert client.delete(f"/inventory/managedObjects/{device}", headers=admin).status_code == 204
    assert (
        client.get(f"/measurement/measurements/{measured['id']}", headers=admin).status_code == 404
    )
    for path in ("/alarm/alarms", "/event/events", "/measurement/measurements"):
        assert (
            client.get(path, params={"source": device}, headers=admin).json()[path.split("/")[-1]]
            == []
        )
    group = client.get(f"/inventory/managedObjects/{world.group}", headers=admin).json()
    assert str(device) not in {r["managedObject"]["id"] for r in group["childAssets"]["references"]}


def test_other_tenants_ids_are_404(
    client: TestClient, admin: dict[str, str], other_admin: dict[str, str], world: World
) -> None:
    measured = _measure(client, admin, world.device, 2)
    base = {"source": {"id": str(world.device)}, "time": "2026-01-14T12:00:00Z", "text": "t"}
    alarm = client.post(
        "/alarm/alarms", json={**base, "type": "a", "severity": "MINOR"}, headers=admin
    ).json()
    event = client.post("/event/events", json={**base, "type": "e"}, headers=admin).json()
    for path in (
        f"/measurement/measurements/{measured['id']}",
        f"/alarm/alarms/{alarm['id']}",
        f"/event/events/{event['id']}",
        f"/inventory/managedObjects/{world.device}/supportedSeries",
    ):
        assert client.get(path, headers=other_admin).status_code == 404, path
        assert client.get(path, headers=admin).status_code == 200, path
    assert client.delete(f"/event/events/{event['id']}", headers=other_admin).status_code == 404
    r = client.post("/event/events", json={**base, "type": "e"}, headers=other_admin)
    assert r.status_code == 422
    assert r.json()["message"] == f"source: managed object '{world.device}' not found."


def test_concurrent_raisers_make_one_alarm(services: Services, world: World) -> None:
    """Cumulocity's de-duplication holds under concurrency: the database decides (one
    INSERT ... ON CONFLICT), so eight raisers at once count one alarm up to eight."""
    alarm = NewAlarm(world.device, "c8y_Race", to_ns(START), "race", Severity.MAJOR)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: services.alarms.raise_alarm("t1", alarm), range(8)))
    assert len({a.id for a, _ in results}) == 1
    assert sum(new for _, new in results) == 1
    assert services.alarms.get("t1", results[0][0].id).count == 8


def test_totals(client: TestClient, admin: dict[str, str], world: World) -> None:
    for second in range(3):
        _measure(client, admin, world.device, second)
    r = client.get(
        "/measurement/measurements",
        params={"withTotalElements": "true", "withTotalPages": "true", "pageSize": 2},
        headers=admin,
    ).json()
    assert r["statistics"] == {"pageSize": 2, "currentPage": 1, "totalPages": 2, "totalElements": 3}
    r = client.get("/inventory/managedObjects", params={"withTotalElements": "true"}, headers=admin)
    assert r.json()["statistics"]["totalElements"] == 3

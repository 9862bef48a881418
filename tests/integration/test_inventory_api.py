"""Devices, groups and child assets in Cumulocity's shapes."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.conftest import World, create_device


def test_create_and_get_device(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post(
        "/inventory/managedObjects",
        json={"name": "pump-7", "c8y_IsDevice": {}, "c8y_Hardware": {"model": "X1"}},
        headers=admin,
    )
    assert r.status_code == 201
    created = r.json()
    assert created["id"].isdigit()
    assert created["name"] == "pump-7"
    assert created["c8y_IsDevice"] == {}
    assert created["c8y_Hardware"] == {"model": "X1"}
    assert created["self"].endswith(f"/inventory/managedObjects/{created['id']}")
    fetched = client.get(f"/inventory/managedObjects/{created['id']}", headers=admin).json()
    assert fetched == created


def test_group_children_and_cycles(client: TestClient, admin: dict[str, str], world: World) -> None:
    r = client.get(f"/inventory/managedObjects/{world.group}/childAssets", headers=admin)
    refs = [ref["managedObject"]["id"] for ref in r.json()["references"]]
    assert refs == [str(world.device), str(world.device2)]
    group = client.get(f"/inventory/managedObjects/{world.group}", headers=admin).json()
    assert group["c8y_IsDeviceGroup"] == {}
    assert len(group["childAssets"]["references"]) == 2

    sub = client.post(
        "/inventory/managedObjects", json={"name": "sub", "c8y_IsDeviceGroup": {}}, headers=admin
    ).json()
    ok = client.post(
        f"/inventory/managedObjects/{world.group}/childAssets",
        json={"managedObject": {"id": sub["id"]}},
        headers=admin,
    )
    assert ok.status_code == 201
    cycle = client.post(
        f"/inventory/managedObjects/{sub['id']}/childAssets",
        json={"managedObject": {"id": str(world.group)}},
        headers=admin,
    )
    assert cycle.status_code == 409
    assert set(cycle.json()) == {"error", "message", "info"}
    own = client.post(
        f"/inventory/managedObjects/{sub['id']}/childAssets",
        json={"managedObject": {"id": sub["id"]}},
        headers=admin,
    )
    assert own.status_code == 409


def test_devices_below_a_nested_group(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    from batchscore.service.container import Services

    svc: Services = client.app.state.services  # type: ignore[attr-defined]
    sub = client.post(
        "/inventory/managedObjects", json={"name": "sub", "c8y_IsDeviceGroup": {}}, headers=admin
    ).json()
    deep = create_device(client, admin, "deep")
    for parent, child in ((world.group, sub["id"]), (sub["id"], deep), (sub["id"], world.device)):
        client.post(
            f"/inventory/managedObjects/{parent}/childAssets",
            json={"managedObject": {"id": str(child)}},
            headers=admin,
        )
    target = svc.inventory.get("t1", world.group)
    assert svc.inventory.devices_below("t1", target) == sorted([world.device, world.device2, deep])


def test_bad_inventory_input(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post("/inventory/managedObjects", content=b"{", headers=admin)
    assert r.status_code == 400
    assert set(r.json()) == {"error", "message", "info"}
    r = client.post("/inventory/managedObjects", json={"name": 5}, headers=admin)
    assert r.status_code == 422
    assert r.json()["error"] == "inventory/validationError"
    r = client.get("/inventory/managedObjects/abc", headers=admin)
    assert r.status_code == 404
    r = client.post(
        "/inventory/managedObjects/1/childAssets", json={"managedObject": {}}, headers=admin
    )
    assert r.status_code == 422

"""GET /inventory/managedObjects?query=... in Cumulocity's syntax, paged."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import World, create_device


def ids(client: TestClient, auth: dict[str, str], **params: Any) -> list[int]:
    r = client.get("/inventory/managedObjects", params=params, headers=auth)
    assert r.status_code == 200, r.text
    return [int(obj["id"]) for obj in r.json()["managedObjects"]]


def test_has_and_bygroupid(client: TestClient, admin: dict[str, str], world: World) -> None:
    sub = client.post(
        "/inventory/managedObjects",
        json={"name": "sub", "c8y_IsDeviceGroup": {}, "c8y_Extra": None},
        headers=admin,
    ).json()
    sub_id = int(sub["id"])
    deep = create_device(client, admin, "deep")
    for parent, child in ((world.group, sub_id), (sub_id, deep)):
        r = client.post(
            f"/inventory/managedObjects/{parent}/childAssets",
            json={"managedObject": {"id": str(child)}},
            headers=admin,
        )
        assert r.status_code == 201
    devices = [world.device, world.device2, deep]
    assert ids(client, admin, query="$filter=has(c8y_IsDevice)", pageSize=10) == devices
    assert ids(client, admin, query="has(c8y_IsDevice)", pageSize=10) == devices
    assert ids(client, admin, query="$filter=(has(c8y_IsDeviceGroup))") == [world.group, sub_id]
    # Direct children only, devices and subgroups alike.
    children = sorted([world.device, world.device2, sub_id])
    assert ids(client, admin, query=f"bygroupid({world.group})") == children
    both = f"$filter=has(c8y_IsDevice) and bygroupid({world.group})"
    assert ids(client, admin, query=both) == [world.device, world.device2]
    assert ids(client, admin, query=f"has(c8y_IsDevice) and bygroupid({sub_id})") == [deep]
    # Any fragment works, a null-valued one too; an absent one matches nothing.
    assert ids(client, admin, query="has(c8y_Extra)") == [sub_id]
    assert ids(client, admin, query="has(c8y_Missing)") == []
    assert ids(client, admin, query="bygroupid(999999)") == []
    everything = ids(client, admin, pageSize=100)
    assert everything == sorted([*devices, world.group, sub_id])


def test_paging_and_tenancy(
    client: TestClient, admin: dict[str, str], other_admin: dict[str, str]
) -> None:
    created = [create_device(client, admin, f"d{i}") for i in range(7)]
    create_device(client, other_admin, "theirs")
    r = client.get(
        "/inventory/managedObjects",
        params={"query": "has(c8y_IsDevice)", "pageSize": 3, "withTotalPages": "true"},
        headers=admin,
    )
    page = r.json()
    assert [int(o["id"]) for o in page["managedObjects"]] == created[:3]
    assert page["statistics"] == {"pageSize": 3, "currentPage": 1, "totalPages": 3}
    assert page["managedObjects"][0]["name"] == "d0"
    assert page["managedObjects"][0]["c8y_IsDevice"] == {}
    seen: list[int] = []
    url: str | None = page["self"]
    while url:
        body = client.get(url, headers=admin).json()
        seen += [int(o["id"]) for o in body["managedObjects"]]
        url = body.get("next")
    assert seen == created
    last = client.get(page["self"].replace("pageSize=3", "pageSize=3&currentPage=3"), headers=admin)
    assert "currentPage=2" in last.json()["prev"]
    capped = client.get("/inventory/managedObjects?pageSize=2001", headers=admin).json()
    assert capped["statistics"]["pageSize"] == 2000


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("has(c8y_IsDevice) xor has(x)", "near 'xor'"),
        ("$filter=name like 'x'", "near 'like'"),
        ("has(", "is incomplete"),
        ("has(a b)", "has(...) takes one name"),
        ("hasany(x)", "the function 'hasany' is not supported"),
        ("name eq 'x", "near"),
        ("creationTime gt 'yesterday'", "creationTime compares with an ISO-8601 instant"),
        ("bygroupid(abc)", "bygroupid needs a numeric group id"),
        ("(has(x)", "is incomplete"),
        ("has(x) and", "is incomplete"),
        ("", "is empty"),
    ],
)
def test_unparseable_queries(
    client: TestClient, admin: dict[str, str], query: str, expected: str
) -> None:
    r = client.get("/inventory/managedObjects", params={"query": query}, headers=admin)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "inventory/validationError"
    assert expected in body["message"]
    assert body["message"].startswith("query: ")


def test_reader_may_list(client: TestClient, reader: dict[str, str], world: World) -> None:
    assert ids(client, reader, query="has(c8y_IsDeviceGroup)") == [world.group]

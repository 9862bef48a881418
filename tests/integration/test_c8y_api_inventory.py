"""c8y-api's inventory calls against a live batchscore (design §2.4): each test names the
c8y-api methods it drives, used as a Cumulocity developer would, unchanged."""

from __future__ import annotations

import pytest
from c8y_api import CumulocityApi
from c8y_api.model import Device, DeviceGroup, ManagedObject

from tests.integration.live_server import LiveServer


def _device(c8y: CumulocityApi, name: str, **fragments: object) -> Device:
    return Device(c8y, type="c8y_Linux", name=name, **fragments).create()


def test_managed_object_create_get_update_apply_delete(c8y: CumulocityApi, tag: str) -> None:
    """ManagedObject.create, Inventory.get, ManagedObject.update, ManagedObject.apply,
    Inventory.apply_to, ManagedObject.delete."""
    mo = ManagedObject(c8y, type=f"{tag}_Asset", name="pump", c8y_Hardware={"model": "X1"}).create()
    assert mo.id.isdigit()
    assert mo.owner == "admin"  # the creating user, as Cumulocity
    assert mo.creation_time is not None
    got = c8y.inventory.get(mo.id)
    assert (got.name, got.type, got.c8y_Hardware.model) == ("pump", f"{tag}_Asset", "X1")

    got.name = "pump-2"
    got["c8y_Firmware"] = {"version": "1.0"}
    updated = got.update()
    assert (updated.name, updated.c8y_Firmware.version) == ("pump-2", "1.0")
    assert updated.c8y_Hardware.model == "X1"  # merged, not replaced

    removed = updated.apply({"c8y_Firmware": None})
    assert "c8y_Firmware" not in removed.fragments
    assert "c8y_Hardware" in removed.fragments

    c8y.inventory.apply_to({"c8y_Notes": {"text": "serviced"}}, mo.id)
    assert c8y.inventory.get(mo.id).c8y_Notes.text == "serviced"

    mo.delete()
    with pytest.raises(KeyError):
        c8y.inventory.get(mo.id)


def test_inventory_create_and_update_in_bulk(c8y: CumulocityApi, tag: str) -> None:
    """Inventory.create, Inventory.update, Inventory.get_all(type=), Inventory.delete."""
    c8y.inventory.create(*[ManagedObject(type=tag, name=f"m{i}") for i in range(3)])
    found = c8y.inventory.get_all(type=tag)
    assert sorted(m.name for m in found) == ["m0", "m1", "m2"]
    for m in found:
        m.name = m.name.upper()
    c8y.inventory.update(*found)
    assert sorted(m.name for m in c8y.inventory.get_all(type=tag)) == ["M0", "M1", "M2"]
    c8y.inventory.delete(*[m.id for m in found])
    assert c8y.inventory.get_all(type=tag) == []


def test_ids_are_never_reused(c8y: CumulocityApi, tag: str) -> None:
    """ManagedObject.create and ManagedObject.delete: a deleted id is never handed out again."""
    first = ManagedObject(c8y, type=tag, name="first").create()
    first.delete()
    second = ManagedObject(c8y, type=tag, name="second").create()
    assert int(second.id) > int(first.id)
    with pytest.raises(KeyError):
        c8y.inventory.get(first.id)


def test_device_inventory_sees_only_devices(c8y: CumulocityApi, tag: str) -> None:
    """DeviceInventory.get_all, .get_count, .get, .get_all(name=), .select(query=),
    GroupInventory.get_all, .get_count: each lists only its kind (a plain asset is neither)."""
    devices = [_device(c8y, f"{tag}-d{i}") for i in range(2)]
    group = DeviceGroup(c8y, root=True, name=f"{tag}-g").create()
    asset = ManagedObject(c8y, type=tag, name=f"{tag}-a").create()
    device_ids = {d.id for d in c8y.device_inventory.get_all()}
    assert {d.id for d in devices} <= device_ids
    assert group.id not in device_ids
    assert asset.id not in device_ids
    assert c8y.device_inventory.get_count() == len(device_ids)
    assert c8y.device_inventory.get(devices[0].id).name == f"{tag}-d0"
    assert [d.id for d in c8y.device_inventory.get_all(name=f"{tag}-d1")] == [devices[1].id]
    query = f"$filter=(name eq '{tag}-*') $orderby=name desc"
    assert [d.name for d in c8y.device_inventory.select(query=query)] == [f"{tag}-d1", f"{tag}-d0"]
    group_ids = {g.id for g in c8y.group_inventory.get_all()}
    assert group.id in group_ids
    assert not {d.id for d in devices} & group_ids
    assert asset.id not in group_ids
    assert c8y.group_inventory.get_count() == len(group_ids)


def test_inventory_filters(c8y: CumulocityApi, tag: str) -> None:
    """Inventory.get_all and .get_count with type=, fragment=, fragments=, owner=, text=,
    ids=, name=, only_roots=, parent=, query=, expression=, order_by=, limit=, page_size=;
    Inventory.get_by(name=)."""
    a = ManagedObject(c8y, type=f"{tag}_A", name=f"{tag} alpha", c8y_Kind={"v": 1}).create()
    b = ManagedObject(
        c8y, type=f"{tag}_B", name=f"{tag}-beta", c8y_Kind={"v": 2}, c8y_X={}
    ).create()
    c = ManagedObject(c8y, type=f"{tag}_B", name=f"{tag}-gamma", c8y_Serial="SN-9").create()
    b.add_child_asset(c)

    def ids(**kwargs: object) -> list[str]:
        return sorted(m.id for m in c8y.inventory.get_all(**kwargs))  # type: ignore[arg-type]

    mine = sorted([a.id, b.id, c.id])
    assert ids(type=f"{tag}_B") == sorted([b.id, c.id])
    assert ids(fragment="c8y_Kind", type=f"{tag}_B") == [b.id]
    assert ids(fragments=["c8y_Kind", "c8y_X"]) == [b.id]
    assert c8y.inventory.get_count(type=f"{tag}_B") == 2
    assert set(mine) <= set(ids(owner="admin"))
    assert ids(owner="nobody-else") == []
    assert ids(text="SN-9") == [c.id]
    assert ids(text=f"{tag} alpha") == [a.id]
    assert ids(ids=[a.id, c.id]) == sorted([a.id, c.id])
    assert ids(name=f"{tag}-beta") == [b.id]
    assert c8y.inventory.get_by(name=f"{tag}-gamma").id == c.id
    assert ids(type=f"{tag}_B", only_roots="true") == [b.id]
    assert ids(parent=b.id, type=f"{tag}_B") == [c.id]
    assert ids(query=f"$filter=(c8y_Kind.v gt 1 and type eq {tag}_B)") == [b.id]
    assert ids(query=f"$filter=(not(has(c8y_Kind)) and name eq '{tag}*')") == [c.id]
    assert ids(expression=f"query=$filter=(type eq '{tag}_A' or c8y_Serial eq 'SN-9')") == sorted(
        [a.id, c.id]
    )
    ordered = c8y.inventory.get_all(type=f"{tag}_B", order_by="name desc")
    assert [m.id for m in ordered] == [c.id, b.id]
    paged = c8y.inventory.get_all(query=f"$filter=(name eq '{tag}*')", page_size=1)
    assert sorted(m.id for m in paged) == mine
    assert len(c8y.inventory.get_all(query=f"$filter=(name eq '{tag}*')", limit=2)) == 2


def test_groups_and_child_assets(c8y: CumulocityApi, tag: str) -> None:
    """GroupInventory.create, DeviceGroup.create_child, GroupInventory.assign_children,
    .unassign_children, .get_all(type=, fragment=, ids=, name=, parent=), .get,
    ManagedObject.add_child_asset / unassign_child_asset and the childAssets references."""
    root = DeviceGroup(c8y, root=True, name=f"{tag}-root", c8y_Tag={})
    c8y.group_inventory.create(root)
    (root,) = c8y.group_inventory.get_all(name=f"{tag}-root")
    sub = root.create_child(f"{tag}-sub")
    assert sub.type == "c8y_DeviceSubGroup"
    loose = DeviceGroup(c8y, name=f"{tag}-loose").create()
    c8y.group_inventory.assign_children(root.id, loose.id)
    device = _device(c8y, f"{tag}-dev")
    root.add_child_asset(device)

    reloaded = c8y.group_inventory.get(root.id)
    assert sorted(r.id for r in reloaded.child_assets) == sorted([sub.id, loose.id, device.id])
    assert {r.name for r in reloaded.child_assets} == {f"{tag}-sub", f"{tag}-loose", f"{tag}-dev"}
    assert [
        g.id for g in c8y.group_inventory.get_all(type="c8y_DeviceGroup", name=f"{tag}-root")
    ] == [root.id]
    assert [g.id for g in c8y.group_inventory.get_all(fragment="c8y_Tag")] == [root.id]
    assert sorted(g.id for g in c8y.group_inventory.get_all(ids=[sub.id, loose.id])) == sorted(
        [sub.id, loose.id]
    )
    # parent= asks for subgroups (c8y_DeviceSubGroup) below the group: not the device
    below = sorted(g.id for g in c8y.group_inventory.get_all(parent=root.id))
    assert below == sorted([sub.id, loose.id])
    parents = c8y.inventory.get(device.id, with_parents=True).parent_assets
    assert [p.id for p in parents] == [root.id]

    c8y.group_inventory.unassign_children(root.id, loose.id)
    root.unassign_child_asset(device)
    assert [r.id for r in c8y.group_inventory.get(root.id).child_assets] == [sub.id]
    assert c8y.inventory.get(device.id).id == device.id  # unassigned, not deleted


def test_child_devices(c8y: CumulocityApi, tag: str) -> None:
    """ManagedObject.add_child_device, .unassign_child_device and the childDevices references
    (the device hierarchy, apart from the asset one)."""
    gateway = _device(c8y, f"{tag}-gw")
    sensor = _device(c8y, f"{tag}-sensor")
    gateway.add_child_device(sensor)
    got = c8y.device_inventory.get(gateway.id)
    assert [r.id for r in got.child_devices] == [sensor.id]
    assert got.child_assets == []
    assert [p.id for p in c8y.inventory.get(sensor.id, with_parents=True).parent_devices] == [
        gateway.id
    ]
    counted = c8y.inventory.get(gateway.id, with_children_count=True, with_children=False)
    assert counted.child_devices == []
    gateway.unassign_child_device(sensor)
    assert c8y.device_inventory.get(gateway.id).child_devices == []


def test_deleting_groups_unassigns_or_cascades(c8y: CumulocityApi, tag: str) -> None:
    """DeviceGroup.delete (cascade=false: children stay, unassigned), DeviceGroup.delete_tree and
    GroupInventory.delete_trees (cascade=true), Device.delete_tree, ManagedObject.delete_tree
    (forceCascade)."""
    keep = DeviceGroup(c8y, root=True, name=f"{tag}-keep").create()
    kept_child = _device(c8y, f"{tag}-kept")
    keep.add_child_asset(kept_child)
    keep.delete()
    assert c8y.inventory.get(kept_child.id).parent_assets == []
    with pytest.raises(KeyError):
        c8y.inventory.get(keep.id)

    tree = DeviceGroup(c8y, root=True, name=f"{tag}-tree").create()
    branch = tree.create_child(f"{tag}-branch")
    leaf = _device(c8y, f"{tag}-leaf")
    branch.add_child_asset(leaf)
    tree.delete_tree()
    for gone in (tree.id, branch.id, leaf.id):
        with pytest.raises(KeyError):
            c8y.inventory.get(gone)

    other = DeviceGroup(c8y, root=True, name=f"{tag}-other").create()
    inner = other.create_child(f"{tag}-inner")
    c8y.group_inventory.delete_trees(other)
    with pytest.raises(KeyError):
        c8y.inventory.get(inner.id)

    gateway = _device(c8y, f"{tag}-gw")
    child = _device(c8y, f"{tag}-child")
    gateway.add_child_device(child)
    gateway.delete_tree()
    with pytest.raises(KeyError):
        c8y.inventory.get(child.id)

    asset = ManagedObject(c8y, type=tag, name="asset").create()
    part = ManagedObject(c8y, type=tag, name="part").create()
    asset.add_child_asset(part)
    asset.delete_tree()
    with pytest.raises(KeyError):
        c8y.inventory.get(part.id)


def test_unknown_parameters_are_refused_by_name(c8y: CumulocityApi, c8y_server: LiveServer) -> None:
    """Inventory.get_all with a parameter batchscore does not know (with_latest_values): a 422
    naming it, never a silently ignored filter (c8y-api raises ValueError for a 422)."""
    with pytest.raises(ValueError, match="withLatestValues"):
        c8y.inventory.get_all(with_latest_values=True)

"""A script written for Cumulocity's REST API runs unchanged against a live batchscore.

``cumulocity_script`` uses only httpx and the shapes Cumulocity documents (media types, managed
objects, child asset references, measurements, paging envelopes); it imports nothing of
batchscore. The test then reads the same data back through the Cumulocity connector.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest

from batchscore.domain.jobs import MeasurementPath
from batchscore.sources.cumulocity import CumulocitySettings, CumulocitySource
from tests.integration.live_server import LiveServer, live_batchscore

MO = "application/vnd.com.nsn.cumulocity.managedobject+json"
MO_REF = "application/vnd.com.nsn.cumulocity.managedobjectreference+json"
MEAS = "application/vnd.com.nsn.cumulocity.measurement+json"
MEAS_COLL = "application/vnd.com.nsn.cumulocity.measurementcollection+json"
START = "2026-03-01T10:00:00.000+01:00"  # 09:00 UTC, sent with an offset as devices often do


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_batchscore(tmp_path_factory.mktemp("serve")) as live:
        yield live


def cumulocity_script(base_url: str, tenant: str, user: str, password: str) -> dict[str, Any]:
    """Create a device in a nested group, post its temperatures, query them back."""
    c8y = httpx.Client(base_url=base_url, auth=(f"{tenant}/{user}", password), timeout=30)
    with c8y:

        def create(body: dict[str, Any]) -> dict[str, Any]:
            r = c8y.post(
                "/inventory/managedObjects",
                json=body,
                headers={"Content-Type": MO, "Accept": MO},
            )
            r.raise_for_status()
            assert r.status_code == 201
            created: dict[str, Any] = r.json()
            return created

        def assign(parent: str, child: str) -> None:
            r = c8y.post(
                f"/inventory/managedObjects/{parent}/childAssets",
                json={"managedObject": {"id": child}},
                headers={"Content-Type": MO_REF, "Accept": MO_REF},
            )
            r.raise_for_status()

        device = create(
            {
                "name": "Pump 7",
                "type": "c8y_Pump",
                "c8y_IsDevice": {},
                "c8y_SupportedMeasurements": ["c8y_TemperatureMeasurement"],
            }
        )
        plant = create({"name": "Plant A", "type": "c8y_DeviceGroup", "c8y_IsDeviceGroup": {}})
        hall = create({"name": "Hall 2", "type": "c8y_DeviceSubgroup", "c8y_IsDeviceGroup": {}})
        assign(plant["id"], hall["id"])
        assign(hall["id"], device["id"])

        first = datetime.fromisoformat(START)

        def measurement(second: int) -> dict[str, Any]:
            return {
                "source": {"id": device["id"]},
                "time": (first + timedelta(seconds=second)).isoformat(timespec="milliseconds"),
                "type": "c8y_TemperatureMeasurement",
                "c8y_TemperatureMeasurement": {"T": {"value": 20 + second / 100, "unit": "C"}},
            }

        single = c8y.post(
            "/measurement/measurements",
            json=measurement(0),
            headers={"Content-Type": MEAS, "Accept": MEAS},
        )
        single.raise_for_status()
        batch = c8y.post(
            "/measurement/measurements",
            json={"measurements": [measurement(s) for s in range(1, 12)]},
            headers={"Content-Type": MEAS_COLL, "Accept": MEAS_COLL},
        )
        batch.raise_for_status()

        # Query back page by page, following `next` as Cumulocity clients do.
        values: list[float] = []
        url: str | None = "/measurement/measurements"
        params: dict[str, Any] | None = {
            "source": device["id"],
            "dateFrom": START,
            "dateTo": (first + timedelta(minutes=1)).isoformat(),
            "valueFragmentType": "c8y_TemperatureMeasurement",
            "valueFragmentSeries": "T",
            "pageSize": 5,
            "withTotalPages": "true",
        }
        pages = 0
        total_pages = None
        while url is not None:
            page = c8y.get(url, params=params, headers={"Accept": MEAS_COLL})
            page.raise_for_status()
            body = page.json()
            pages += 1
            total_pages = body["statistics"].get("totalPages", total_pages)
            values += [m["c8y_TemperatureMeasurement"]["T"]["value"] for m in body["measurements"]]
            url = body.get("next") if body["measurements"] else None
            params = None  # the next link carries the query
        newest = c8y.get(
            "/measurement/measurements",
            params={"source": device["id"], "dateFrom": START, "revert": "true", "pageSize": 1},
        ).json()["measurements"][0]
        in_plant = c8y.get(
            "/inventory/managedObjects",
            params={"query": f"$filter=bygroupid({plant['id']})", "pageSize": 100},
        ).json()["managedObjects"]
        hall_refs = c8y.get(f"/inventory/managedObjects/{hall['id']}/childAssets").json()
        fetched = c8y.get(f"/inventory/managedObjects/{device['id']}", headers={"Accept": MO})
        return {
            "device": device,
            "plant": plant,
            "hall": hall,
            "single": single.json(),
            "batch": batch.json(),
            "values": values,
            "pages": pages,
            "total_pages": total_pages,
            "newest": newest,
            "in_plant": [mo["id"] for mo in in_plant],
            "hall_children": [r["managedObject"]["id"] for r in hall_refs["references"]],
            "fetched": fetched.json(),
        }


def test_a_cumulocity_script_runs_unchanged(server: LiveServer) -> None:
    out = cumulocity_script(server.base_url, server.tenant, server.user, server.password)
    device_id = out["device"]["id"]
    assert isinstance(device_id, str)
    assert out["fetched"]["name"] == "Pump 7"
    assert out["fetched"]["c8y_SupportedMeasurements"] == ["c8y_TemperatureMeasurement"]
    assert out["single"]["source"]["id"] == device_id
    assert out["single"]["time"] == "2026-03-01T09:00:00.000Z"
    assert out["single"]["c8y_TemperatureMeasurement"] == {"T": {"value": 20.0, "unit": "C"}}
    assert len(out["batch"]["measurements"]) == 11
    assert out["values"] == [20 + s / 100 for s in range(12)]
    assert out["pages"] == 3
    assert out["total_pages"] == 3
    assert out["newest"]["time"] == "2026-03-01T09:00:11.000Z"
    assert out["in_plant"] == [out["hall"]["id"]]
    assert out["hall_children"] == [device_id]

    # The connector reads the script's data back over HTTP.
    settings = CumulocitySettings(
        c8y_baseurl=server.base_url,
        c8y_tenant=server.tenant,
        c8y_user=server.user,
        c8y_password=server.password,
    )
    temperature = MeasurementPath("c8y_TemperatureMeasurement", "T")
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    with CumulocitySource.from_settings(settings) as connector:
        assert connector.devices_below(server.tenant, int(out["plant"]["id"])) == [int(device_id)]
        (chunk,) = connector.read(
            server.tenant, int(device_id), [temperature], start, start + timedelta(minutes=1)
        )
    series = chunk.series[temperature]
    np.testing.assert_array_equal(series.values, [20 + s / 100 for s in range(12)])
    expected = np.array([int(start.timestamp()) + s for s in range(12)]) * 10**9
    np.testing.assert_array_equal(series.times_ns, expected)

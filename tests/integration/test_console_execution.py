"""Console pages over the ASGI app: an execution's inference table comes a slice at a time
(a filter that matches rarely looks through a bounded number of records per load, then offers
to keep searching), its chart data is one line per chosen device with at most four points per
pixel column, and a model notice shows only when the model is as it says."""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
from fastapi.testclient import TestClient

from batchscore.domain.jobs import ExecutionStatus
from batchscore.execution.codec import Chunk, encode_chunk
from batchscore.service.container import Services
from batchscore.store.executions import NewExecution, finish_execution, insert_executions
from batchscore.store.inferences import insert_chunk
from batchscore.testing import regression_pmml
from tests.integration.test_console_csrf import sign_in

TENANT = "t1"
PER_DEVICE = 30_000  # two devices: 60,000 records, 30 chunks
SECOND = 1_000_000_000


def _execution(services: Services) -> tuple[int, list[int]]:
    """A finished execution of two devices whose only outliers are device two's last 150,
    by a model deleted since."""
    services.models.upload(TENANT, regression_pmml("reg", ["a"]), "reg.pmml")
    group = services.inventory.create(TENANT, {"name": "line", "c8y_IsDeviceGroup": {}})
    devices = []
    for name in ("one", "two"):
        device = services.inventory.create(TENANT, {"name": name, "c8y_IsDevice": {}})
        services.inventory.add_child(TENANT, group.id, {"managedObject": {"id": str(device.id)}})
        devices.append(device.id)
    job = services.jobs.create(
        TENANT,
        {
            "jobName": "rows",
            "associatedModel": "reg",
            "associatedGroupOrDeviceId": group.id,
            "modelToDeviceMappings": {"a": "f.s.value"},
            "jobSchedule": {
                "frequency": "periodic",
                "cronExpression": "0 0 0 1 1 ? 2099",
                "timeZone": "UTC",
                "dataFromPreviousNSeconds": PER_DEVICE,
            },
        },
    )
    now = services.clock.now()
    start = now - timedelta(seconds=PER_DEVICE)
    row = NewExecution(
        job.id, TENANT, 1, now, start, now, ExecutionStatus.RUNNING, [], now,
        lease_owner="t", lease_until=now + timedelta(hours=1), is_group=True,
    )  # fmt: skip
    base = int(start.timestamp()) * SECOND
    ids = np.repeat(np.array(devices, dtype=np.int64), PER_DEVICE)
    times = np.tile(base + np.arange(PER_DEVICE, dtype=np.int64) * SECOND, 2)
    scores = np.tile(np.sin(np.arange(PER_DEVICE) / 50.0), 2)
    flags = np.zeros(2 * PER_DEVICE, dtype=bool)
    flags[-150:] = True
    with services.db.write() as conn:
        execution_id = insert_executions(conn, [row])[(job.id, 1)]
        for seq, lo in enumerate(range(0, 2 * PER_DEVICE, 2000)):
            hi = lo + 2000
            chunk = Chunk(
                ids[lo:hi],
                times[lo:hi],
                {"y": scores[lo:hi], "outlier": np.array(flags[lo:hi].tolist(), dtype=object)},
            )
            insert_chunk(conn, execution_id, seq, int(ids[lo]), lo, 2000, encode_chunk(chunk))
        finish_execution(conn, execution_id, ExecutionStatus.SUCCESS, [], now, 2 * PER_DEVICE)
    # The model's outputs come from the stored columns once it is gone: "outlier" flags.
    services.models.delete(TENANT, "reg")
    return job.id, devices


def _rows(text: str) -> list[str]:
    """The inference rows of a page, or of a slice of rows."""
    if '<tbody id="inference-rows">' in text:
        text = text.split('<tbody id="inference-rows">')[1].split("</tbody>")[0]
    return re.findall(r"<tr(?: class=\"outlier\")?><td>", text)


def test_rows_come_a_slice_at_a_time_and_rare_matches_are_searched_in_steps(
    client: TestClient, services: Services
) -> None:
    job, devices = _execution(services)
    sign_in(client)
    page = client.get(f"/jobs/{job}/executions/1")
    assert page.status_code == 200
    assert len(_rows(page.text)) == 100
    assert "Load 100 more" in page.text
    assert len(page.content) < 100_000

    more = client.get(f"/jobs/{job}/executions/1?part=rows&after=59950")
    assert len(_rows(more.text)) == 50
    assert "more-rows" not in more.text

    # Outliers only: the first load looks through 50,000 records, finds none, offers more.
    first = client.get(f"/jobs/{job}/executions/1?part=rows&outliers=1")
    assert _rows(first.text) == []
    assert "Keep searching" in first.text
    assert "50000 of 60000 records searched" in first.text
    after = re.search(r'hx-get="[^"]*after=(\d+)', first.text)
    assert after is not None
    assert after.group(1) == "50000"
    second = client.get(f"/jobs/{job}/executions/1?part=rows&outliers=1&after=50000")
    assert len(_rows(second.text)) == 100
    assert all(r.startswith('<tr class="outlier">') for r in _rows(second.text))
    third = client.get(f"/jobs/{job}/executions/1?part=rows&outliers=1&after=59950")
    assert len(_rows(third.text)) == 50

    # One device: the device filter and the chart data agree with it.
    one = client.get(f"/jobs/{job}/executions/1?device={devices[0]}")
    assert len(_rows(one.text)) == 100
    assert "<td>two</td>" not in one.text
    chart = client.get(
        f"/jobs/{job}/executions/1/chart",
        params={"output": "y", "devices": f"{devices[0]},{devices[1]}", "width": "200"},
    ).json()
    assert [d["name"] for d in chart["devices"]] == ["one", "two"]
    assert [d["records"] for d in chart["devices"]] == [PER_DEVICE, PER_DEVICE]
    assert [d["outliers"] for d in chart["devices"]] == [0, 150]
    for line in chart["devices"]:
        assert len(line["t"]) <= 4 * 200
        assert min(line["v"]) == -1.0
        assert max(line["v"]) == 1.0
    assert sum(chart["devices"][1]["o"]) >= 1


def test_a_model_notice_shows_only_when_the_model_is_as_it_says(
    client: TestClient, services: Services
) -> None:
    services.models.upload(TENANT, regression_pmml("kept", ["a"]), "kept.pmml")
    sign_in(client)
    crafted = client.get("/models", params={"done": "deactivated", "name": "kept"})
    assert 'role="status"' not in crafted.text
    services.models.set_active(TENANT, "kept", False)
    true = client.get("/models", params={"done": "deactivated", "name": "kept"})
    assert "Model “kept” deactivated. No job uses it." in true.text

"""GET|POST /apply/{name}: score records on demand with the same engine as the jobs."""

from __future__ import annotations

import csv
import json
import math

from fastapi.testclient import TestClient

from tests.conftest import IFOREST_CASE
from tests.integration.test_executions import upload_iforest

BASE = "/service/zementis"
CASE = IFOREST_CASE


def corpus() -> tuple[list[dict[str, float]], list[dict[str, str]]]:
    with (CASE / "input.csv").open() as f:
        inputs = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    with (CASE / "expected.csv").open() as f:
        return inputs, list(csv.DictReader(f))


def test_apply_one_json_and_csv(
    client: TestClient, reader: dict[str, str], admin: dict[str, str]
) -> None:
    upload_iforest(client, admin)
    inputs, expected = corpus()
    one = client.get(
        f"{BASE}/apply/IsolationForest", params={"record": json.dumps(inputs[0])}, headers=reader
    )
    assert one.status_code == 200, one.text
    body = one.json()
    assert body["model"] == "IsolationForest"
    [out] = body["outputs"]
    assert math.isclose(out["rawAnomalyScore"], float(expected[0]["rawAnomalyScore"]), rel_tol=1e-9)
    assert out["outlier"] is (expected[0]["outlier"] == "true")

    batch = client.post(f"{BASE}/apply/IsolationForest", json=inputs[:50], headers=reader)
    outputs = batch.json()["outputs"]
    assert len(outputs) == 50
    for got, want in zip(outputs, expected[:50], strict=True):
        assert math.isclose(got["decisionFunction"], float(want["decisionFunction"]), rel_tol=1e-9)

    text = (CASE / "input.csv").read_text()
    as_csv = client.post(
        f"{BASE}/apply/IsolationForest",
        content=text,
        headers={**reader, "Content-Type": "text/csv"},
    )
    assert len(as_csv.json()["outputs"]) == len(inputs)


def test_apply_errors(client: TestClient, admin: dict[str, str]) -> None:
    upload_iforest(client, admin)
    bad = client.post(
        f"{BASE}/apply/IsolationForest",
        json=[{"accelerationX": 1.0}, {"accelerationX": "abc"}],
        headers=admin,
    )
    assert (bad.status_code, bad.json()) == (
        400,
        {"errors": ["Failed to parse input at record 2."]},
    )
    r = client.post(f"{BASE}/apply/IsolationForest", json=[1, 2], headers=admin)
    assert r.json() == {"errors": ["Failed to parse input at record 1."]}
    r = client.post(f"{BASE}/apply/Nope", json={}, headers=admin)
    assert (r.status_code, r.json()) == (404, {"errors": ["Model 'Nope' not found."]})
    client.put(f"{BASE}/model/IsolationForest/deactivate", headers=admin)
    r = client.post(f"{BASE}/apply/IsolationForest", json={}, headers=admin)
    assert r.status_code == 400
    assert r.json() == {
        "errors": ["The model 'IsolationForest' is inactive; activate it to score."]
    }

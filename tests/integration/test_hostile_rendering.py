"""Hostile input, round two (issue 20): what answers are made of.

- model outputs of ±inf read as null everywhere (inferences, CSV, console, ``/apply``), the
  execution says so in a Warning, and nothing answers 500 for that execution;
- names are bounded in one place for every backend: a model name over 255 characters is a 400
  (PostgreSQL answered 500), and the console's model list holds whatever the tenant has;
- ``self`` links never repeat the ``Host`` header.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from batchscore.clock import FakeClock
from batchscore.domain.jobs import ExecutionStatus
from batchscore.scheduling.scheduler import Scheduler
from batchscore.service.container import Services
from batchscore.settings import Settings
from batchscore.store.tables import models as models_table
from batchscore.testing import regression_pmml
from tests.conftest import PASSWORD
from tests.integration.conftest import create_device
from tests.integration.test_scheduler import Collecting

BASE = "/service/zementis"
T0 = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
HUGE = 1e308  # finite; two of them add up to +inf


def sign_in(client: TestClient, login: str = "t1/admin") -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = client.post(
        "/login",
        data={"csrf_token": token.group(1), "login": login, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


# --- ±inf outputs ---------------------------------------------------------------------------


def test_infinite_outputs_read_as_null_with_a_warning(
    client: TestClient, admin: dict[str, str], services: Services, clock: FakeClock
) -> None:
    r = client.post(f"{BASE}/model", content=regression_pmml("Sum", ["a", "b"]), headers=admin)
    assert r.status_code == 201, r.text
    device = create_device(client, admin, "overflowing")
    values = [(HUGE, HUGE), (-HUGE, -HUGE), (1.0, 2.0)]  # +inf, -inf, 3
    measurements = [
        {
            "source": {"id": str(device)},
            "time": (T0 + timedelta(seconds=i)).isoformat(),
            "type": "t",
            "c8y_F": {"a": {"value": a}, "b": {"value": b}},
        }
        for i, (a, b) in enumerate(values)
    ]
    for m in measurements:
        assert client.post("/measurement/measurements", json=m, headers=admin).status_code == 201
    job = {
        "jobName": "overflow",
        "associatedGroupOrDeviceId": device,
        "associatedModel": "Sum",
        "modelToDeviceMappings": {"a": "c8y_F.a.value", "b": "c8y_F.b.value"},
        "jobSchedule": {
            "frequency": "once",
            "dataFrom": T0.isoformat(),
            "dataTo": (T0 + timedelta(hours=1)).isoformat(),
        },
    }
    r = client.post(f"{BASE}/job", json=job, headers=admin)
    assert r.status_code == 201, r.text
    job_id = r.json()["jobId"]
    [started] = (
        Scheduler(services.db, clock, Collecting(), lifecycle=services.lifecycle).tick().started
    )
    assert services.executor.run(started) is ExecutionStatus.WARNING

    run = client.get(f"{BASE}/job/{job_id}/history/1", headers=admin).json()
    assert run["jobExecutionStatus"] == "Warning"
    assert run["jobExecutionStatusMessage"] == [
        f"4 output values of device {device} were infinite; they read as null."  # y and score
    ]
    for _ in range(2):  # and again, from the kept answer
        r = client.get(f"{BASE}/job/{job_id}/history/1/inferences", headers=admin)
        assert r.status_code == 200, r.text
        [entry] = r.json()["inferenceCollection"]
        assert entry["recordCollection"]["score"] == [None, None, 3.0]
    r = client.get(f"{BASE}/job/{job_id}/history/1/inferences.csv", headers=admin)
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["score"] for row in rows] == ["", "", "3.0"]

    sign_in(client)
    r = client.get(f"/jobs/{job_id}/executions/1")
    assert r.status_code == 200, r.text[:500]
    assert "Infinity" not in r.text
    r = client.get(
        f"/jobs/{job_id}/executions/1/chart",
        params={"output": "score", "devices": str(device), "width": "800"},
    )
    assert r.status_code == 200, r.text
    chart = json.loads(r.text, parse_constant=_refuse)  # strict JSON: no Infinity
    [device_series] = chart["devices"]
    assert device_series["records"] == 3
    assert device_series["v"] == [3.0]  # ±inf is not drawn
    assert not re.search(r">\s*-?inf\s*<", r.text.lower())  # no table cell shows inf
    r = client.get(f"/jobs/{job_id}/executions/1/inferences.csv")
    assert [row["score"] for row in csv.DictReader(io.StringIO(r.text))] == ["", "", "3.0"]

    r = client.get(
        f"{BASE}/apply/Sum", params={"record": json.dumps({"a": HUGE, "b": HUGE})}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["score"] is None
    r = client.post(
        f"{BASE}/apply/Sum",
        content="a,b\n1e308,1e308\n-1e308,-1e308\n1,2\n",
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert [o["score"] for o in r.json()["outputs"]] == [None, None, 3.0]


def _refuse(name: str) -> Any:
    raise AssertionError(f"{name} in JSON")


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("m" * 256, "The model name must be at most 255 characters long."),
        ("a/b", "The model name must not contain '/' or be '.' or '..'."),
        ("..", "The model name must not contain '/' or be '.' or '..'."),
    ],
    ids=["256-characters", "slash", "dot-dot"],
)
def test_unaddressable_model_names_are_refused_on_every_backend(
    client: TestClient, admin: dict[str, str], name: str, problem: str
) -> None:
    r = client.post(f"{BASE}/model", content=regression_pmml(name, ["a"]), headers=admin)
    assert (r.status_code, r.json()) == (400, {"errors": [problem]})
    assert client.get(f"{BASE}/models", headers=admin).json() == {"models": []}


def test_the_longest_model_name_is_stored_addressed_and_listed(
    client: TestClient, admin: dict[str, str]
) -> None:
    name = "M" * 255
    r = client.post(f"{BASE}/model", content=regression_pmml(name, ["a"]), headers=admin)
    assert r.status_code == 201, r.text
    assert client.get(f"{BASE}/model/{name}", headers=admin).json()["modelName"] == name
    sign_in(client)
    r = client.get("/models")
    assert r.status_code == 200
    assert name in r.text


def test_the_console_lists_models_whatever_their_names(
    client: TestClient, admin: dict[str, str], services: Services
) -> None:
    """A name stored before the bound existed (SQLite keeps any length) no longer turns the
    tenant's model page into a 404."""
    r = client.post(f"{BASE}/model", content=regression_pmml("Good", ["a"]), headers=admin)
    assert r.status_code == 201
    if services.db.is_sqlite:
        good = services.models.get("t1", "Good")
        with services.db.write() as conn:
            conn.execute(
                insert(models_table).values(
                    tenant_id="t1",
                    name="L" * 300,
                    description="",
                    kind="pmml",
                    sha256=good.sha256,
                    size=good.size,
                    source=services.models.source("t1", "Good"),
                    input_fields=[],
                    output_fields=[],
                    is_active=True,
                    created_at=good.created_at,
                )
            )
    sign_in(client)
    r = client.get("/models")
    assert r.status_code == 200, r.text[:300]
    assert "Good" in r.text


@pytest.mark.parametrize("login", ["t" * 65 + "/admin", "t1/" + "u" * 256])
def test_logins_with_names_too_long_to_store_are_a_401(client: TestClient, login: str) -> None:
    from batchscore.testing import basic_auth

    tenant, user = login.split("/")
    r = client.get(f"{BASE}/models", headers=basic_auth(user, PASSWORD, tenant=tenant))
    assert r.status_code == 401


# --- links ------------------------------------------------------------------------------------


def test_self_links_do_not_repeat_the_host_header(
    client: TestClient, admin: dict[str, str]
) -> None:
    evil = {**admin, "Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    r = client.post(
        "/inventory/managedObjects", json={"name": "d", "c8y_IsDevice": {}}, headers=evil
    )
    assert r.status_code == 201, r.text
    assert "evil" not in r.text
    assert r.json()["self"].startswith("http://testserver/inventory/managedObjects/")
    r = client.get("/inventory/managedObjects", params={"pageSize": 1}, headers=evil)
    assert "evil" not in r.text
    assert r.json()["self"].startswith("http://testserver/inventory/managedObjects?")


@pytest.fixture
def public(tmp_path: Path) -> Settings:
    return Settings(
        password_profile="fast", var_dir=tmp_path, public_url="https://scoring.example.com/"
    )


def test_links_come_from_the_public_url(
    db: Any, clock: FakeClock, public: Settings, admin: dict[str, str]
) -> None:
    from batchscore.composition.app import create_app

    services = Services.build(public, db, clock)
    try:
        with TestClient(create_app(services)) as client:
            headers = {**admin, "Host": "evil.example"}
            for name in ("a", "b"):
                r = client.post(
                    "/inventory/managedObjects",
                    json={"name": name, "c8y_IsDevice": {}},
                    headers=headers,
                )
                assert r.json()["self"].startswith(
                    "https://scoring.example.com/inventory/managedObjects/"
                )
            page = client.get(
                "/inventory/managedObjects", params={"pageSize": 1}, headers=headers
            ).json()
            assert page["next"].startswith("https://scoring.example.com/inventory/managedObjects?")
            assert "currentPage=2" in page["next"]
    finally:
        services.close()


@pytest.mark.parametrize(
    "value", ["ftp://x", "https://", "https://a.example/?q=1", "https://u:p@a.example"]
)
def test_a_public_url_that_is_not_a_base_url_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match="public_url"):
        Settings(var_dir=tmp_path, public_url=value)

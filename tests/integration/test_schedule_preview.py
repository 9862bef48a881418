"""The preview route and `batchscore cron next` agree with the shared Quartz vectors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import DATA

CASES: list[dict[str, Any]] = json.loads((DATA / "cron" / "cases.json").read_text())["cases"]
VALID = [c for c in CASES if c["expected"] != "invalid"]
INVALID = [c for c in CASES if c["expected"] == "invalid"]
CLI = Path(sys.executable).with_name("batchscore")


def _params(case: dict[str, Any]) -> dict[str, Any]:
    return {
        "cronExpression": case["cronExpression"],
        "timeZone": case["timeZone"],
        "from": case["from"],
        "count": case["count"],
        "dstPolicy": case.get("policy", "fireAfterGap"),
    }


@pytest.mark.parametrize("case", VALID, ids=[c["id"] for c in VALID])
def test_preview_matches_quartz(
    client: TestClient, reader: dict[str, str], case: dict[str, Any]
) -> None:
    r = client.get("/service/zementis/schedule/preview", params=_params(case), headers=reader)
    assert r.status_code == 200, r.text
    assert r.json() == case["expected"]


@pytest.mark.parametrize("case", INVALID, ids=[c["id"] for c in INVALID])
def test_preview_refuses_invalid(
    client: TestClient, reader: dict[str, str], case: dict[str, Any]
) -> None:
    r = client.get("/service/zementis/schedule/preview", params=_params(case), headers=reader)
    assert r.status_code == 400
    assert r.json()["errors"]


def test_preview_defaults_to_now_and_validates(client: TestClient, reader: dict[str, str]) -> None:
    r = client.get(
        "/service/zementis/schedule/preview",
        params={"cronExpression": "0 0 5 ? * *", "timeZone": "Asia/Kolkata", "count": 2},
        headers=reader,
    )
    assert r.json() == ["2026-01-15T05:00:00+05:30", "2026-01-16T05:00:00+05:30"]
    bad = client.get(
        "/service/zementis/schedule/preview",
        params={"cronExpression": "0 0 5 ? * *", "timeZone": "Nowhere/City", "from": "x"},
        headers=reader,
    )
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        "timeZone 'Nowhere/City' is not a known IANA time zone.",
        "from must be an ISO-8601 instant with a UTC offset.",
    ]


@pytest.mark.parametrize("case", VALID[:6] + [c for c in VALID if c["kind"] != "grammar"][:4])
def test_cli_prints_the_same_instants(case: dict[str, Any]) -> None:
    args = [str(CLI), "cron", "next", case["cronExpression"], "--tz", case["timeZone"]]
    args += ["--from", case["from"], "--count", str(case["count"])]
    args += ["--dst-policy", case.get("policy", "fireAfterGap")]
    out = subprocess.run(args, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == case["expected"]
    assert out.stderr == ""


def test_cli_errors_go_to_stderr() -> None:
    out = subprocess.run(
        [str(CLI), "cron", "next", "0 0 5 * * *", "--tz", "UTC"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.strip()

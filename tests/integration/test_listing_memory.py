"""Listing fat managed objects keeps a live server's memory bounded (issue 17: 200 objects of
1 MB took a server to 2.3 GB, fragments of whole pages loaded and amplified ~12x). The peak
resident set of `batchscore serve` is read from /proc while one page holds all 200 objects."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from batchscore.store.db import Database
from batchscore.store.inventory import insert_object
from batchscore.store.users import ensure_tenant
from tests.integration.live_server import LiveServer, live_batchscore

OBJECTS = 200
LIMIT_MB = 400  # "must not push the server past a few hundred MB"


def fat_fragments(rng: random.Random) -> dict[str, object]:
    """About 1 MB of JSON in many small values (what amplifies when parsed)."""
    readings = [
        {"t": i, "v": rng.random(), "ok": bool(i % 2), "tag": f"s{i % 97}"} for i in range(17_000)
    ]
    return {"c8y_IsDevice": {}, "c8y_History": {"readings": readings}}


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.fixture(scope="module")
def fat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_batchscore(tmp_path_factory.mktemp("fat")) as live:
        db = Database.from_url(live.database_url)
        rng = random.Random(17)
        now = datetime(2026, 1, 14, tzinfo=UTC)
        fragments = fat_fragments(rng)
        assert 0.9e6 < len(json.dumps(fragments, separators=(",", ":"))) < 1.0e6
        with db.write() as conn:
            ensure_tenant(conn, live.tenant, now)
            for i in range(OBJECTS):
                insert_object(conn, live.tenant, f"fat-{i}", None, "admin", fragments, now)
        db.dispose()
        yield live


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_a_page_of_200_objects_of_1_mb_stays_within_a_few_hundred_mb(
    fat_server: LiveServer,
) -> None:
    pid = fat_server.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak: count the listing only
    before = peak_mb(pid)
    received = 0
    with httpx.Client(base_url=fat_server.base_url, auth=fat_server.auth, timeout=120) as http:
        with http.stream(
            "GET", "/inventory/managedObjects", params={"pageSize": OBJECTS, "withParents": "true"}
        ) as r:
            assert r.status_code == 200
            for chunk in r.iter_bytes():
                received += len(chunk)
        # the body is whole, valid JSON with every object
        listed = http.get("/inventory/managedObjects", params={"pageSize": 3}).json()
    peak = peak_mb(pid)
    print(f"peak resident set while listing: {peak:.0f} MB (before: {before:.0f} MB)")
    assert received > OBJECTS * 0.9e6
    assert len(listed["managedObjects"]) == 3
    assert len(listed["managedObjects"][0]["c8y_History"]["readings"]) == 17_000
    assert peak < LIMIT_MB, f"peak {peak:.0f} MB (before the listing {before:.0f} MB)"

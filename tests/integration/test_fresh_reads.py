"""Reads answered without a worker thread: the database's change stamp, the API's fresh
responses across instances sharing one database, and the cached-login check."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from batchscore.clock import FakeClock
from batchscore.composition.app import create_app
from batchscore.service.container import Services
from batchscore.settings import Settings
from batchscore.store.db import Database
from tests.conftest import PASSWORD, basic_auth
from tests.integration.conftest import World, periodic_job

BASE = "/service/zementis"


def test_the_change_stamp_moves_with_every_commit_of_any_connection(db: Database) -> None:
    if not db.is_sqlite:
        assert db.change_stamp() is None  # PostgreSQL: nothing is reused
        return
    first = db.change_stamp()
    assert first is not None
    with db.read() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM users").scalar()
    assert db.change_stamp() == first  # reading changes nothing
    with db.write() as conn:
        conn.exec_driver_sql("UPDATE tenants SET jobs_version = jobs_version + 1")
    second = db.change_stamp()
    assert second is not None
    assert second > first
    with db.write():
        pass  # a transaction that writes nothing
    assert db.change_stamp() == second
    other = subprocess.run(  # another process, as a second `serve` would be
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "c.execute('UPDATE tenants SET jobs_version = jobs_version + 1'); c.commit()",
            str(db.engine.url.database),
        ],
        check=False,
    )
    assert other.returncode == 0
    third = db.change_stamp()
    assert third is not None
    assert third > second
    db.dispose()
    assert db.change_stamp() is None  # a reopened probe would count from 1 again


def test_in_memory_sqlite_has_no_stamp() -> None:
    memory = Database(create_engine("sqlite://"))
    try:
        assert memory.change_stamp() is None
    finally:
        memory.dispose()


@pytest.fixture
def second(db: Database, clock: FakeClock, settings: Settings) -> Iterator[TestClient]:
    """Another instance of the service on the same database, with its own caches."""
    own = Database.from_url(str(db.engine.url.render_as_string(hide_password=False)))
    services = Services.build(settings, own, clock)
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        yield client
    services.close()
    own.dispose()


def test_reads_follow_writes_made_through_another_instance(
    client: TestClient, second: TestClient, admin: dict[str, str], world: World
) -> None:
    job = client.post(f"{BASE}/job", json=periodic_job(world, jobName="A"), headers=admin).json()
    paths = [f"{BASE}/jobs", f"{BASE}/job/{job['jobId']}", f"{BASE}/job/{job['jobId']}/history"]
    before = {path: client.get(path, headers=admin) for path in paths}
    assert all(r.status_code == 200 for r in before.values())
    assert {p: client.get(p, headers=admin).content for p in paths} == {
        p: r.content for p, r in before.items()
    }  # answered again, unchanged

    made = second.post(f"{BASE}/job", json=periodic_job(world, jobName="B"), headers=admin)
    assert made.status_code == 201
    assert [j["jobName"] for j in client.get(f"{BASE}/jobs", headers=admin).json()] == ["A", "B"]

    assert second.delete(f"{BASE}/job/{job['jobId']}", headers=admin).status_code == 200
    assert client.get(paths[1], headers=admin).status_code == 404
    assert client.get(paths[2], headers=admin).status_code == 404
    assert [j["jobName"] for j in client.get(f"{BASE}/jobs", headers=admin).json()] == ["B"]


def test_cached_logins_are_checked_without_the_database(
    client: TestClient, services: Services, clock: FakeClock
) -> None:
    header = basic_auth("admin", PASSWORD, tenant="t1")["Authorization"]
    wrong = basic_auth("admin", PASSWORD + "x", tenant="t1")["Authorization"]
    assert services.auth.cached(header) is None  # never verified yet
    assert client.get(f"{BASE}/jobs", headers={"Authorization": header}).status_code == 200
    principal = services.auth.cached(header)
    assert principal is not None
    assert (principal.tenant, principal.user) == ("t1", "admin")
    assert services.auth.cached(wrong) is None
    assert services.auth.cached("Basic !!!") is None
    assert services.auth.cached(None) is None
    clock.advance(61)
    assert services.auth.cached(header) is None  # expired: verified again with argon2
    assert client.get(f"{BASE}/jobs", headers={"Authorization": wrong}).status_code == 401


def test_large_answers_are_gzipped_for_clients_that_accept_it(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    for i in range(30):
        client.post(f"{BASE}/job", json=periodic_job(world, jobName=f"J{i}"), headers=admin)
    path = f"{BASE}/jobs"
    for _ in range(2):  # rendered, then kept
        zipped = client.get(path, headers={**admin, "Accept-Encoding": "gzip, deflate"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["vary"] == "Accept-Encoding"
        assert int(zipped.headers["content-length"]) * 4 < len(zipped.content)
        plain = client.get(path, headers={**admin, "Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert int(plain.headers["content-length"]) == len(plain.content)
        assert plain.json() == zipped.json()
        assert len(plain.json()) == 30
    small = client.get(f"{BASE}/job/{plain.json()[0]['jobId']}", headers=admin)
    assert small.status_code == 200
    assert "content-encoding" not in small.headers  # under 4 kB: not worth compressing

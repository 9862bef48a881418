"""The migration chain produces exactly the declared schema, on every backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from batchscore.domain.measurements import NewMeasurement
from batchscore.store.db import Database
from batchscore.store.jobs import get_job
from batchscore.store.measurements import insert_measurements
from batchscore.store.migrate import alembic_config, upgrade
from batchscore.store.tables import metadata
from batchscore.testing import scratch_postgres
from tests.conftest import BACKENDS, PG_URL


def test_migrated_schema_matches_the_tables(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode(db: Database) -> None:
    if not db.is_sqlite:
        return
    with db.read() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        fk = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
    assert (mode, fk) == ("wal", 1)


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database without any table: a SQLite file, or a scratch PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    assert PG_URL is not None
    with scratch_postgres(PG_URL, "batchscore_migrate") as url:
        yield url


def test_0007_upgrades_a_database_with_data(empty_url: str) -> None:
    """From 0004: values become measurements with ids (grouped by device, time and type, as the
    API showed them), child assets keep their parents, ids are never reused afterwards, and a
    stored Infinity (SQLite) becomes null."""
    db = Database.from_url(empty_url)
    upgrade(db.engine, "0004")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with db.write() as conn:
        conn.execute(text("INSERT INTO tenants (id, created_at) VALUES ('t', :at)"), {"at": at})
        for name, fragments in (("g", '{"c8y_IsDeviceGroup":{}}'), ("d", '{"c8y_Bad":{"v":1}}')):
            conn.execute(
                text(
                    "INSERT INTO managed_objects (tenant_id, name, is_device, is_group, fragments,"
                    " created_at, updated_at) VALUES ('t', :n, false, false, :f, :at, :at)"
                ),
                {"n": name, "f": fragments, "at": at},
            )
        conn.execute(
            text(
                "INSERT INTO child_assets (parent_id, child_id, tenant_id, created_at)"
                " VALUES (1, 2, 't', :at)"
            ),
            {"at": at},
        )
        if db.is_sqlite:  # what the 1e400 bug left behind; PostgreSQL's json refused it
            conn.execute(
                text("UPDATE managed_objects SET fragments = :f WHERE id = 2"),
                {"f": '{"c8y_Bad":{"v":Infinity}}'},
            )
        for second in range(3):
            for fragment, series, type_ in (("A", "x", "A"), ("A", "y", "A"), ("B", "z", None)):
                conn.execute(
                    text("INSERT INTO measurements VALUES ('t', 2, :f, :s, :t, :v, 'u', :ty)"),
                    {"f": fragment, "s": series, "t": second * 10**9, "v": second / 2, "ty": type_},
                )
    upgrade(db.engine)
    with db.read() as conn:
        docs = conn.execute(text("SELECT id, time_ns, type FROM measurements ORDER BY id")).all()
        values = conn.execute(text("SELECT count(*) FROM measurement_values")).scalar_one()
        refs = conn.execute(text("SELECT parent_id, kind, child_id FROM child_references")).all()
        bad = conn.execute(text("SELECT fragments FROM managed_objects WHERE id = 2")).scalar_one()
    # one measurement per (device, time, type); a value without a type took its fragment's name
    pairs = [(s * 10**9, t) for s in range(3) for t in ("A", "B")]
    assert sorted((d.time_ns, d.type) for d in docs) == pairs
    assert [d.id for d in docs] == [1, 2, 3, 4, 5, 6]
    assert values == 9
    assert [tuple(r) for r in refs] == [(1, "asset", 2)]
    found = json.loads(bad) if isinstance(bad, str) else bad  # SQLite answers the text
    assert found == ({"c8y_Bad": {"v": None}} if db.is_sqlite else {"c8y_Bad": {"v": 1}})
    with db.write() as conn:
        conn.execute(text("DELETE FROM managed_objects WHERE id = 2"))
        new_id = conn.execute(
            text(
                "INSERT INTO managed_objects (tenant_id, name, is_device, is_group, fragments,"
                " created_at, updated_at) VALUES ('t', 'n', false, false, '{}', :at, :at)"
                " RETURNING id"
            ),
            {"at": at},
        ).scalar_one()
        measurement_id = insert_measurements(
            conn, "t", [NewMeasurement(1, 0, "A", {"A": {"x": {"value": 1}}}, ())]
        )[0]
    assert (new_id, measurement_id) == (3, 7)
    db.dispose()


def test_0008_upgrades_a_database_with_jobs_and_executions(empty_url: str) -> None:
    """From 0007: jobs are unpaused (``paused`` null, so absent from their JSON) at version 0,
    and executions before 0008 have no recorded definition."""
    db = Database.from_url(empty_url)
    upgrade(db.engine, "0007")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with db.write() as conn:
        conn.execute(text("INSERT INTO tenants (id, created_at) VALUES ('t', :at)"), {"at": at})
        conn.execute(
            text(
                "INSERT INTO jobs (tenant_id, name, description, created_at, model_name, target_id,"
                " mappings, mappings_sent, schedule, execution_count) VALUES ('t', 'j', '', :at,"
                " 'm', 1, '{}', '{}', '{\"frequency\": \"once\"}', 1)"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO executions (job_id, tenant_id, number, scheduled_at, is_group, status,"
                " messages, started_at, record_count) VALUES (1, 't', 1, :at, false, 'Success',"
                " '[]', :at, 0)"
            ),
            {"at": at},
        )
    upgrade(db.engine)
    with db.read() as conn:
        job = conn.execute(text("SELECT version, paused, resume_fire_at FROM jobs")).one()
        run = conn.execute(
            text("SELECT model_name, model_sha256, model_mappings, backfill_id FROM executions")
        ).one()
        backfills = conn.execute(text("SELECT count(*) FROM backfills")).scalar_one()
    assert tuple(job) == (0, None, None)
    assert tuple(run) == (None, None, None, None)
    assert backfills == 0
    db.dispose()


def test_0009_adds_actions_to_existing_jobs_and_downgrades(empty_url: str) -> None:
    """From 0008: a stored job gains no actions (NULL, so it renders as before), the outbox
    takes effects, and the downgrade removes both again."""
    db = Database.from_url(empty_url)
    upgrade(db.engine, "0008_job_lifecycle")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with db.write() as conn:
        conn.execute(text("INSERT INTO tenants (id, created_at) VALUES ('t', :at)"), {"at": at})
        conn.execute(
            text(
                "INSERT INTO jobs (tenant_id, name, description, created_at, model_name,"
                " target_id, mappings, mappings_sent, schedule, execution_count)"
                " VALUES ('t', 'j', '', :at, 'm', 1, '{}', '{}', '{}', 0)"
            ),
            {"at": at},
        )
    upgrade(db.engine)
    with db.write() as conn:
        job = get_job(conn, "t", 1)
        conn.execute(
            text(
                "INSERT INTO executions (job_id, tenant_id, number, scheduled_at, is_group,"
                " status, messages, record_count) VALUES (1, 't', 1, :at, false, 'Success',"
                " '[]', 0)"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO action_effects (execution_id, tenant_id, device_id, rule, target,"
                " kind, payload, status, attempts, created_at, next_attempt_at)"
                " VALUES (1, 't', 1, 'r', 0, 'alarm', '{}', 'pending', 0, :at, :at)"
            ),
            {"at": at},
        )
    assert job is not None
    assert (job.actions, job.write_back) == ((), None)
    command.downgrade(alembic_config(db.engine), "0008_job_lifecycle")
    with db.read() as conn:
        tables = {
            r[0]
            for r in conn.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    if db.is_sqlite
                    else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            )
        }
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert "action_effects" not in tables
    assert version == "0008_job_lifecycle"
    db.dispose()

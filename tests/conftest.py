"""Shared fixtures: a migrated database per test on SQLite (and PostgreSQL when configured),
wired services on a fake clock, and an HTTP client on the ASGI app."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from batchscore.clock import FakeClock
from batchscore.composition.app import create_app
from batchscore.domain.roles import Role
from batchscore.passwords import configure_hashing
from batchscore.service.container import Services
from batchscore.service.users import add_user
from batchscore.settings import Settings
from batchscore.store.db import Database
from batchscore.store.migrate import upgrade
from batchscore.store.tables import metadata
from batchscore.testing import basic_auth, scratch_postgres

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
IFOREST_CASE = DATA / "pmml" / "corpus" / "iforest_plain"
PG_URL = os.environ.get("BATCHSCORE_TEST_POSTGRES_URL")
START = datetime(2026, 1, 14, 12, 0, 0, tzinfo=UTC)
PASSWORD = "s3cret-Passw0rd"

USERS = [
    ("t1", "admin", frozenset({Role.ML_ADMIN})),
    ("t1", "reader", frozenset({Role.ML_READ})),
    ("t2", "admin", frozenset({Role.ML_ADMIN})),
    ("default", "plain", frozenset({Role.ML_ADMIN})),
]


CHROMIUM = Path("/usr/bin/chromium")
BROWSER_TESTS = REPO / "tests" / "browser"
NO_BROWSER = (
    f"browser tests skipped: no Chromium at {CHROMIUM} "
    "(apt-get install chromium to run them; BATCHSCORE_REQUIRE_BROWSER=1 makes this an error)"
)
_SKIPPED_BROWSER = pytest.StashKey[int]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Chromium, leave the browser tests out and say so once, unless CI requires them."""
    if CHROMIUM.exists() or os.environ.get("BATCHSCORE_REQUIRE_BROWSER"):
        return
    browser = [item for item in items if item.path.is_relative_to(BROWSER_TESTS)]
    if browser:
        config.hook.pytest_deselected(items=browser)
        items[:] = [item for item in items if item not in browser]
        config.stash[_SKIPPED_BROWSER] = len(browser)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if count := config.stash.get(_SKIPPED_BROWSER, 0):
        terminalreporter.write_line(f"{count} {NO_BROWSER}", yellow=True)


def _seed_users(db: Database) -> None:
    clock = FakeClock(START)
    for tenant, user, roles in USERS:
        add_user(db, clock, tenant, user, PASSWORD, roles)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configure_hashing("fast")
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database.from_url(f"sqlite:///{path}")
    upgrade(db.engine)
    _seed_users(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_db() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated once, dropped at the end."""
    assert PG_URL is not None
    configure_hashing("fast")
    with scratch_postgres(PG_URL, "batchscore_test") as url:
        db = Database.from_url(url)
        upgrade(db.engine)
        _seed_users(db)
        db.dispose()
        yield url


BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database with the seed users, empty otherwise."""
    if request.param == "sqlite":
        path = tmp_path / "batchscore.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database.from_url(f"sqlite:///{path}")
    else:
        database = Database.from_url(request.getfixturevalue("postgres_db"))
        keep = {"tenants", "users", "alembic_version"}
        names = ", ".join(t.name for t in metadata.sorted_tables if t.name not in keep)
        with database.write() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(password_profile="fast", var_dir=tmp_path, login_failures_allowed=5)


@pytest.fixture
def services(db: Database, clock: FakeClock, settings: Settings) -> Iterator[Services]:
    built = Services.build(settings, db, clock)
    yield built
    built.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def admin() -> dict[str, str]:
    return basic_auth("admin", PASSWORD, tenant="t1")


@pytest.fixture
def reader() -> dict[str, str]:
    return basic_auth("reader", PASSWORD, tenant="t1")


@pytest.fixture
def other_admin() -> dict[str, str]:
    return basic_auth("admin", PASSWORD, tenant="t2")

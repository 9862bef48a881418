"""The store's edge: driver errors become our own errors there, never above it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from batchscore.domain.models import ModelDescription, ModelField
from batchscore.errors import AlreadyExists, Conflict, StartupError
from batchscore.store import models as models_repo
from batchscore.store.db import Database
from batchscore.store.opening import open_database

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _description(name: str) -> ModelDescription:
    field = ModelField("x", "double", "continuous")
    return ModelDescription(name, "", "pmml", (field,), (field,))


def test_a_duplicate_model_name_is_already_exists_not_a_driver_error(db: Database) -> None:
    """The unique key on (tenant, name) answers with AlreadyExists (a Conflict, a 409 in the
    API), on both backends, and the failed transaction leaves the first model as it was."""
    with db.write() as conn:
        first = models_repo.insert_model(conn, "t1", _description("m"), b"<PMML/>", "a" * 64, NOW)
    with pytest.raises(AlreadyExists) as raised, db.write() as conn:
        models_repo.insert_model(conn, "t1", _description("m"), b"<other/>", "b" * 64, NOW)
    assert isinstance(raised.value, Conflict)
    assert raised.value.__cause__ is None  # nothing of the driver travels upward
    with db.read() as conn:
        assert models_repo.get_model(conn, "t1", "m") == first
    with db.write() as conn:  # the same name in another tenant is another key
        assert models_repo.insert_model(conn, "t2", _description("m"), b"<x/>", "c" * 64, NOW)


def test_reachable_says_whether_the_database_answers(db: Database) -> None:
    assert db.reachable()
    nobody = Database.from_url("postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2")
    try:
        assert not nobody.reachable()  # port 9 (discard) has no PostgreSQL behind it
    finally:
        nobody.dispose()


def test_a_bad_database_url_is_one_startup_line() -> None:
    with pytest.raises(StartupError, match="is not a database URL"):
        open_database("not a url")

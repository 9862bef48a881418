"""Alembic environment: runs migrations on the engine handed over by ``store.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from batchscore.store.tables import metadata

engine: Engine = context.config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration on SQLite copies a table and drops the original; with foreign keys
        # on, that DROP would first delete (and cascade to) every referencing row. The pragma
        # only takes effect outside a transaction, so it goes straight to the driver connection
        # before Alembic begins one; the keys are checked and switched back on afterwards.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
    if sqlite:
        raw = connection.connection.driver_connection
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()  # type: ignore[union-attr]
        raw.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
        if broken:
            raise RuntimeError(
                f"migration left rows whose foreign keys point nowhere: {broken[:5]}"
            )

"""A Dask task's printed form (Dask logs it when the task fails) carries no password."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from batchscore.execution.dask_backend import PartitionTask
from batchscore.execution.partitions import ModelRef, Partition, PartitionWork
from batchscore.sources.cumulocity import CumulocitySettings


def test_the_printed_task_shows_no_secret() -> None:
    work = PartitionWork(
        1, "t", ModelRef("t", "M", "0" * 64, "pmml"), (),
        datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC), timedelta(hours=6),
    )  # fmt: skip
    tenant = CumulocitySettings(
        c8y_baseurl="https://t.example", c8y_user="u", c8y_password=SecretStr("tenant-secret")
    )
    task = PartitionTask(work, Partition(0, (1, 2)), "postgresql://u:db-secret@h/db", tenant)
    text = repr(task) + str(task)
    assert "db-secret" not in text
    assert "tenant-secret" not in text
    assert "Partition(index=0" in text
    assert hash(tenant) == hash(tenant.model_copy())  # workers keep one source per tenant

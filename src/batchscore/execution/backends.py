"""Choosing where executions score from the ``executor`` setting (``local`` or ``dask://``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from batchscore.execution.runner import PartitionRunner

if TYPE_CHECKING:
    from batchscore.sources.cumulocity import CumulocitySettings


def partition_runner(
    executor: str,
    database_url: str,
    no_workers_s: float = 120.0,
    cumulocity: CumulocitySettings | None = None,
) -> PartitionRunner | None:
    """The runner for ``executor``: None for ``local`` (the executor scores in-process), a Dask
    runner for ``dask://host:port`` whose workers open ``database_url`` and read measurements
    through ``cumulocity`` (a tenant) or the database's embedded store (None)."""
    if executor == "local":
        return None
    # Deferred on purpose: `distributed` costs ~1 s to import, which only dask:// deployments
    # should pay (every CLI command and every test builds the services).
    from batchscore.execution.dask_backend import DaskRunner, scheduler_address

    return DaskRunner(
        scheduler_address(executor),
        database_url,
        no_workers_s=no_workers_s,
        cumulocity=cumulocity,
    )

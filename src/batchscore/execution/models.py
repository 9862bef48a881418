"""The model of an execution: checked once by the owning instance, compiled where it scores.

The owner turns the job's model name into a ``ModelRef`` (failing the execution if the model
is missing or inactive); whoever scores (the owner itself, or a Dask worker) compiles the
bytes behind that ref once per (tenant, sha256) through its ``ModelCache``.
"""

from __future__ import annotations

import hashlib

from batchscore.errors import ModelError
from batchscore.execution.partitions import ModelRef
from batchscore.runtime.engine import CompiledModel
from batchscore.runtime.registry import ModelCache
from batchscore.store import models as models_repo
from batchscore.store.db import Database


def resolve_model(db: Database, tenant: str, name: str) -> ModelRef:
    """The ref of the tenant's model ``name``; ``ModelError`` if it is missing or inactive."""
    with db.read() as conn:
        stored = models_repo.get_model(conn, tenant, name)
    if stored is None:
        raise ModelError(f"Model '{name}' not found.")
    if not stored.is_active:
        raise ModelError(f"The model '{name}' is inactive; activate it to score.")
    return ModelRef(tenant, name, stored.sha256, stored.kind)


def compile_model(db: Database, cache: ModelCache, ref: ModelRef) -> CompiledModel:
    """The compiled model behind ``ref``; its bytes are read only when ``cache`` lacks it."""

    def load() -> bytes:
        with db.read() as conn:
            data = models_repo.get_source(conn, ref.tenant, ref.name)
        if data is None:
            raise ModelError(f"Model '{ref.name}' not found.")
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise ModelError(f"The model '{ref.name}' was replaced during the execution.")
        return data

    return cache.get(ref.tenant, ref.sha256, ref.kind, load)

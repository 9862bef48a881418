"""Model registry use cases: upload, read, (de)activate, delete."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import PurePath

from batchscore.clock import Clock
from batchscore.domain.models import ModelDescription, ModelField, StoredModel
from batchscore.domain.names import fits, model_name_problem
from batchscore.errors import AlreadyExists, Conflict, ModelError, NotFound, PayloadTooLarge
from batchscore.runtime.archive import model_kind, unpack_model_file
from batchscore.runtime.describe import describe_pmml
from batchscore.runtime.registry import ENGINES
from batchscore.store import models as repo
from batchscore.store.db import Database


def model_not_found(name: str) -> NotFound:
    return NotFound(f"Model '{name}' not found.")


def _checked(name: str) -> str:
    """Names that no model can have (too long, NUL) are simply not found."""
    if not fits(name):
        raise model_not_found(name[:255])
    return name


class ModelService:
    """Per-tenant model registry backed by the database."""

    def __init__(self, db: Database, clock: Clock, max_bytes: int) -> None:
        self.db = db
        self.clock = clock
        self.max_bytes = max_bytes

    def upload(self, tenant: str, data: bytes, filename: str | None) -> StoredModel:
        if len(data) > self.max_bytes:
            raise PayloadTooLarge(f"The model file is larger than {self.max_bytes} bytes.")
        if not data:
            raise ModelError("The model file is empty.")
        data, filename = unpack_model_file(data, filename, self.max_bytes)
        kind = model_kind(data, filename)
        fallback = PurePath(filename).stem if filename else None
        # Compiling refuses unsupported models at upload (never at scoring) and tells the exact
        # outputs the engine returns (for PMML named as JPMML names them).
        compiled = ENGINES[kind].load(data)
        outputs = tuple(
            ModelField(name=f.name, data_type=f.data_type, op_type=f.op_type)
            for f in compiled.outputs
        )
        if kind == "pmml":
            desc = replace(describe_pmml(data, fallback), outputs=outputs)
        else:
            inputs = tuple(
                ModelField(name=f.name, data_type=f.data_type, op_type=f.op_type)
                for f in compiled.inputs
            )
            desc = ModelDescription(fallback or compiled.name, "", kind, inputs, outputs)
        if problem := model_name_problem(desc.name):
            raise ModelError(problem)
        digest = hashlib.sha256(data).hexdigest()
        try:
            with self.db.write() as conn:
                if repo.get_model(conn, tenant, desc.name) is not None:
                    raise _duplicate(desc.name)
                return repo.insert_model(conn, tenant, desc, data, digest, self.clock.now())
        except AlreadyExists:
            raise _duplicate(desc.name) from None

    def names(self, tenant: str) -> list[str]:
        with self.db.read() as conn:
            return repo.list_names(conn, tenant)

    def list_models(self, tenant: str) -> list[StoredModel]:
        """Every model of the tenant, in upload order, read in one transaction."""
        with self.db.read() as conn:
            return repo.list_models(conn, tenant)

    def get(self, tenant: str, name: str) -> StoredModel:
        name = _checked(name)
        with self.db.read() as conn:
            model = repo.get_model(conn, tenant, name)
        if model is None:
            raise model_not_found(name)
        return model

    def source(self, tenant: str, name: str) -> bytes:
        name = _checked(name)
        with self.db.read() as conn:
            data = repo.get_source(conn, tenant, name)
        if data is None:
            raise model_not_found(name)
        return data

    def set_active(self, tenant: str, name: str, active: bool) -> StoredModel:
        name = _checked(name)
        with self.db.write() as conn:
            if not repo.set_active(conn, tenant, name, active):
                raise model_not_found(name)
            model = repo.get_model(conn, tenant, name)
        assert model is not None
        return model

    def delete(self, tenant: str, name: str) -> list[str]:
        name = _checked(name)
        with self.db.write() as conn:
            if not repo.delete_model(conn, tenant, name):
                raise model_not_found(name)
            return repo.list_names(conn, tenant)

    def delete_all(self, tenant: str) -> list[str]:
        with self.db.write() as conn:
            repo.delete_all(conn, tenant)
            return repo.list_names(conn, tenant)


def _duplicate(name: str) -> Conflict:
    return Conflict(f"A model with the name '{name}' already exists.")

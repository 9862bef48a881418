"""Scoring records on demand (``/apply/{name}``): JSON or CSV records in, output columns out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.errors import ModelError
from batchscore.runtime.engine import CompiledModel
from batchscore.runtime.registry import ModelCache
from batchscore.service.apply_records import InputColumns, read_records
from batchscore.service.models import ModelService


@dataclass(frozen=True, slots=True)
class Scored:
    """The outputs of an apply request: one column per output field, ``count`` records."""

    names: tuple[str, ...]
    columns: dict[str, npt.NDArray[Any]]
    count: int


class ApplyService:
    def __init__(self, models: ModelService, cache: ModelCache) -> None:
        self.models = models
        self.cache = cache

    def apply(self, tenant: str, name: str, body: bytes, content_type: str) -> Scored:
        """Score the records of ``body`` (CSV if ``content_type`` says so, else JSON) with the
        tenant's model ``name``."""
        model = self._model(tenant, name)
        inputs = InputColumns(model.inputs)
        read_records(body, content_type, inputs)
        # A model may overflow to ±inf; the answer shows it as null (domain/finite.py).
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            outputs = model.score(inputs.columns())
        names = tuple(f.name for f in model.outputs)
        return Scored(names, {n: outputs[n] for n in names}, inputs.count)

    def _model(self, tenant: str, name: str) -> CompiledModel:
        stored = self.models.get(tenant, name)
        if not stored.is_active:
            raise ModelError(f"The model '{name}' is inactive; activate it to score.")
        return self.cache.get(
            tenant, stored.sha256, stored.kind, lambda: self.models.source(tenant, name)
        )

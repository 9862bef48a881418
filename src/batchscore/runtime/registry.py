"""Compiled models, cached per (tenant, sha256) and reused across executions."""

from __future__ import annotations

import threading
from collections.abc import Callable

from cachetools import LRUCache

from batchscore.errors import ModelError
from batchscore.runtime.engine import CompiledModel, ModelEngine
from batchscore.runtime.onnx import OnnxEngine
from batchscore.runtime.parallel import ScoringPool, parallel
from batchscore.runtime.pmml.engine import PmmlEngine

ENGINES: dict[str, ModelEngine] = {"pmml": PmmlEngine(), "onnx": OnnxEngine()}


class ModelCache:
    """An LRU of compiled models. Compiling a 100-tree forest costs ~0.5 s; scoring reuses it.

    With a ``pool``, the models it hands out score large batches on the pool's threads.
    """

    def __init__(self, capacity: int = 32, pool: ScoringPool | None = None) -> None:
        self.capacity = capacity
        self.pool = pool
        self._items: LRUCache[tuple[str, str], CompiledModel] = LRUCache(maxsize=capacity)
        self._lock = threading.Lock()

    def get(
        self, tenant: str, sha256: str, kind: str, load_bytes: Callable[[], bytes]
    ) -> CompiledModel:
        key = (tenant, sha256)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                return hit
        engine = ENGINES.get(kind)
        if engine is None:
            raise ModelError(f"No engine for models of kind '{kind}'.")
        compiled = parallel(engine.load(load_bytes()), self.pool)
        with self._lock:
            self._items[key] = compiled
        return compiled

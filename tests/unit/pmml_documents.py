"""Small PMML 4.4 documents for unit tests: one header, one way to compile and to score."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.runtime.pmml import PmmlEngine, PmmlModel

HEAD = '<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">'


def load_document(dictionary: str, body: str) -> PmmlModel:
    """Compile a document of ``dictionary`` (a DataDictionary element) and ``body``."""
    return PmmlEngine().load(f"{HEAD}{dictionary}{body}</PMML>".encode())


def score_floats(model: PmmlModel, **columns: list[float]) -> dict[str, npt.NDArray[Any]]:
    """Score float64 input columns given by field name."""
    arrays = {name: np.array(values, dtype=np.float64) for name, values in columns.items()}
    return model.score(arrays)

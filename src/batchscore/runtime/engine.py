"""The model engine port: how the runtime loads a model document and scores column batches.

Column conventions shared by every engine:

* numeric fields (``double``, ``float``, ``integer``) travel as ``float64`` arrays, NaN = missing;
* string fields travel as ``object`` arrays of ``str``, ``None`` = missing;
* boolean fields travel as ``object`` arrays of ``True``/``False``, ``None`` = missing (always,
  whether or not a value is missing, so consumers see one dtype per data type).

A row the model refuses (an invalid value under ``invalidValueTreatment="returnInvalid"``) has
every output missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy.typing as npt


@dataclass(frozen=True)
class FieldInfo:
    """One input or output field of a model, typed as the model declares it."""

    name: str
    data_type: str
    """PMML dataType: ``double``, ``float``, ``integer``, ``string``, ``boolean``."""
    op_type: str
    """``continuous``, ``categorical`` or ``ordinal``."""
    usage: str
    """``active`` for inputs; ``target`` or ``output`` for outputs."""


class CompiledModel(Protocol):
    """A loaded model, ready to score column batches of any length."""

    # Read-only members, so implementations may hold tuples.
    @property
    def name(self) -> str: ...

    @property
    def inputs(self) -> Sequence[FieldInfo]: ...

    @property
    def outputs(self) -> Sequence[FieldInfo]: ...

    def score(self, columns: Mapping[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
        """Score equal-length input columns; return one column per output, in ``outputs`` order.

        An input absent from ``columns`` is missing on every row.
        """
        ...


class ModelEngine(Protocol):
    """Turns a model document into a :class:`CompiledModel`."""

    def load(self, data: bytes) -> CompiledModel:
        """Parse and compile ``data``; raise :class:`batchscore.errors.ModelError` if unusable.

        Everything that can be checked without data is checked here, so scoring never fails
        on an unsupported feature.
        """
        ...


__all__ = ["CompiledModel", "FieldInfo", "ModelEngine"]

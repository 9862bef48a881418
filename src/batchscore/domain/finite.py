"""Model outputs as JSON can carry them: NaN (missing) and ±inf become None.

A model may compute ±inf (an overflowing ``exp``, a division by zero); JSON has no such number,
so every answer that shows outputs (the API's JSON, the CSV export, the console) renders them
through here and shows them as missing; the execution says so in a Warning.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt


def json_column(values: npt.NDArray[Any]) -> list[Any]:
    """A column as JSON values: floats that are not finite (NaN, ±inf) become None."""
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        out: list[Any] = values.astype(np.float64).tolist()
        if not finite.all():
            for i in np.flatnonzero(~finite).tolist():
                out[i] = None
        return out
    if values.dtype == object:
        return [finite_or_none(v) for v in values.tolist()]
    return list(values.tolist())


def finite_or_none(value: Any) -> Any:
    """``value`` itself, or None for a float that is not finite."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def count_infinite(values: npt.NDArray[Any]) -> int:
    """How many values of a float column are +inf or -inf (NaN is missing, not counted)."""
    if values.dtype.kind != "f":
        return 0
    return int(np.count_nonzero(np.isinf(values)))

"""Record alignment: series of one device become model input columns, one record per distinct
timestamp across the mapped series. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from batchscore.domain.jobs import MeasurementPath
from batchscore.sources.source import Series


@dataclass(frozen=True, slots=True)
class Records:
    """Aligned records: ascending epoch-ns times and one float64 column per model input."""

    times_ns: npt.NDArray[np.int64]
    columns: dict[str, npt.NDArray[np.float64]]

    def __len__(self) -> int:
        return len(self.times_ns)


def align_records(
    series: Mapping[MeasurementPath, Series], mapping: Mapping[str, MeasurementPath]
) -> Records:
    """Join the series on time; a series without a value at a record's time gives NaN there.

    ``mapping`` is model input -> path; several inputs may read the same path.
    """
    used = [series[p] for p in dict.fromkeys(mapping.values()) if len(series[p])]
    if not used:
        return Records(np.empty(0, np.int64), {name: np.empty(0) for name in mapping})
    first = used[0].times_ns
    if all(np.array_equal(first, s.times_ns) for s in used[1:]):
        times = first  # series sampled together (the common case): no union to compute
    else:
        times = np.unique(np.concatenate([s.times_ns for s in used]))
    columns: dict[str, npt.NDArray[np.float64]] = {}
    placed: dict[MeasurementPath, npt.NDArray[np.float64]] = {}
    for name, path in mapping.items():
        if path not in placed:
            placed[path] = _place(series[path], times)
        columns[name] = placed[path]
    return Records(times, columns)


def _place(one: Series, times: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    out = np.full(len(times), np.nan)
    if len(one):
        # Series times are a subset of ``times`` (both ascending), so searchsorted is exact.
        out[np.searchsorted(times, one.times_ns)] = one.values
    return out

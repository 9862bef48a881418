"""Inference records to chart data: time series of numeric outputs per device (outliers
flagged) and label counts of categorical outputs. Pure; memory bounded by sampling."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from batchscore.domain.models import ModelField
from batchscore.execution.codec import Chunk

MAX_POINTS = 20_000


@dataclass
class DeviceSeries:
    times_s: list[float] = field(default_factory=list)
    values: dict[str, list[float | None]] = field(default_factory=lambda: defaultdict(list))
    flagged: list[bool] = field(default_factory=list)


@dataclass
class ExecutionCharts:
    numeric: list[str]
    categorical: list[str]
    flag: str | None
    records: Counter[int] = field(default_factory=Counter)
    series: dict[int, DeviceSeries] = field(default_factory=dict)
    counts: dict[str, dict[int, Counter[str]]] = field(default_factory=dict)

    def as_json(self, names: dict[int, str]) -> dict[str, Any]:
        """The document the chart script draws: one chart per numeric output."""
        return {
            "flag": self.flag,
            "outputs": [
                {
                    "name": output,
                    "devices": [
                        {
                            "id": device,
                            "name": names.get(device, str(device)),
                            "t": s.times_s,
                            "v": s.values[output],
                            "flag": s.flagged,
                        }
                        for device, s in self.series.items()
                    ],
                }
                for output in self.numeric
            ],
        }


def classify_outputs(
    fields: Iterable[ModelField], first: Chunk | None
) -> tuple[list[str], list[str], str | None]:
    """Numeric outputs (charted over time), categorical ones (counted), and the boolean
    output that marks outliers, if the model has one."""
    numeric: list[str] = []
    categorical: list[str] = []
    flag: str | None = None
    for f in fields:
        column = first.columns.get(f.name) if first is not None else None
        is_float = column is not None and column.dtype == np.float64
        if f.data_type == "boolean":
            categorical.append(f.name)
            if flag is None or "outlier" in f.name.lower():
                flag = f.name
        elif f.op_type != "continuous" or f.data_type == "string":
            categorical.append(f.name)
        elif is_float or column is None:
            numeric.append(f.name)
        else:
            categorical.append(f.name)
    return numeric, categorical, flag


def build_charts(
    chunks: Iterable[Chunk],
    numeric: list[str],
    categorical: list[str],
    flag: str | None,
    total_records: int,
) -> ExecutionCharts:
    """Sample every ``stride``-th record for the time series (flagged records always), count
    every categorical label."""
    stride = max(1, math.ceil(total_records / MAX_POINTS))
    charts = ExecutionCharts(numeric, categorical, flag)
    charts.counts = {name: defaultdict(Counter) for name in categorical}
    seen = 0
    for chunk in chunks:
        devices = chunk.devices.tolist()
        times = chunk.times_ns.tolist()
        flags = _truthy(chunk.columns[flag]) if flag in chunk.columns else [False] * len(chunk)
        columns = {n: chunk.columns[n].tolist() for n in numeric if n in chunk.columns}
        for name in categorical:
            if name in chunk.columns:
                per_device = charts.counts[name]
                for device, label in zip(devices, chunk.columns[name].tolist(), strict=True):
                    per_device[device][_label(label)] += 1
        for i, device in enumerate(devices):
            charts.records[device] += 1
            if (seen + i) % stride and not flags[i]:
                continue
            s = charts.series.setdefault(device, DeviceSeries())
            s.times_s.append(times[i] / 1e9)
            s.flagged.append(flags[i])
            for name, values in columns.items():
                s.values[name].append(_number(values[i]))
        seen += len(chunk)
    return charts


def _truthy(values: np.ndarray[Any, Any]) -> list[bool]:
    return [v is True or v == 1 or v == "true" for v in values.tolist()]


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool | str):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _label(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "(missing)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

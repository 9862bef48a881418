"""Inference records to what the execution page shows: per-device record and outlier counts,
label counts of categorical outputs, and numeric outputs downsampled to the chart's pixel
width. Pure; memory bounded by the number of devices and buckets, never by records.

Downsampling keeps, per device and bucket (one bucket per pixel column), the records with the
lowest and highest value and the lowest and highest flagged (outlier) record, so the drawn line
has the same extremes as the full one and no outlier is sampled away.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.domain.models import ModelField
from batchscore.execution.codec import Chunk

MIN_BUCKETS = 10
MAX_BUCKETS = 4000
TOP_LABELS = 10

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class OutputKinds:
    numeric: list[str]  # charted over time
    categorical: list[str]  # counted per label
    flag: str | None  # the boolean output that marks outliers, if the model has one


def classify_outputs(fields: Iterable[ModelField], first: Chunk | None) -> OutputKinds:
    """Which outputs are charted, which are counted, and which one flags outliers."""
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
    return OutputKinds(numeric, categorical, flag)


def flags_of(chunk: Chunk, flag: str | None) -> Bools:
    """Per record: is it flagged as an outlier (false without a flag output)."""
    if flag is None or flag not in chunk.columns:
        return np.zeros(len(chunk), dtype=np.bool_)
    values = chunk.columns[flag]
    if values.dtype == np.float64:
        return np.asarray(values == 1.0)
    return np.fromiter(
        (v is True or v == 1 or v == "true" for v in values.tolist()), np.bool_, len(values)
    )


@dataclass
class DeviceCounts:
    records: int = 0
    outliers: int = 0


@dataclass
class ExecutionSummary:
    kinds: OutputKinds
    devices: dict[int, DeviceCounts] = field(default_factory=dict)  # in record order
    labels: dict[str, dict[int, Counter[str]]] = field(default_factory=dict)

    @property
    def outliers(self) -> int:
        return sum(d.outliers for d in self.devices.values())

    def top_labels(self, name: str, device: int) -> list[tuple[str, int, float]]:
        """The most frequent labels of an output for a device: (label, count, share in %)."""
        counter = self.labels.get(name, {}).get(device)
        if not counter:
            return []
        total = sum(counter.values())
        return [(label, n, 100 * n / total) for label, n in counter.most_common(TOP_LABELS)]


def summarize(chunks: Iterable[Chunk], kinds: OutputKinds) -> ExecutionSummary:
    """Records and outliers per device, and every categorical label counted, in one pass."""
    summary = ExecutionSummary(kinds)
    summary.labels = {name: defaultdict(Counter) for name in kinds.categorical}
    for chunk in chunks:
        flags = flags_of(chunk, kinds.flag)
        devices, starts, sizes = _runs(chunk.devices)
        for device, start, size in zip(devices, starts, sizes, strict=True):
            counts = summary.devices.setdefault(device, DeviceCounts())
            counts.records += size
            counts.outliers += int(flags[start : start + size].sum())
        for name in kinds.categorical:
            if name not in chunk.columns:
                continue
            per_device = summary.labels[name]
            labels = [_label(v) for v in chunk.columns[name].tolist()]
            for device, start, size in zip(devices, starts, sizes, strict=True):
                per_device[device].update(labels[start : start + size])
    return summary


def _runs(devices: Ints) -> tuple[list[int], list[int], list[int]]:
    """Runs of one device in a chunk (records are grouped by device): ids, starts, sizes."""
    if not len(devices):
        return [], [], []
    starts = np.flatnonzero(np.r_[True, devices[1:] != devices[:-1]])
    sizes = np.diff(np.r_[starts, len(devices)])
    return devices[starts].tolist(), starts.tolist(), sizes.tolist()


def _label(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "(missing)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True, slots=True)
class DeviceLine:
    """One device's downsampled line: times (epoch seconds), values and outlier marks."""

    device: int
    records: int
    outliers: int  # flagged records, drawn or not
    times_s: list[float]
    values: list[float]
    flagged: list[bool]


class Downsampler:
    """Min/max per bucket of one numeric output for chosen devices over ``[start, end)``."""

    def __init__(self, devices: list[int], start_ns: int, end_ns: int, buckets: int) -> None:
        self.devices = devices
        self.order = np.array(sorted(devices), dtype=np.int64)
        self.start_ns = start_ns
        self.span_ns = max(1, end_ns - start_ns)
        self.buckets = min(max(buckets, MIN_BUCKETS), MAX_BUCKETS)
        size = len(devices) * self.buckets
        # Per (device, bucket): extremes of all records and of flagged records, with times.
        self.low = _Extreme(size, lowest=True)
        self.high = _Extreme(size, lowest=False)
        self.flag_low = _Extreme(size, lowest=True)
        self.flag_high = _Extreme(size, lowest=False)
        self.records: Ints = np.zeros(len(devices), dtype=np.int64)
        self.outliers: Ints = np.zeros(len(devices), dtype=np.int64)

    def add(self, chunk: Chunk, output: str, flags: Bools) -> None:
        if output not in chunk.columns or chunk.columns[output].dtype != np.float64:
            return
        values: Floats = chunk.columns[output]
        position = np.searchsorted(self.order, chunk.devices)
        position = np.minimum(position, len(self.order) - 1)
        member = self.order[position] == chunk.devices
        np.add.at(self.records, position[member], 1)
        np.add.at(self.outliers, position[member & flags], 1)
        keep = member & np.isfinite(values)  # missing and ±inf are not drawn
        if not keep.any():
            return
        bucket = (chunk.times_ns[keep] - self.start_ns) * self.buckets // self.span_ns
        bucket = np.clip(bucket, 0, self.buckets - 1)
        keys = position[keep] * self.buckets + bucket
        times, kept, marked = chunk.times_ns[keep], values[keep], flags[keep]
        self.low.add(keys, kept, times, marked)
        self.high.add(keys, kept, times, marked)
        if marked.any():
            self.flag_low.add(keys[marked], kept[marked], times[marked], marked[marked])
            self.flag_high.add(keys[marked], kept[marked], times[marked], marked[marked])

    def line(self, device: int) -> DeviceLine:
        """The device's kept records in time order (each at most once)."""
        index = int(np.searchsorted(self.order, device))
        window = slice(index * self.buckets, (index + 1) * self.buckets)
        points: dict[int, tuple[float, bool]] = {}
        for extreme in (self.low, self.high, self.flag_low, self.flag_high):
            found = extreme.found[window]
            for t, v, f in zip(
                extreme.times[window][found].tolist(),
                extreme.values[window][found].tolist(),
                extreme.flags[window][found].tolist(),
                strict=True,
            ):
                points[t] = (v, f or points.get(t, (0.0, False))[1])
        ordered = sorted(points.items())
        return DeviceLine(
            device,
            int(self.records[index]),
            int(self.outliers[index]),
            [t / 1e9 for t, _ in ordered],
            [v for _, (v, _) in ordered],
            [f for _, (_, f) in ordered],
        )


class _Extreme:
    """The lowest (or highest) value seen per key, with its record's time and flag."""

    def __init__(self, size: int, *, lowest: bool) -> None:
        self.lowest = lowest
        self.values: Floats = np.full(size, np.inf if lowest else -np.inf)
        self.times: Ints = np.zeros(size, dtype=np.int64)
        self.flags: Bools = np.zeros(size, dtype=np.bool_)
        self.found: Bools = np.zeros(size, dtype=np.bool_)

    def add(self, keys: Ints, values: Floats, times: Ints, flags: Bools) -> None:
        # Sort by key, then value: a group's first record is its lowest, its last the highest.
        order = np.lexsort((values, keys))
        sorted_keys = keys[order]
        edges = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        if not self.lowest:
            edges = np.r_[edges[1:] - 1, len(sorted_keys) - 1]
        pick = order[edges]
        group = keys[pick]
        better = (
            values[pick] < self.values[group] if self.lowest else values[pick] > self.values[group]
        )
        group, pick = group[better], pick[better]
        self.values[group] = values[pick]
        self.times[group] = times[pick]
        self.flags[group] = flags[pick]
        self.found[group] = True


def pick_devices(
    summary: ExecutionSummary, chosen: int | None, most: int
) -> tuple[list[int], bool]:
    """The devices to chart: the one chosen, else all (in record order) when there are at most
    ``most``, else the ``most`` with the most outliers. True when some were left out."""
    if chosen is not None:
        return ([chosen] if chosen in summary.devices else []), False
    ids = list(summary.devices)
    if len(ids) <= most:
        return ids, False
    rank = {d: i for i, d in enumerate(ids)}
    ranked = set(sorted(ids, key=lambda d: (-summary.devices[d].outliers, rank[d]))[:most])
    return [d for d in ids if d in ranked], True

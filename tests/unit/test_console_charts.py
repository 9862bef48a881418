"""The execution page's numbers: per-device counts and the min/max downsampling of charts."""

from __future__ import annotations

import numpy as np
import pytest

from batchscore.domain.models import ModelField
from batchscore.execution.codec import Chunk
from batchscore.web.charts import (
    Downsampler,
    classify_outputs,
    flags_of,
    pick_devices,
    summarize,
)

SECOND = 1_000_000_000
START = 1_768_392_000 * SECOND  # 2026-01-14T12:00:00Z
FIELDS = [
    ModelField("score", "double", "continuous"),
    ModelField("outlier", "boolean", "categorical"),
]


def chunk(
    devices: list[int], seconds: list[int], scores: list[float], flags: list[bool | None]
) -> Chunk:
    return Chunk(
        np.array(devices, dtype=np.int64),
        np.array([START + s * SECOND for s in seconds], dtype=np.int64),
        {
            "score": np.array(scores, dtype=np.float64),
            "outlier": np.array(flags, dtype=object),
        },
    )


def series(n: int, seed: int) -> tuple[list[float], list[bool]]:
    rng = np.random.default_rng(seed)
    scores = rng.normal(10, 1, n)
    flags = rng.random(n) < 0.03
    scores[flags] -= 6  # outliers score low, as an IsolationForest's do
    return scores.tolist(), flags.tolist()


def test_outputs_are_charted_counted_and_the_boolean_one_flags_outliers() -> None:
    kinds = classify_outputs(FIELDS, chunk([1], [0], [1.0], [False]))
    assert kinds.numeric == ["score"]
    assert kinds.categorical == ["outlier"]
    assert kinds.flag == "outlier"


def test_summary_counts_records_outliers_and_labels_per_device() -> None:
    kinds = classify_outputs(FIELDS, None)
    parts = [
        chunk([7, 7, 7], [0, 1, 2], [1.0, 2.0, 3.0], [False, True, False]),
        chunk([7, 9, 9], [3, 0, 1], [1.0, 2.0, 3.0], [True, True, None]),
    ]
    summary = summarize(parts, kinds)
    assert list(summary.devices) == [7, 9]
    assert (summary.devices[7].records, summary.devices[7].outliers) == (4, 2)
    assert (summary.devices[9].records, summary.devices[9].outliers) == (2, 1)
    assert summary.outliers == 3
    assert dict(summary.labels["outlier"][9]) == {"true": 1, "(missing)": 1}
    assert summary.top_labels("outlier", 7) == [("false", 2, 50.0), ("true", 2, 50.0)]


def test_downsampling_keeps_each_buckets_extremes_and_every_flagged_record() -> None:
    n, buckets = 3600, 100
    scores, flags = series(n, seed=1)
    devices = [5] * n
    sampler = Downsampler([5], START, START + n * SECOND, buckets)
    # Fed in pieces, as chunks arrive: a bucket's extremes may sit in different chunks.
    for lo in range(0, n, 700):
        hi = min(lo + 700, n)
        part = chunk(devices[lo:hi], list(range(lo, hi)), scores[lo:hi], list(flags[lo:hi]))
        sampler.add(part, "score", flags_of(part, "outlier"))
    line = sampler.line(5)

    assert len(line.times_s) <= 4 * buckets < n
    assert line.times_s == sorted(line.times_s)
    per_bucket = n // buckets
    values = np.array(scores)
    for b in range(buckets):
        window = values[b * per_bucket : (b + 1) * per_bucket]
        kept = [
            v
            for t, v in zip(line.times_s, line.values, strict=True)
            if b * per_bucket <= t - START / SECOND < (b + 1) * per_bucket
        ]
        assert min(kept) == window.min()
        assert max(kept) == window.max()
    # No bucket with an outlier loses it: each such bucket draws at least one flagged point.
    flagged_buckets = {int(s) // per_bucket for s, f in enumerate(flags) if f}
    drawn = {
        int(t - START / SECOND) // per_bucket
        for t, f in zip(line.times_s, line.flagged, strict=True)
        if f
    }
    assert drawn == flagged_buckets
    assert all(
        flags[int(t - START / SECOND)] for t, f in zip(line.times_s, line.flagged, strict=True) if f
    )


def test_downsampling_keeps_devices_apart_and_skips_missing_values() -> None:
    sampler = Downsampler([2, 1], START, START + 10 * SECOND, 10)
    part = chunk([1, 1, 2, 2], [0, 1, 0, 1], [1.0, float("nan"), 5.0, 6.0], [False] * 4)
    sampler.add(part, "score", flags_of(part, "outlier"))
    assert sampler.line(1).values == [1.0]
    assert sampler.line(2).values == [5.0, 6.0]
    assert sampler.line(2).flagged == [False, False]


@pytest.mark.parametrize(("asked", "expected"), [(1, 10), (50_000, 4000)])
def test_bucket_counts_are_bounded(asked: int, expected: int) -> None:
    assert Downsampler([1], START, START + SECOND, asked).buckets == expected


def test_devices_to_chart_prefer_the_chosen_one_then_the_most_outliers() -> None:
    kinds = classify_outputs(FIELDS, None)
    parts = [
        chunk([d] * 4, [0, 1, 2, 3], [1.0] * 4, [i < d % 4 for i in range(4)]) for d in range(1, 7)
    ]
    summary = summarize(parts, kinds)
    assert pick_devices(summary, None, 8) == ([1, 2, 3, 4, 5, 6], False)
    # Outliers per device: 1, 2, 3, 0, 1, 2; the three with most, shown in record order.
    assert pick_devices(summary, None, 3) == ([2, 3, 6], True)
    assert pick_devices(summary, 4, 3) == ([4], False)
    assert pick_devices(summary, 99, 3) == ([], False)

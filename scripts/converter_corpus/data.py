"""Synthetic IoT-like measurement rows with numeric, integer, categorical, date, date-time and
text columns, and the targets the cases learn (fixed seeds: the same rows on every run)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TRAIN_ROWS = 400
TEST_ROWS = 120
MODES = ("idle", "walk", "run")
SITES = ("north", "south", "east", "west")
WORDS = ("motor", "fan", "pump", "valve", "belt", "noise", "heat", "leak", "ok", "check")

NUMERIC = ("x1", "x2", "x3", "x4")
MIXED_NUMERIC = ("x1", "x2", "load")
CATEGORICAL = ("mode", "site")


@dataclass(frozen=True)
class Rows:
    """A frame of features and every target column."""

    frame: pd.DataFrame

    def features(self, columns: tuple[str, ...]) -> pd.DataFrame:
        return self.frame[list(columns)].copy()

    def target(self, task: str) -> pd.Series | pd.DataFrame:
        """The target of ``task``: a Series ``y``, or a frame ``y1, y2`` for two targets."""
        if task in MULTI_TARGETS:
            first, second = MULTI_TARGETS[task]
            return pd.DataFrame({"y1": self.frame[first], "y2": self.frame[second]})
        return self.frame[TARGETS[task]].rename("y")


TARGETS = {
    "regression": "y_reg",
    "binary": "y_bin",
    "multiclass": "y_multi",
    "count": "y_count",
    "positive": "y_pos",
    "binary01": "y_bin01",
    "multicodes": "y_multi_code",
}
MULTI_TARGETS = {
    "multiregression": ("y_reg", "y_pos"),
    "multiclassification": ("y_bin", "y_multi"),
    "multicodes2": ("y_bin01", "y_multi_code"),
}


def make_rows(n: int, seed: int, missing: float = 0.0) -> Rows:
    """``n`` rows from generator ``seed``; ``missing`` is the share of feature cells left empty
    (numeric and categorical columns only, never dates or text)."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(0.0, 1.0, (n, 4)), 4)
    load = rng.integers(0, 50, n)
    mode = rng.choice(MODES, n, p=(0.3, 0.4, 0.3))
    site = rng.choice(SITES, n)
    start = np.datetime64("2021-01-01T00:00:00")
    seconds = rng.integers(0, 3 * 365 * 86400, n)
    stamp = start + seconds.astype("timedelta64[s]")
    day = stamp.astype("datetime64[D]")
    words = [" ".join(rng.choice(WORDS, rng.integers(1, 5))) for _ in range(n)]
    mode_effect = np.select([mode == "idle", mode == "walk"], [-1.0, 0.5], 2.0)
    days = (day - np.datetime64("2021-01-01")).astype(np.int64)
    text_effect = np.array([0.8 * w.count("leak") - 0.5 * w.count("ok") for w in words])
    signal = (
        1.5 * x[:, 0]
        - x[:, 1]
        + 0.5 * x[:, 2] * x[:, 3]
        + 0.03 * load
        + mode_effect
        + 0.001 * days
        + text_effect
    )
    noisy = signal + rng.normal(0.0, 0.3, n)
    frame = pd.DataFrame(
        {
            "x1": x[:, 0],
            "x2": x[:, 1],
            "x3": x[:, 2],
            "x4": x[:, 3],
            "load": load.astype(np.int64),
            "mode": mode,
            "site": site,
            "day": pd.Series(day.astype(str)),
            "stamp": pd.Series(np.datetime_as_string(stamp, unit="s")),
            "note": words,
            "y_reg": np.round(noisy, 6),
            "y_bin": np.where(noisy > np.median(noisy), "yes", "no"),
            "y_bin01": (noisy > np.median(noisy)).astype(np.int64),
            "y_multi": np.where(noisy < -0.5, "low", np.where(noisy < 1.5, "mid", "high")),
            "y_multi_code": np.where(noisy < -0.5, 0, np.where(noisy < 1.5, 1, 2)),
            "y_count": rng.poisson(np.exp(0.3 + 0.3 * x[:, 0] - 0.2 * x[:, 1])),
            "y_pos": np.round(np.exp(0.5 + 0.2 * x[:, 0] + 0.1 * x[:, 1]) + 0.01, 6),
        }
    )
    if missing > 0.0:
        for column in (*NUMERIC, "load", *CATEGORICAL):
            holes = rng.random(n) < missing
            if column == "load":
                frame[column] = frame[column].astype("float64")
            frame.loc[holes, column] = np.nan if column != "mode" and column != "site" else None
    return Rows(frame)


def train_rows(missing: float = 0.0) -> Rows:
    return make_rows(TRAIN_ROWS, seed=19, missing=missing)


def scoring_rows(missing: float = 0.0) -> Rows:
    return make_rows(TEST_ROWS, seed=20190, missing=missing)

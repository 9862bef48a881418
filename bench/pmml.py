"""PMML scoring benchmark: batchscore's evaluator vs scikit-learn (and JPMML if available).

Run: ``.venv/bin/python bench/pmml.py [--rows N]``. Single-threaded by construction.
"""

from __future__ import annotations

import os

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from batchscore.runtime.pmml import PmmlEngine  # noqa: E402

BENCH = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "pmml" / "bench"
CASES = BENCH.parent / "cases"


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def check_first_rows(outputs: dict[str, Any], path: Path) -> str:
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    bad = 0
    for j, name in enumerate(header):
        got = outputs[name]
        for i, row in enumerate(rows):
            expected = row[j]
            value = got[i]
            if expected in ("true", "false"):
                ok = value is (expected == "true")
            else:
                try:
                    wanted = float(expected)
                    ok = abs(float(value) - wanted) <= max(1e-9 * abs(wanted), 1e-12)
                except ValueError:
                    ok = value == expected
            bad += not ok
    return "exact" if bad == 0 else f"{bad} cells differ"


def sklearn_timer(entry: dict[str, Any], frame: np.ndarray) -> tuple[str, float] | None:
    if importlib.util.find_spec("sklearn") is None or importlib.util.find_spec("joblib") is None:
        return None
    import joblib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pickles from scikit-learn 1.9.0
        estimator = joblib.load(BENCH / entry["sklearn_pickle"])
    x = frame[:, : len(entry["sklearn_feature_order"])]
    method = entry["sklearn_methods"][0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return method, best_of(lambda: getattr(estimator, method)(x))


def jpmml_timer(entry: dict[str, Any], columns: dict[str, np.ndarray]) -> float | None:
    if shutil.which("java") is None or importlib.util.find_spec("jpmml_evaluator") is None:
        return None
    import pandas  # jpmml_evaluator works on DataFrames
    from jpmml_evaluator import make_evaluator

    evaluator = make_evaluator(str(BENCH / entry["pmml"])).verify()
    frame = pandas.DataFrame({k: columns[k] for k in entry["pmml_inputs"]})
    return best_of(lambda: evaluator.evaluateAll(frame), repeat=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    manifest = json.loads((BENCH / "manifest.json").read_text())
    frame = np.loadtxt(BENCH / "bench_input.csv", delimiter=",", skiprows=1)[: args.rows]
    columns = {name: frame[:, j].copy() for j, name in enumerate(manifest["columns"])}
    n = frame.shape[0]
    engine = PmmlEngine()
    print(f"{n} rows, single thread")
    print(
        f"{'model':14s} {'ours rows/s':>12s} {'sklearn':>12s} {'ratio':>7s} {'jpmml':>10s} "
        f"{'vs jpmml':>9s}  first 1000 rows"
    )
    for entry in manifest["models"]:
        model = engine.load((BENCH / entry["pmml"]).read_bytes())
        inputs = {k: columns[k] for k in entry["pmml_inputs"]}
        ours = best_of(lambda: model.score(inputs))  # noqa: B023
        first = model.score({k: v[:1000] for k, v in inputs.items()})
        check = check_first_rows(first, BENCH / entry["jpmml_expected_first_1000_rows"])
        sk = sklearn_timer(entry, frame)
        jp = jpmml_timer(entry, columns)
        sk_text = f"{n / sk[1]:12.0f}" if sk else f"{'n/a':>12s}"
        ratio = f"{sk[1] / ours:7.2f}" if sk else f"{'n/a':>7s}"
        jp_text = f"{n / jp:10.0f}" if jp else f"{'n/a':>10s}"
        jp_ratio = f"{jp / ours:9.1f}" if jp else f"{'n/a':>9s}"
        print(
            f"{entry['name']:14s} {n / ours:12.0f} {sk_text} {ratio} {jp_text} {jp_ratio}  {check}"
        )
    if importlib.util.find_spec("jpmml_evaluator") is None or shutil.which("java") is None:
        print("JPMML-Evaluator: skipped (needs `java` and the jpmml_evaluator package).")
    big = CASES / "big_forest" / "model.pmml"
    if big.exists():
        data = big.read_bytes()
        load = best_of(lambda: engine.load(data), repeat=1)
        print(f"big_forest load: {load:.2f} s ({len(data) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

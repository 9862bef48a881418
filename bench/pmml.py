"""PMML scoring benchmark: batchscore's evaluator vs scikit-learn (and JPMML if available).

Run: ``.venv/bin/python bench/pmml.py [--rows N] [--models svc_rbf,knn_2000] [--all-cores]``.
Single-threaded by default. ``--all-cores``: ours through the scoring pool the service uses
(``BATCHSCORE_SCORING_THREADS``, default: the cores this process may use; row blocks on
threads) against JPMML's ``evaluateAll`` with its default parallelism (a Java parallel stream
over all cores); BLAS stays single-threaded per thread in both modes. The models and the
input rows are made by ``bench/pmml_models.py`` with fixed seeds
(``scripts/make_bench_models.py`` builds them all; this script builds what is missing), cached
in ``bench/.models/``. Our first 1,000 rows are checked against JPMML's output in the same run.
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
import importlib.util  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pmml_models import (  # noqa: E402
    COLUMNS,
    BenchModel,
    bench_models,
    derived_columns,
    load_input,
)

from batchscore.errors import ModelError  # noqa: E402
from batchscore.runtime.parallel import ScoringPool, default_threads, parallel  # noqa: E402
from batchscore.runtime.pmml import PmmlEngine  # noqa: E402
from batchscore.settings import Settings  # noqa: E402

BIG_FOREST = Path(__file__).resolve().parents[1] / "tests/data/pmml/corpus/big_forest/model.pmml"

JPMML_BATCH = 20_000
"""Rows per JPMML ``evaluateAll`` call."""

Table = tuple[list[str], list[list[str]]]
"""A header and rows of cells in the expected-file format ("" = missing)."""


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def check_first_rows(outputs: dict[str, Any], expected: Table) -> str:
    header, rows = expected
    rows = rows[: min(len(v) for v in outputs.values())]
    bad = 0
    for j, name in enumerate(header):
        got = outputs[name]
        for i, row in enumerate(rows):
            wanted_text = row[j]
            value = got[i]
            if wanted_text in ("true", "false"):
                ok = value is (wanted_text == "true")
            elif wanted_text == "":
                ok = value is None or (isinstance(value, float) and math.isnan(value))
            else:
                try:
                    wanted = float(wanted_text)
                    ok = abs(float(value) - wanted) <= max(1e-9 * abs(wanted), 1e-12)
                except (TypeError, ValueError):
                    ok = value == wanted_text
            bad += not ok
    return "exact" if bad == 0 else f"{bad} cells differ"


def sklearn_timer(model: BenchModel, frame: np.ndarray) -> float | None:
    if importlib.util.find_spec("sklearn") is None or importlib.util.find_spec("joblib") is None:
        return None
    if not model.sklearn_method:  # a pipeline the array-based timer cannot feed
        return None
    import joblib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pickles from scikit-learn 1.9.0
        estimator = joblib.load(model.sklearn_pickle)
    x = frame[:, [COLUMNS.index(name) for name in model.sklearn_features]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # feature names: fitted on a DataFrame, timed on arrays
        return best_of(lambda: getattr(estimator, model.sklearn_method)(x))


def jpmml_available() -> bool:
    java = shutil.which("java") is not None
    return java and importlib.util.find_spec("jpmml_evaluator") is not None


def jpmml_run(
    model: BenchModel, columns: dict[str, np.ndarray], rows: int, parallelism: int = 1
) -> tuple[float, int, Table]:
    """JPMML's time for the first ``rows`` rows on ``parallelism`` threads (-1: its default,
    all cores; scored in batches: 100,000 k-NN rows at once exhaust the default Java heap),
    the rows timed, and its output for the first 1,000."""
    import pandas  # jpmml_evaluator works on DataFrames
    from jpmml_evaluator import make_evaluator

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from jpmml_expected import cell  # the expected-file format of our own cases

    evaluator = make_evaluator(str(model.pmml)).verify()
    frame = pandas.DataFrame({k: columns[k][:rows] for k in model.pmml_inputs})
    n = frame.shape[0]
    first: list[Any] = []
    seconds = 0.0
    for start in range(0, n, JPMML_BATCH):
        batch = frame.iloc[start : start + JPMML_BATCH]
        begin = time.perf_counter()
        result = evaluator.evaluateAll(batch, parallelism=parallelism)
        seconds += time.perf_counter() - begin
        if not first:
            first.append(result)
    header = [c for c in first[0].columns if isinstance(c, str)]
    table = [[cell(v) for v in row] for row in first[0][header].head(1000).itertuples(index=False)]
    return seconds, n, (header, table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--models",
        help="comma-separated model names (default: all), e.g. svc_rbf,knn_2000,glm_poisson",
    )
    parser.add_argument(
        "--jpmml-rows",
        type=int,
        help="time JPMML on the first N rows only (default: all; its k-NN takes minutes)",
    )
    parser.add_argument(
        "--all-cores",
        action="store_true",
        help="ours on the scoring pool, JPMML on its default parallelism (all cores)",
    )
    args = parser.parse_args()
    wanted = set(args.models.split(",")) if args.models else None
    everything = load_input()
    frame = everything[: args.rows]
    columns = {name: frame[:, j].copy() for j, name in enumerate(COLUMNS)}
    columns.update(derived_columns(frame))
    models = bench_models(everything, wanted)
    if wanted is not None and wanted - {m.name for m in models}:
        parser.error(f"unknown models: {', '.join(sorted(wanted - {m.name for m in models}))}")
    n = frame.shape[0]
    engine = PmmlEngine()
    jpmml = jpmml_available()
    pool = None
    if args.all_cores:
        threads = Settings().scoring_threads or default_threads()
        pool = ScoringPool(threads)
        print(f"{n} rows, all cores: ours on {threads} scoring threads, JPMML parallelism=-1")
    else:
        print(f"{n} rows, single thread")
    print(
        f"{'model':14s} {'ours rows/s':>12s} {'sklearn':>12s} {'ratio':>7s} {'jpmml':>10s} "
        f"{'vs jpmml':>9s}  first 1000 rows vs JPMML"
    )
    for model in models:
        ours, first, check = None, None, "n/a"
        try:
            compiled = parallel(engine.load(model.pmml.read_bytes()), pool)
        except ModelError as exc:
            check = f"not scored: {exc}"
        else:
            inputs = {k: columns[k] for k in model.pmml_inputs}
            ours = best_of(lambda: compiled.score(inputs))  # noqa: B023
            first = compiled.score({k: v[:1000] for k, v in inputs.items()})
        sk = sklearn_timer(model, frame)
        jp_rate, expected = None, None
        if jpmml:
            seconds, timed, expected = jpmml_run(
                model, columns, args.jpmml_rows or n, -1 if args.all_cores else 1
            )
            jp_rate = timed / seconds
        if first is not None and expected is not None:
            check = check_first_rows(first, expected)
        ours_text = f"{n / ours:12.0f}" if ours else f"{'n/a':>12s}"
        sk_text = f"{n / sk:12.0f}" if sk else f"{'n/a':>12s}"
        ratio = f"{sk / ours:7.2f}" if sk and ours else f"{'n/a':>7s}"
        jp_text = f"{jp_rate:10.0f}" if jp_rate else f"{'n/a':>10s}"
        jp_ratio = f"{n / ours / jp_rate:9.1f}" if jp_rate and ours else f"{'n/a':>9s}"
        print(f"{model.name:14s} {ours_text} {sk_text} {ratio} {jp_text} {jp_ratio}  {check}")
    if not jpmml:
        print("JPMML-Evaluator: skipped (needs `java` and the jpmml_evaluator package).")
    if wanted is None:
        data = BIG_FOREST.read_bytes()
        load = best_of(lambda: engine.load(data), repeat=1)
        print(f"big_forest load: {load:.2f} s ({len(data) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

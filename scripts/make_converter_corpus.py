"""Make the converter corpus ``tests/data/pmml/converters/``: every case of
``scripts/converter_corpus`` fitted (fixed seeds), converted to PMML by its converter, scored by
JPMML-Evaluator and by the native library.

Needs Java 17 and the ``bench`` extra (``.venv/bin/pip install -e '.[bench]'``)::

    .venv/bin/python scripts/make_converter_corpus.py            # every case
    .venv/bin/python scripts/make_converter_corpus.py s2p_xgb     # cases whose name contains it
    .venv/bin/python scripts/make_converter_corpus.py --list

Each case folder gets ``model.pmml``, ``input.csv`` (the model's active fields; rows JPMML fails
on are left out and counted), ``expected.csv`` (JPMML's ``evaluateAll``) and ``meta.json``
(source, converter and library versions, and how the native predictions compare with JPMML's).
``MANIFEST.json`` lists every case made and every case skipped, with the reason.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from converter_corpus import ensembles, others, transformers
from converter_corpus.cases import CASES, Case
from converter_corpus.convert import convert, fit
from converter_corpus.data import scoring_rows, train_rows
from converter_corpus.reference import (
    Skip,
    compare,
    evaluate,
    native,
    pmml_features,
    write_expected,
    write_meta,
)

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "pmml" / "converters"


def make(case: Case, out: Path) -> str | None:
    """Make one case folder; the reason when the case is skipped."""
    folder = out / case.name
    scratch = out / f".{case.name}.tmp"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        estimator = fit(case, train_rows(case.missing))
        pmml = scratch / "model.pmml"
        try:
            convert(case, estimator, pmml)
        except Exception as exc:
            raise Skip(
                f"{case.converter} cannot convert it: {str(exc).strip().splitlines()[-1][:300]}"
            ) from exc
        test = scoring_rows(case.missing)
        result, kept, notes = evaluate(case, pmml, test, scratch)
        write_expected(scratch, result)
        report = compare(result, native(case, estimator, test, kept))
        model, features = pmml_features(pmml)
        write_meta(scratch, case, model, features, notes, report)
    except Skip as skip:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        return str(skip)
    except Exception as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        traceback.print_exc()
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        return f"failed to fit: {type(exc).__name__}: {first}"
    shutil.rmtree(folder, ignore_errors=True)
    scratch.rename(folder)
    return None


IDIOMS = {
    "MapValues over InlineTable": ("MapValues",),
    "TextIndex": ("TextIndex",),
    "date/time functions": (
        "Apply(dateDaysSinceYear)",
        "Apply(dateSecondsSinceYear)",
        "Apply(dateSecondsSinceMidnight)",
    ),
    "weightedSum": ("multipleModelMethod=weightedSum",),
    "weightedMedian": ("multipleModelMethod=weightedMedian",),
    "x-multiModelChain": ("multipleModelMethod=x-multiModelChain",),
    "modelChain": ("multipleModelMethod=modelChain",),
    "Regression in tree nodes": ("Regression",),
    "x-mathContext=float": ("x-mathContext=float",),
}


def summarize(out: Path) -> None:
    """Counts of the cases made: by converter, by top model element, by PMML idiom."""
    from collections import Counter

    converters: Counter[str] = Counter()
    elements: Counter[str] = Counter()
    idioms: Counter[str] = Counter()
    agree = 0
    cases = sorted(p for p in out.iterdir() if p.is_dir() and p.name[0] != ".")
    for case in cases:
        meta = json.loads((case / "meta.json").read_text())
        converters[_converter_of(meta)] += 1
        elements[meta["model_element"]] += 1
        features = set(meta["pmml_features"])
        for idiom, markers in IDIOMS.items():
            if features & set(markers):
                idioms[idiom] += 1
        agree += meta["expected"].startswith("native")
    print(f"{len(cases)} cases; native library agrees with JPMML (1e-9) on {agree}")
    for title, counter in (("converter", converters), ("model", elements), ("idiom", idioms)):
        print(f"by {title}:")
        for key, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            if count:
                print(f"  {count:4d}  {key}")


def _converter_of(meta: dict[str, object]) -> str:
    case = str(meta["case"])
    if case.startswith("nyoka_"):
        return "nyoka"
    if case.startswith("statsmodels_"):
        return "sklearn2pmml (statsmodels)"
    if case.startswith(("s2p_xgb", "s2p_lgbm")):
        return "sklearn2pmml (XGBoost, LightGBM)"
    if case.startswith("s2p_tf_"):
        return "sklearn2pmml (scikit-learn transformers)"
    return "sklearn2pmml (scikit-learn estimators)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", help="make only cases whose name contains one")
    parser.add_argument("--list", action="store_true", help="list the cases and stop")
    parser.add_argument(
        "--summary", action="store_true", help="count the cases made by converter and idiom"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    transformers.register()
    ensembles.register()
    others.register()
    names = [c.name for c in CASES]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SystemExit(f"duplicate case names: {sorted(duplicates)}")
    chosen = [c for c in CASES if not args.patterns or any(p in c.name for p in args.patterns)]
    if args.summary:
        summarize(args.out)
        return
    if args.list:
        for c in chosen:
            print(f"{c.name:50} {c.converter:28} {c.task}")
        print(f"{len(chosen)} cases")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    made: dict[str, str] = manifest.get("cases", {})
    skipped: dict[str, str] = manifest.get("skipped", {})
    for number, c in enumerate(chosen, start=1):
        start = time.perf_counter()
        reason = make(c, args.out)
        took = time.perf_counter() - start
        made.pop(c.name, None)
        skipped.pop(c.name, None)
        if reason is None:
            made[c.name] = c.converter
        else:
            skipped[c.name] = reason
        status = "ok" if reason is None else f"skipped: {reason}"
        print(f"[{number}/{len(chosen)}] {c.name} ({took:.1f} s) {status}", flush=True)
    known = set(names)
    manifest = {
        "about": "Cases of scripts/make_converter_corpus.py: made (case -> converter) and "
        "skipped (case -> why).",
        "cases": {k: made[k] for k in sorted(made) if k in known},
        "skipped": {k: skipped[k] for k in sorted(skipped) if k in known},
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{len(manifest['cases'])} cases, {len(manifest['skipped'])} skipped")


if __name__ == "__main__":
    main()

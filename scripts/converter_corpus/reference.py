"""Scoring a converted case with JPMML-Evaluator and the native library, and writing its
folder (``model.pmml``, ``input.csv``, ``expected.csv``, ``meta.json``)."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from lxml import etree

from converter_corpus.cases import Case
from converter_corpus.convert import converter_version, library_versions
from converter_corpus.data import Rows

AGREEMENT = 1e-9
MODEL_TAGS = {
    "AnomalyDetectionModel", "AssociationModel", "BayesianNetworkModel", "BaselineModel",
    "ClusteringModel", "GaussianProcessModel", "GeneralRegressionModel", "MiningModel",
    "NaiveBayesModel", "NearestNeighborModel", "NeuralNetwork", "RegressionModel",
    "RuleSetModel", "SequenceModel", "Scorecard", "SupportVectorMachineModel", "TextModel",
    "TimeSeriesModel", "TreeModel",
}  # fmt: skip


class Skip(Exception):
    """The case cannot be made (converter or JPMML refuses it); the message says why."""


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def input_cell(value: Any, data_type: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if data_type == "integer":
        return str(int(value))
    if data_type in ("double", "float"):
        return repr(float(value))
    return str(value)


def typed(text: str, data_type: str) -> Any:
    if text == "":
        return None
    if data_type in ("double", "float"):
        return float(text)
    if data_type == "integer":
        return int(text)
    if data_type == "boolean":
        return text == "true"
    return text


def evaluate(
    case: Case, pmml: Path, test: Rows, folder: Path
) -> tuple[pd.DataFrame, list[int], dict[str, Any]]:
    """Write input.csv and return JPMML's results for the rows it scored, the indices of those
    rows, and notes (dropped rows and why)."""
    from jpmml_evaluator import make_evaluator

    try:
        evaluator = make_evaluator(str(pmml), backend="jpype").verify()
    except Exception as exc:
        raise Skip(f"JPMML-Evaluator refuses the document: {_first_line(exc)}") from exc
    fields = [(f.getName(), str(f.getDataType())) for f in evaluator.getInputFields()]
    frame = test.frame
    for name, _ in fields:
        if name not in frame.columns:
            raise Skip(f"JPMML input field {name!r} is not a data column")
    rows = [
        [input_cell(_value(frame[name].iloc[i]), t) for name, t in fields]
        for i in range(len(frame))
    ]
    typed_rows = {name: [typed(r[j], t) for r in rows] for j, (name, t) in enumerate(fields)}
    try:
        result = evaluator.evaluateAll(pd.DataFrame(typed_rows, dtype=object))
    except Exception as exc:
        raise Skip(f"JPMML-Evaluator fails: {_first_line(exc)}") from exc
    errors = result["errors"] if "errors" in result.columns else pd.Series([None] * len(result))
    kept = [
        i for i in range(len(result)) if errors.iloc[i] is None or errors.iloc[i] != errors.iloc[i]
    ]
    if not kept:
        raise Skip(f"JPMML-Evaluator fails every row: {_first_line(errors.iloc[0])}")
    notes: dict[str, Any] = {"rows_dropped": len(result) - len(kept)}
    if len(kept) < len(result):
        first = next(i for i in range(len(result)) if i not in set(kept))
        notes["rows_dropped_reason"] = _first_line(errors.iloc[first])
    columns = [c for c in result.columns if c is not None and c == c and c != "errors"]
    with (folder / "input.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([name for name, _ in fields])
        writer.writerows(rows[i] for i in kept)
    return result.iloc[kept][columns].reset_index(drop=True), kept, notes


def _value(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _first_line(value: Any) -> str:
    return str(value).strip().splitlines()[0][:300] if str(value).strip() else repr(value)


def native(case: Case, estimator: Any, test: Rows, kept: list[int]) -> dict[str, np.ndarray]:
    """The native library's predictions, named as JPMML names its columns."""
    x = test.features(case.columns).iloc[kept]
    out: dict[str, np.ndarray] = {}
    if case.task == "anomaly":
        if hasattr(estimator, "decision_function"):
            out["decisionFunction"] = np.asarray(estimator.decision_function(x), dtype=float)
        return out
    if case.task == "clustering":
        out["cluster"] = np.asarray(estimator.predict(x)).astype(str)
        return out
    predicted = np.asarray(estimator.predict(x))
    if predicted.ndim == 2:
        for j in range(predicted.shape[1]):
            out[f"y{j + 1}"] = predicted[:, j]
        return out
    out["y"] = predicted
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    if hasattr(estimator, "predict_proba") and hasattr(final, "classes_"):
        try:
            probs = np.asarray(estimator.predict_proba(x), dtype=float)
        except Exception:
            return out
        for j, label in enumerate(final.classes_):
            out[f"probability({label})"] = probs[:, j]
    return out


def compare(expected: pd.DataFrame, predictions: dict[str, np.ndarray]) -> dict[str, Any]:
    """Per shared column: the largest relative difference (numbers) or the agreement (labels)."""
    report: dict[str, Any] = {}
    for name, values in predictions.items():
        if name not in expected.columns:
            continue
        reference = expected[name].tolist()
        if values.dtype.kind in "fiu" and all(
            isinstance(v, (int, float)) or v is None for v in reference
        ):
            ref = np.array([np.nan if v is None else float(v) for v in reference])
            got = values.astype(float)
            both = ~np.isnan(ref) & ~np.isnan(got)
            scale = np.maximum(np.abs(ref[both]), 1e-12)
            diff = float(np.max(np.abs(got[both] - ref[both]) / scale)) if both.any() else 0.0
            report[name] = {
                "max_relative_difference": diff,
                "missing_differ": int((np.isnan(ref) != np.isnan(got)).sum()),
            }
        else:
            same = [_label(a) == _label(b) for a, b in zip(values.tolist(), reference, strict=True)]
            report[name] = {"agreement": sum(same) / max(len(same), 1)}
    return report


def _label(value: Any) -> str:
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def agrees(report: dict[str, Any]) -> bool:
    for entry in report.values():
        if entry.get("agreement", 1.0) < 1.0:
            return False
        if entry.get("max_relative_difference", 0.0) > AGREEMENT or entry.get("missing_differ", 0):
            return False
    return True


def write_expected(folder: Path, result: pd.DataFrame) -> None:
    with (folder / "expected.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(list(result.columns))
        for row in result.itertuples(index=False):
            writer.writerow([cell(v) for v in row])


def pmml_features(path: Path) -> tuple[str, list[str]]:
    """The document's top model element and a summary of the PMML idioms it uses."""
    root = etree.parse(str(path)).getroot()
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.rpartition("}")[2]
    model = next(c.tag for c in root if c.tag in MODEL_TAGS)
    found: Counter[str] = Counter()
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        if tag in MODEL_TAGS:
            found[tag] += 1
            function = element.get("functionName")
            if function:
                found[f"{tag}@functionName={function}"] += 1
            if element.get("x-mathContext"):
                found["x-mathContext=float"] += 1
        elif tag == "Segmentation":
            found[f"multipleModelMethod={element.get('multipleModelMethod')}"] += 1
        elif tag == "Apply":
            found[f"Apply({element.get('function')})"] += 1
        elif tag in (
            "MapValues",
            "TextIndex",
            "Discretize",
            "NormContinuous",
            "NormDiscrete",
            "Regression",
            "InlineTable",
        ):
            found[tag] += 1
        elif tag == "DataField":
            found[f"dataType={element.get('dataType')}"] += 1
        elif tag == "OutputField":
            found[f"Output:{element.get('feature', 'predictedValue')}"] += 1
    return model, sorted(found)


def write_meta(
    folder: Path,
    case: Case,
    model: str,
    features: list[str],
    notes: dict[str, Any],
    report: dict[str, Any],
) -> None:
    from importlib.metadata import version

    same = agrees(report)
    meta = {
        "case": case.name,
        "model_element": model,
        "converter": converter_version(case),
        "task": case.task,
        "source": case.source,
        "columns": list(case.columns),
        "missing_share": case.missing,
        "configure": case.configure,
        "seeds": {"train": 19, "test": 20190},
        "expected": "native and JPMML-Evaluator agree"
        if same
        else "JPMML-Evaluator (the native library differs, see native_vs_jpmml)",
        "native_vs_jpmml": report,
        "pmml_features": features,
        "versions": {
            **library_versions(),
            "jpmml_evaluator (python)": version("jpmml_evaluator"),
            "converter": converter_version(case),
        },
        **notes,
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")

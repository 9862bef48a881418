"""Reading a PMML conformance case (``model.pmml``, ``input.csv``, ``expected.csv``,
``meta.json``) and comparing the engine's outputs with the expected ones."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.runtime.pmml import PmmlEngine

DATA = Path(__file__).resolve().parents[1] / "data" / "pmml"
NUMERIC_TYPES = frozenset({"double", "float", "integer", "boolean"})


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)


def input_columns(path: Path, types: dict[str, str]) -> dict[str, npt.NDArray[Any]]:
    """input.csv as the engine's columns: empty cell = missing; numbers for numeric fields,
    text for the others (strings, dates, times)."""
    header, rows = read_csv(path)
    columns: dict[str, npt.NDArray[Any]] = {}
    for j, name in enumerate(header):
        cells = [row[j] if j < len(row) else "" for row in rows]
        if types.get(name, "double") in NUMERIC_TYPES:
            columns[name] = np.array([float(c) if c != "" else np.nan for c in cells])
        else:
            columns[name] = np.array([c if c != "" else None for c in cells], dtype=object)
    return columns


def matches(expected: str, got: object, rel: float) -> bool:
    if expected == "":
        return got is None or (isinstance(got, float) and math.isnan(got))
    if expected in ("true", "false"):
        return got is (expected == "true")
    if isinstance(got, str):
        return got == expected
    try:
        wanted = float(expected)
    except ValueError:
        return got == expected
    if not isinstance(got, (float, int, np.floating, np.integer)) or isinstance(got, bool):
        return False
    value = float(got)
    return abs(value - wanted) <= max(rel * abs(wanted), 1e-12)


def meta_of(case: Path) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads((case / "meta.json").read_text())
    return meta


def differences(case: Path, rel: float) -> list[str]:
    """Score the case and describe every output column that differs from expected.csv."""
    model = PmmlEngine().load((case / "model.pmml").read_bytes())
    types = {field.name: field.data_type for field in model.inputs}
    outputs = model.score(input_columns(case / "input.csv", types))
    header, rows = read_csv(case / "expected.csv")
    if list(outputs) != header:
        return [f"columns {list(outputs)} != expected {header}"]
    failures = []
    for j, name in enumerate(header):
        column = outputs[name]
        bad = [
            (i, row[j] if j < len(row) else "", column[i])
            for i, row in enumerate(rows)
            if not matches(row[j] if j < len(row) else "", column[i], rel)
        ]
        if bad:
            failures.append(f"{name}: {len(bad)} rows differ, first {bad[0]}")
    return failures

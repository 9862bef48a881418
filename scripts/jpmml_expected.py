"""Write ``expected.csv`` for one of our own PMML cases with JPMML-Evaluator.

Run by a developer when adding a case under ``tests/data/pmml/own/<name>/`` (needs Java 17 and
``.venv/bin/pip install -e '.[bench]'``)::

    .venv/bin/python scripts/jpmml_expected.py tests/data/pmml/own/<name>

The case directory holds ``model.pmml`` and ``input.csv`` (header = input field names, empty
cell = missing). The script writes ``expected.csv`` in the format of ``tests/data/pmml/corpus``:
every column JPMML's ``evaluateAll`` returns, floats as Python ``repr``, booleans
``true``/``false``, missing = empty cell. It also fills ``meta.json``'s ``versions`` and keeps
its other keys.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas
from jpmml_evaluator import make_evaluator


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def typed_frame(evaluator: Any, path: Path) -> pandas.DataFrame:
    types = {}
    for field in evaluator.getInputFields():
        types[field.getName()] = str(field.getDataType())
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    data: dict[str, list[Any]] = {}
    for name in rows[0] if rows else []:
        kind = types.get(name, "string")
        column: list[Any] = []
        for row in rows:
            text = row[name]
            if text == "":
                column.append(None)
            elif kind in ("double", "float"):
                column.append(float(text))
            elif kind == "integer":
                column.append(int(text))
            elif kind == "boolean":
                column.append(text == "true")
            else:
                column.append(text)
        data[name] = column
    return pandas.DataFrame(data, dtype=object)


def main(case: Path) -> None:
    evaluator = make_evaluator(str(case / "model.pmml"), backend="jpype").verify()
    frame = typed_frame(evaluator, case / "input.csv")
    result = evaluator.evaluateAll(frame)
    columns = [c for c in result.columns if c is not None and c == c]
    with (case / "expected.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in result[columns].itertuples(index=False):
            writer.writerow([cell(v) for v in row])
    meta_path = case / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    meta.setdefault("case", case.name)
    meta["versions"] = {"jpmml_evaluator (python)": _version()}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"{case}: {len(result)} rows, columns {columns}")


def _version() -> str:
    from importlib.metadata import version

    return version("jpmml_evaluator")


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        main(Path(argument))

"""Conformance of the PMML evaluator with JPMML-Evaluator's reference outputs.

One test per corpus case (``pytest -v`` is the conformance table): the sklearn2pmml corpus in
``tests/data/pmml/corpus/``, then
our own cases in ``tests/data/pmml/own/`` (the PMML 4.4 specification's examples and models made
for model types the corpus lacks; each has the same ``model.pmml``, ``input.csv``,
``expected.csv`` and ``meta.json`` layout, expected values computed by JPMML-Evaluator). Cases
whose model element is not supported yet are asserted to be refused at load time with a
ModelError naming the element; their test id says ``refused-<Element>``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batchscore.errors import ModelError
from batchscore.runtime.engine import CompiledModel, ModelEngine
from batchscore.runtime.pmml import PmmlEngine
from tests.unit.pmml_corpus import DATA, differences, input_columns

CASES = DATA / "corpus"
OWN_CASES = DATA / "own"
NOT_YET_SUPPORTED: frozenset[str] = frozenset()


def _cases() -> list[Any]:
    params = []
    for root, prefix in ((CASES, ""), (OWN_CASES, "own-")):
        for case in sorted(p for p in root.iterdir() if p.is_dir()):
            element = json.loads((case / "meta.json").read_text())["model_element"]
            refused = element in NOT_YET_SUPPORTED
            case_id = f"{prefix}{case.name}" + (f"-refused-{element}" if refused else "")
            params.append(pytest.param(case, id=case_id))
    return params


@pytest.mark.parametrize("case", _cases())
def test_case_matches_jpmml(case: Path) -> None:
    meta = json.loads((case / "meta.json").read_text())
    element = meta["model_element"]
    data = (case / "model.pmml").read_bytes()
    engine = PmmlEngine()
    if element in NOT_YET_SUPPORTED:
        with pytest.raises(ModelError, match=f"Unsupported PMML element: {element}"):
            engine.load(data)
        return
    rel = meta.get("relative_tolerance", 1e-6 if element == "NeuralNetwork" else 1e-9)
    failures = differences(case, rel)
    assert not failures, "; ".join(failures)


def test_declared_outputs_match_scored_columns() -> None:
    """The FieldInfo outputs list is exactly the scored dict's keys, in order."""
    case = CASES / "iforest_plain"
    model = PmmlEngine().load((case / "model.pmml").read_bytes())
    types = {field.name: field.data_type for field in model.inputs}
    outputs = model.score(input_columns(case / "input.csv", types))
    assert [f.name for f in model.outputs] == list(outputs)
    assert outputs["outlier"].dtype == object
    assert {f.name: f.data_type for f in model.outputs}["outlier"] == "boolean"


def test_engine_satisfies_the_port() -> None:
    engine: ModelEngine = PmmlEngine()
    case = CASES / "logreg_binary"
    model: CompiledModel = engine.load((case / "model.pmml").read_bytes())
    assert model.name == "RegressionModel"
    assert [f.usage for f in model.outputs] == ["target", "output", "output"]

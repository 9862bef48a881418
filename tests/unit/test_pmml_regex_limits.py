"""Patterns from documents run with a time limit: a value a pattern backtracks on for too long
fails its own row, the other rows of the batch are scored."""

from __future__ import annotations

import time

import numpy as np

from batchscore.runtime.pmml import PmmlModel, regexes
from tests.unit.pmml_documents import load_document

DICTIONARY = """<DataDictionary>
    <DataField name="s" optype="categorical" dataType="string"/>
    <DataField name="y" optype="continuous" dataType="double"/>
  </DataDictionary>"""


def model(expression: str, data_type: str) -> PmmlModel:
    body = f"""<RegressionModel functionName="regression"><MiningSchema>
        <MiningField name="y" usageType="target"/><MiningField name="s"/></MiningSchema>
        <Output><OutputField name="o" feature="transformedValue" dataType="{data_type}">
        {expression}</OutputField></Output><RegressionTable intercept="1"/></RegressionModel>"""
    return load_document(DICTIONARY, body)


def test_matches_out_of_time_fails_only_its_row() -> None:
    compiled = model(
        '<Apply function="matches"><FieldRef field="s"/><Constant>^(a|aa)+$</Constant></Apply>',
        "boolean",
    )
    hostile = "a" * 60 + "b"
    texts = np.array([hostile, "aaaa", "b"], dtype=object)
    start = time.perf_counter()
    got = compiled.score({"s": texts})
    took = time.perf_counter() - start
    assert list(got["o"]) == [None, True, False]
    assert np.isnan(got["y"][0])
    assert list(got["y"][1:]) == [1.0, 1.0]
    assert took < 20 * regexes.TIMEOUT_S


def test_replace_uses_java_group_references() -> None:
    compiled = model(
        '<Apply function="replace"><FieldRef field="s"/><Constant>(\\w)-(\\w)</Constant>'
        "<Constant>$2+$1</Constant></Apply>",
        "string",
    )
    got = compiled.score({"s": np.array(["a-b c-d"], dtype=object)})
    assert list(got["o"]) == ["b+a d+c"]


def test_a_hostile_pattern_costs_a_batch_a_bounded_time() -> None:
    compiled = model(
        '<Apply function="matches"><FieldRef field="s"/><Constant>^(a|aa)+$</Constant></Apply>',
        "boolean",
    )
    hostile = np.array(["a" * (60 + i) + "b" for i in range(40)] + ["aa"], dtype=object)
    start = time.perf_counter()
    got = compiled.score({"s": hostile})
    took = time.perf_counter() - start
    assert got["o"][-1] is True
    assert all(value is None for value in got["o"][:-1])
    assert took < (regexes.TIMEOUTS_PER_BATCH + 4) * regexes.TIMEOUT_S * 4

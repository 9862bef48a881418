"""A Regression embedded in a tree Node predicts for the rows that end in that node (PMML 4.4
TreeModel, EMBEDDED-MODEL in Node; LightGBM's linear trees)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from batchscore.errors import ModelError
from tests.unit.pmml_documents import load_document

DICTIONARY = """<DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>
  </DataDictionary>"""
SCHEMA = '<MiningSchema><MiningField name="y" usageType="target"/><MiningField name="x"/>'
SCHEMA += "</MiningSchema>"
TREE = f"""<TreeModel functionName="regression">{SCHEMA}<Node score="0"><True/>
  <Node score="-1"><SimplePredicate field="x" operator="lessThan" value="0"/>
    <Regression functionName="regression" {{normalization}}>
      <RegressionTable intercept="0.5"><NumericPredictor name="x" coefficient="2"/>
      </RegressionTable></Regression></Node>
  <Node score="7"><True/></Node></Node></TreeModel>"""


def test_rows_in_a_node_with_a_regression_get_its_prediction() -> None:
    model = load_document(DICTIONARY, TREE.format(normalization=""))
    got = model.score({"x": np.array([-1.0, -0.25, 3.0])})["y"]
    assert list(got) == [-1.5, 0.0, 7.0]


def test_a_row_the_regression_cannot_predict_keeps_the_node_score() -> None:
    dictionary = DICTIONARY.replace(
        '<DataField name="y"',
        '<DataField name="z" optype="continuous" dataType="double"/><DataField name="y"',
    )
    body = (
        TREE.format(normalization="")
        .replace(
            '<NumericPredictor name="x" coefficient="2"/>',
            '<NumericPredictor name="x" coefficient="2"/>'
            '<NumericPredictor name="z" coefficient="1"/>',
        )
        .replace('<MiningField name="x"/>', '<MiningField name="x"/><MiningField name="z"/>')
    )
    model = load_document(dictionary, body)
    got = model.score({"x": np.array([-1.0, -1.0]), "z": np.array([1.0, np.nan])})["y"]
    assert list(got) == [-0.5, -1.0]


def test_the_regression_normalization_applies() -> None:
    model = load_document(DICTIONARY, TREE.format(normalization='normalizationMethod="exp"'))
    got = model.score({"x": np.array([-1.0])})["y"]
    assert got[0] == math.exp(-1.5)


def test_a_decision_tree_in_a_node_is_refused() -> None:
    body = TREE.format(normalization="").replace(
        '<Node score="7"><True/></Node>', '<Node score="7"><True/><DecisionTree/></Node>'
    )
    with pytest.raises(ModelError, match="Unsupported PMML element: DecisionTree"):
        load_document(DICTIONARY, body)

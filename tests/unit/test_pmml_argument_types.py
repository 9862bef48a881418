"""Argument and result types of built-in functions (PMML 4.4 Functions): ``if`` returns the
value of the chosen branch converted to one type; a number written as text where a function
takes a number is read as one, and text that is no number is refused when the document is
loaded (a Constant) or fails only its own row (a field), never the batch."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from batchscore.errors import ModelError
from tests.unit.pmml_documents import load_document

DICTIONARY = """<DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="s" optype="categorical" dataType="string"/>
    <DataField name="y" optype="continuous" dataType="double"/>
  </DataDictionary>"""


def outputs(expression: str, data_type: str, x: list[float], s: list[Any]) -> list[Any]:
    body = f"""<RegressionModel functionName="regression"><MiningSchema>
        <MiningField name="y" usageType="target"/><MiningField name="x"/>
        <MiningField name="s"/></MiningSchema>
        <Output><OutputField name="o" feature="transformedValue" dataType="{data_type}">
          {expression}</OutputField></Output>
        <RegressionTable intercept="0"/></RegressionModel>"""
    model = load_document(DICTIONARY, body)
    got = model.score({"x": np.array(x), "s": np.array(s, dtype=object)})
    return list(got["o"])


POSITIVE = '<Apply function="greaterThan"><FieldRef field="x"/><Constant>0</Constant></Apply>'


def test_if_with_an_integer_and_a_text_branch_gives_text() -> None:
    expression = (
        f'<Apply function="if">{POSITIVE}<Constant dataType="string">high</Constant>'
        '<Constant dataType="integer">8</Constant></Apply>'
    )
    assert outputs(expression, "string", [1.0, -1.0], ["a", "a"]) == ["high", "8"]


def test_if_with_a_number_and_a_text_field_does_not_crash() -> None:
    expression = (
        f'<Apply function="if">{POSITIVE}<FieldRef field="x"/><FieldRef field="s"/></Apply>'
    )
    assert outputs(expression, "string", [2.5, -1.0], ["low", "low"]) == ["2.5", "low"]


def test_if_with_integer_and_double_branches_is_double() -> None:
    expression = (
        f'<Apply function="if">{POSITIVE}<Constant dataType="integer">1</Constant>'
        '<Constant dataType="double">0.5</Constant></Apply>'
    )
    assert outputs(expression, "double", [1.0, -1.0], ["a", "a"]) == [1.0, 0.5]


def test_substring_length_written_as_text_is_read_as_a_number() -> None:
    expression = (
        '<Apply function="substring"><FieldRef field="s"/><Constant>2</Constant>'
        '<Constant dataType="string">3</Constant></Apply>'
    )
    assert outputs(expression, "string", [0.0], ["abcdef"]) == ["bcd"]


def test_substring_length_that_is_no_number_is_refused_at_load() -> None:
    expression = (
        '<Apply function="substring"><FieldRef field="s"/><Constant>1</Constant>'
        '<Constant dataType="string">three</Constant></Apply>'
    )
    with pytest.raises(ModelError, match="argument 3 of substring is not a number: 'three'"):
        outputs(expression, "string", [0.0], ["abc"])


def test_text_field_that_is_no_number_fails_only_its_row() -> None:
    expression = '<Apply function="+"><FieldRef field="x"/><FieldRef field="s"/></Apply>'
    got = outputs(expression, "double", [1.0, 1.0, 1.0], ["2", "two", None])
    assert got[0] == 3.0
    assert got[1] is None or math.isnan(got[1])
    assert math.isnan(got[2])


def test_substring_with_lengths_from_a_field_varies_by_row() -> None:
    expression = (
        '<Apply function="substring"><FieldRef field="s"/><Constant>1</Constant>'
        '<FieldRef field="x"/></Apply>'
    )
    assert outputs(expression, "string", [1.0, 3.0], ["abcdef", "abcdef"]) == ["a", "abc"]

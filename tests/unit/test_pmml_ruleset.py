"""RuleSetModel: refusals at load time and rows JPMML cannot score (spec cases are conformance)."""

from __future__ import annotations

import math
from typing import Any

import numpy.typing as npt
import pytest

from batchscore.errors import ModelError
from tests.unit.pmml_documents import load_document, score_floats

DICTIONARY = """<DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="string"/>
  </DataDictionary>"""
SCHEMA = (
    '<MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>'
)

OUTPUT = """<Output>
    <OutputField name="confidence" feature="confidence"/>
    <OutputField name="rule" feature="entityId"/>
  </Output>"""
FIRST_HIT = '<RuleSelectionMethod criterion="firstHit"/>'
NEGATIVE = """<SimpleRule score="neg" confidence="0.8">
      <SimplePredicate field="x" operator="lessThan" value="0"/></SimpleRule>"""
BIG = """<SimpleRule id="big" score="big" confidence="0.6">
      <SimplePredicate field="x" operator="greaterThan" value="10"/></SimpleRule>"""


def load(
    rules: str, ruleset: str = "", output: str = OUTPUT, function: str = "classification"
) -> Any:
    return load_document(
        DICTIONARY,
        f'<RuleSetModel functionName="{function}">{SCHEMA}{output}'
        f"<RuleSet {ruleset}>{rules}</RuleSet></RuleSetModel>",
    )


def score(model: Any, xs: list[float]) -> dict[str, npt.NDArray[Any]]:
    return score_floats(model, x=xs)


def test_without_a_default_rows_where_no_rule_fires_have_no_result() -> None:
    out = score(load(FIRST_HIT + NEGATIVE + BIG), [-1.0, 5.0, float("nan"), 11.0])
    assert list(out["y"]) == ["neg", None, None, "big"]
    assert list(out["rule"]) == ["1", None, None, "big"]
    assert out["confidence"][0] == 0.8
    assert math.isnan(out["confidence"][1])
    assert out["confidence"][3] == 0.6


def test_the_default_has_no_entity_id() -> None:
    model = load(FIRST_HIT + NEGATIVE, 'defaultScore="none" defaultConfidence="0.1"')
    out = score(model, [-1.0, 1.0])
    assert list(out["y"]) == ["neg", "none"]
    assert list(out["rule"]) == ["1", None]
    assert list(out["confidence"]) == [0.8, 0.1]


def test_a_ruleset_without_rules_gives_its_default() -> None:
    out = score(load(FIRST_HIT, 'defaultScore="none" defaultConfidence="0.5"'), [1.0, 2.0])
    assert list(out["y"]) == ["none", "none"]
    assert list(out["confidence"]) == [0.5, 0.5]


def test_a_default_score_needs_a_default_confidence() -> None:
    out = score(load(FIRST_HIT + NEGATIVE, 'defaultScore="none"'), [1.0])
    assert out["y"][0] is None


@pytest.mark.parametrize(
    ("rules", "output", "message"),
    [
        (NEGATIVE, OUTPUT, "has no RuleSelectionMethod"),
        ('<RuleSelectionMethod criterion="bestHit"/>', OUTPUT, "criterion=bestHit"),
        ("<RuleSelectionMethod/>", OUTPUT, "has no criterion attribute"),
        (FIRST_HIT + "<SimpleRule><True/></SimpleRule>", OUTPUT, "has no score"),
        (FIRST_HIT + '<SimpleRule score="a"/>', OUTPUT, "SimpleRule has no predicate"),
        (FIRST_HIT + "<CompoundRule><True/></CompoundRule>", OUTPUT, "CompoundRule has no rules"),
        (
            FIRST_HIT + NEGATIVE + NEGATIVE.replace('score="neg"', 'id="1" score="neg"'),
            OUTPUT,
            "id '1' is not unique",
        ),
        (
            FIRST_HIT + NEGATIVE,
            '<Output><OutputField name="p" feature="probability" value="neg"/></Output>',
            "probability of a RuleSetModel",
        ),
        (
            FIRST_HIT + NEGATIVE,
            '<Output><OutputField name="c" feature="confidence" value="neg"/></Output>',
            "OutputField@value with feature=confidence",
        ),
    ],
)
def test_invalid_rulesets_are_refused(rules: str, output: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        load(rules, output=output)


def test_a_ruleset_needs_its_ruleset_element() -> None:
    model = f'<RuleSetModel functionName="classification">{SCHEMA}</RuleSetModel>'
    with pytest.raises(ModelError, match="RuleSetModel has no RuleSet"):
        load_document(DICTIONARY, model)


def test_regression_rulesets_are_refused() -> None:
    with pytest.raises(ModelError, match="RuleSetModel@functionName=regression"):
        load(FIRST_HIT + NEGATIVE, output="", function="regression")

"""TreeModel missing-value strategies and confidence, MiningModel selectAll and segment
outputs, and the explicit refusal of the model elements batchscore does not evaluate.

aggregateNodes and weightedConfidence are refused by JPMML-Evaluator 1.7, so their values
here are computed by hand from the PMML 4.4 text; the rest is also covered by JPMML cases
in tests/data/pmml/own (tree_*, mining_*).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from batchscore.errors import ModelError
from batchscore.runtime.pmml.compiler import MODEL_TAGS, UNSUPPORTED_MODELS
from batchscore.runtime.pmml.compilers import COMPILERS
from tests.unit.pmml_documents import load_document, score_floats

NAN = float("nan")
DICTIONARY = """<DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="z" optype="continuous" dataType="double"/>
    <DataField name="c" optype="categorical" dataType="string">
      <Value value="a"/><Value value="b"/></DataField>
    <DataField name="y" optype="continuous" dataType="double"/>
  </DataDictionary>"""
SCHEMA_C = """<MiningSchema><MiningField name="c" usageType="target"/>
    <MiningField name="x"/><MiningField name="z"/></MiningSchema>"""
SCHEMA_R = """<MiningSchema><MiningField name="y" usageType="target"/>
    <MiningField name="x"/><MiningField name="z"/></MiningSchema>"""
OUTPUT = """<Output>
    <OutputField name="pa" feature="probability" value="a"/>
    <OutputField name="pb" feature="probability" value="b"/>
    <OutputField name="conf" feature="confidence"/>
  </Output>"""


def load(body: str) -> Any:
    return load_document(DICTIONARY, body)


def score(model: Any, xs: list[float], zs: list[float]) -> dict[str, Any]:
    return score_floats(model, x=xs, z=zs)


def dist(a: float, b: float, ca: float | None = None, cb: float | None = None) -> str:
    conf_a = f' confidence="{ca}"' if ca is not None else ""
    conf_b = f' confidence="{cb}"' if cb is not None else ""
    return (
        f'<ScoreDistribution value="a" recordCount="{a}"{conf_a}/>'
        f'<ScoreDistribution value="b" recordCount="{b}"{conf_b}/>'
    )


def tree(strategy: str, extra: str = "") -> Any:
    """root(100) -> L: x<5 (60) -> [LL: z<=1 (35), LR: z>1 (25)]; R: x>=5 (40)."""
    return load(
        f'<TreeModel functionName="classification" missingValueStrategy="{strategy}" {extra}>'
        f"{SCHEMA_C}{OUTPUT}"
        f'<Node id="root" score="b" recordCount="100"><True/>{dist(45, 55)}'
        f'<Node id="L" score="a" recordCount="60">'
        f'<SimplePredicate field="x" operator="lessThan" value="5"/>{dist(35, 25)}'
        f'<Node id="LL" score="a" recordCount="35">'
        f'<SimplePredicate field="z" operator="lessOrEqual" value="1"/>{dist(30, 5, 0.9, 0.1)}'
        "</Node>"
        f'<Node id="LR" score="b" recordCount="25">'
        f'<SimplePredicate field="z" operator="greaterThan" value="1"/>{dist(5, 20, 0.2, 0.8)}'
        "</Node></Node>"
        f'<Node id="R" score="b" recordCount="40">'
        f'<SimplePredicate field="x" operator="greaterOrEqual" value="5"/>{dist(10, 30, 0.3, 0.7)}'
        "</Node></Node></TreeModel>"
    )


def test_aggregate_nodes_sums_the_record_counts_of_every_reachable_leaf() -> None:
    out = score(tree("aggregateNodes"), [NAN, 1.0, 7.0, NAN, 1.0], [0.0, NAN, NAN, NAN, 0.0])
    # x unknown, z=0: L (-> LL) and R: a 30+10, b 5+30. x=1, z unknown: LL and LR: 35 / 25.
    # x=7: R is true, no unknown met: the ordinary leaf. Both unknown: all leaves, 45 / 55.
    assert list(out["c"]) == ["a", "a", "b", "b", "a"]
    assert list(out["pa"]) == pytest.approx([40 / 75, 35 / 60, 0.25, 0.45, 30 / 35])
    assert list(out["pb"]) == pytest.approx([35 / 75, 25 / 60, 0.75, 0.55, 5 / 35])
    # Confidence: the predicted class's share when aggregated, else the leaf's confidence
    # (R's ScoreDistributions declare confidences 0.3 / 0.7).
    assert list(out["conf"]) == pytest.approx([40 / 75, 35 / 60, 0.7, 0.55, 0.9])


def test_aggregate_nodes_follows_unknown_children_up_to_the_first_true_one() -> None:
    model = load(
        '<TreeModel functionName="classification" missingValueStrategy="aggregateNodes">'
        f'{SCHEMA_C}{OUTPUT}<Node score="a"><True/>{dist(1, 1)}'
        f'<Node score="a"><SimplePredicate field="x" operator="lessThan" value="0"/>{dist(4, 0)}'
        "</Node>"
        f'<Node score="b"><SimplePredicate field="z" operator="lessThan" value="0"/>{dist(0, 3)}'
        "</Node>"
        f'<Node score="b"><True/>{dist(0, 100)}</Node></Node></TreeModel>'
    )
    # x unknown: the first child is followed and the second (z<0 true) ends the search; the
    # catch-all third child is not reached: a 4, b 3.
    out = score(model, [NAN, NAN], [-1.0, 1.0])
    assert list(out["c"]) == ["a", "b"]
    assert list(out["pa"]) == pytest.approx([4 / 7, 4 / 104])


def test_weighted_confidence_weights_candidates_by_their_record_share() -> None:
    out = score(tree("weightedConfidence"), [NAN, 1.0, 7.0], [0.0, NAN, 0.0])
    # x unknown, z=0: L (0.6, ordinary down to LL) and R (0.4): a .6*.9 + .4*.3 = .66.
    # x=1, z unknown: LL (35/60) and LR (25/60): a .525 + .0833 = .6083.
    assert list(out["c"]) == ["a", "a", "b"]
    assert list(out["conf"]) == pytest.approx([0.66, 35 / 60 * 0.9 + 25 / 60 * 0.2, 0.7])
    pa = 0.6 * 30 / 35 + 0.4 * 0.25
    assert list(out["pa"]) == pytest.approx([pa, 35 / 60 * 30 / 35 + 25 / 60 * 0.2, 0.25])
    assert out["pa"][0] + out["pb"][0] == pytest.approx(1.0)


def test_aggregating_strategies_need_counts_and_classification() -> None:
    with pytest.raises(ModelError, match="missingValueStrategy=weightedConfidence for regr"):
        load(
            '<TreeModel functionName="regression" missingValueStrategy="weightedConfidence">'
            f'{SCHEMA_R}<Node score="1"><True/></Node></TreeModel>'
        )
    with pytest.raises(ModelError, match="needs Node@recordCount"):
        load(
            '<TreeModel functionName="classification" missingValueStrategy="weightedConfidence">'
            f'{SCHEMA_C}<Node score="a"><True/>{dist(1, 2)}</Node></TreeModel>'
        )
    with pytest.raises(ModelError, match="needs ScoreDistribution@recordCount"):
        load(
            '<TreeModel functionName="classification" missingValueStrategy="aggregateNodes">'
            f'{SCHEMA_C}<Node score="a"><True/><ScoreDistribution value="a" probability="1"/>'
            "</Node></TreeModel>"
        )


def test_default_child_hops_cost_the_missing_value_penalty() -> None:
    body = (
        '<TreeModel functionName="classification" missingValueStrategy="defaultChild" '
        f'missingValuePenalty="0.5">{SCHEMA_C}{OUTPUT}'
        f'<Node score="a" defaultChild="1"><True/>{dist(1, 1)}'
        f'<Node id="1" score="a" defaultChild="2">'
        f'<SimplePredicate field="x" operator="lessThan" value="0"/>{dist(1, 1)}'
        f'<Node id="2" score="a"><SimplePredicate field="z" operator="lessThan" value="0"/>'
        f"{dist(3, 1, 0.8, 0.2)}</Node>"
        f'<Node id="3" score="b"><True/>{dist(1, 3, 0.4, 0.6)}</Node></Node>'
        f'<Node score="b"><True/>{dist(0, 1, 0.0, 1.0)}</Node></Node></TreeModel>'
    )
    out = score(load(body), [-1.0, NAN, NAN, 1.0], [-1.0, -1.0, NAN, 0.0])
    assert list(out["c"]) == ["a", "a", "a", "b"]
    assert list(out["conf"]) == pytest.approx([0.8, 0.4, 0.2, 1.0])


def test_confidence_is_refused_where_surrogates_would_be_penalized() -> None:
    with pytest.raises(ModelError, match="feature=confidence"):
        load(
            '<TreeModel functionName="classification" missingValuePenalty="0.5">'
            f'{SCHEMA_C}{OUTPUT}<Node score="a"><True/>{dist(1, 1)}'
            '<Node score="a"><CompoundPredicate booleanOperator="surrogate">'
            '<SimplePredicate field="x" operator="lessThan" value="0"/>'
            '<SimplePredicate field="z" operator="lessThan" value="0"/></CompoundPredicate>'
            f"{dist(2, 1)}</Node></Node></TreeModel>"
        )
    with pytest.raises(ModelError, match="feature=confidence"):
        load(
            f'<TreeModel functionName="regression">{SCHEMA_R}'
            '<Output><OutputField name="conf" feature="confidence"/></Output>'
            '<Node score="1"><True/></Node></TreeModel>'
        )


def regression(intercept: float) -> str:
    return (
        f'<RegressionModel functionName="regression">{SCHEMA_R}'
        f'<RegressionTable intercept="{intercept}"><NumericPredictor name="x" coefficient="1"/>'
        "</RegressionTable></RegressionModel>"
    )


def mining(method: str, output: str, schema: str = SCHEMA_R) -> Any:
    return load(
        f'<MiningModel functionName="regression">{schema}<Output>{output}</Output>'
        f'<Segmentation multipleModelMethod="{method}">'
        f'<Segment id="neg"><SimplePredicate field="x" operator="lessThan" value="0"/>'
        f"{regression(100)}</Segment>"
        f'<Segment id="all"><True/>{regression(0)}</Segment>'
        "</Segmentation></MiningModel>"
    )


SEGMENT_OUTPUTS = """<OutputField name="neg" segmentId="neg" feature="predictedValue"/>
    <OutputField name="all" segmentId="all" feature="predictedValue"/>"""


def test_select_all_scores_every_true_segment_and_has_no_target_column() -> None:
    model = mining("selectAll", SEGMENT_OUTPUTS)
    out = score(model, [-1.0, 2.0, NAN], [0.0] * 3)
    assert list(out) == ["neg", "all"]
    assert out["neg"][0] == 99.0
    assert math.isnan(out["neg"][1])
    assert math.isnan(out["neg"][2])
    assert list(out["all"][:2]) == [-1.0, 2.0]


def test_select_all_refuses_outputs_of_the_combined_prediction() -> None:
    with pytest.raises(ModelError, match=r"selectAll MiningModel .*list of segment predictions"):
        mining("selectAll", '<OutputField name="p" feature="predictedValue"/>')


@pytest.mark.parametrize(
    ("method", "neg_rows", "all_rows"),
    [
        ("selectFirst", [99.0, NAN], [NAN, 2.0]),
        ("modelChain", [99.0, NAN], [-1.0, 2.0]),
        ("sum", [99.0, NAN], [-1.0, 2.0]),
    ],
)
def test_segment_results_are_missing_where_the_segment_was_not_evaluated(
    method: str, neg_rows: list[float], all_rows: list[float]
) -> None:
    out = score(mining(method, SEGMENT_OUTPUTS), [-1.0, 2.0], [0.0, 0.0])
    for name, expected in (("neg", neg_rows), ("all", all_rows)):
        got = list(out[name])
        assert [math.isnan(g) for g in got] == [math.isnan(e) for e in expected]
        assert [g for g in got if not math.isnan(g)] == [e for e in expected if not math.isnan(e)]


def test_unknown_and_duplicate_segment_ids_are_invalid() -> None:
    with pytest.raises(ModelError, match="unknown segment 'nope'"):
        mining("sum", '<OutputField name="n" segmentId="nope" feature="predictedValue"/>')
    with pytest.raises(ModelError, match="Segment id 'neg' is used twice"):
        load(
            f'<MiningModel functionName="regression">{SCHEMA_R}'
            '<Segmentation multipleModelMethod="sum">'
            f'<Segment id="neg"><True/>{regression(1)}</Segment>'
            f'<Segment id="neg"><True/>{regression(2)}</Segment>'
            "</Segmentation></MiningModel>"
        )


@pytest.mark.parametrize("element", sorted(UNSUPPORTED_MODELS))
def test_unsupported_model_elements_are_refused_with_a_reason(element: str) -> None:
    reason = UNSUPPORTED_MODELS[element]
    with pytest.raises(ModelError) as raised:
        load(f'<{element} functionName="regression">{SCHEMA_R}</{element}>')
    assert str(raised.value) == f"Unsupported PMML element: {element} ({reason})."


def test_every_model_tag_is_either_compiled_or_refused_with_a_reason() -> None:
    assert set(COMPILERS) | set(UNSUPPORTED_MODELS) == MODEL_TAGS
    assert not set(COMPILERS) & set(UNSUPPORTED_MODELS)
    assert "TextModel" in UNSUPPORTED_MODELS
    assert "text mining" in UNSUPPORTED_MODELS["TextModel"]


def test_confidence_of_one_category_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ModelError, match="feature=confidence of a Tree"):
        load(
            '<TreeModel functionName="classification">'
            f'{SCHEMA_C}<Output><OutputField name="ca" feature="confidence" value="a"/></Output>'
            f'<Node score="a"><True/>{dist(1, 1, 0.5, 0.5)}</Node></TreeModel>'
        )


@pytest.mark.parametrize("feature", ["transformedValue", "decision", "predictedDisplayValue"])
def test_segment_outputs_of_other_features_are_refused(feature: str) -> None:
    field = f'<OutputField name="f" segmentId="neg" feature="{feature}"><Constant>1</Constant>'
    with pytest.raises(ModelError, match=f"segmentId with feature={feature}"):
        mining("sum", f"{field}</OutputField>")


@pytest.mark.parametrize("feature", ["reasonCode", "ruleValue", "warning", "standardError"])
def test_features_a_model_does_not_define_are_refused(feature: str) -> None:
    with pytest.raises(ModelError, match=f"feature={feature} of a "):
        load(
            f'<RegressionModel functionName="regression">{SCHEMA_R}'
            f'<Output><OutputField name="f" feature="{feature}"/></Output>'
            '<RegressionTable intercept="1"/></RegressionModel>'
        )

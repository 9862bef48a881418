"""Scorecard: refusals at load time and rows JPMML cannot score (spec cases are conformance)."""

from __future__ import annotations

import math
from typing import Any

import numpy.typing as npt
import pytest

from batchscore.errors import ModelError
from tests.unit.pmml_documents import load_document, score_floats

DICTIONARY = """<DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>
  </DataDictionary>"""
SCHEMA = (
    '<MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>'
)

REASONS = """<Output>
    <OutputField name="r1" feature="reasonCode" rank="1"/>
    <OutputField name="r2" feature="reasonCode" rank="2"/>
  </Output>"""
BELOW = """<Attribute partialScore="1" reasonCode="LOW">
      <SimplePredicate field="x" operator="lessThan" value="0"/></Attribute>"""
ABOVE = """<Attribute partialScore="5">
      <SimplePredicate field="x" operator="greaterOrEqual" value="0"/></Attribute>"""


def load(characteristics: str, attributes: str = "", output: str = "") -> Any:
    return load_document(
        DICTIONARY,
        f'<Scorecard functionName="regression" {attributes}>'
        f"{SCHEMA}{output}<Characteristics>{characteristics}</Characteristics></Scorecard>",
    )


def score(model: Any, xs: list[float]) -> dict[str, npt.NDArray[Any]]:
    return score_floats(model, x=xs)


def characteristic(body: str, extra: str = 'reasonCode="RX" baselineScore="3"') -> str:
    return f"<Characteristic {extra}>{body}</Characteristic>"


def test_a_row_without_a_true_attribute_has_no_result() -> None:
    model = load(characteristic(BELOW + ABOVE), output=REASONS)
    out = score(model, [-1.0, float("nan"), 2.0])
    assert out["y"][0] == 1.0
    assert out["r1"][0] == "LOW"
    assert math.isnan(out["y"][1])
    assert out["r1"][1] is None
    assert out["y"][2] == 5.0
    assert out["r1"][2] is None  # 3 - 5 < 0: dropped
    assert out["r2"][0] is None


def test_a_missing_complex_partial_score_leaves_the_row_without_result() -> None:
    complex_score = """<Attribute>
      <True/>
      <ComplexPartialScore><Apply function="ln"><FieldRef field="x"/></Apply></ComplexPartialScore>
    </Attribute>"""
    model = load(characteristic(complex_score))
    out = score(model, [math.e, -1.0])
    assert math.isclose(out["y"][0], 1.0)
    assert math.isnan(out["y"][1])


@pytest.mark.parametrize(
    ("characteristics", "attributes", "message"),
    [
        ("", "", "has no Characteristics"),
        (characteristic(""), "", "has no Attribute"),
        (characteristic(ABOVE, 'reasonCode="RX"'), "", "has no baselineScore"),
        (characteristic(ABOVE, 'baselineScore="1"'), "", "has no reasonCode"),
        (
            characteristic('<Attribute partialScore="1" reasonCode="A"/>'),
            "",
            "Attribute has no predicate",
        ),
        (
            characteristic('<Attribute reasonCode="A"><True/></Attribute>'),
            "",
            "neither partialScore nor ComplexPartialScore",
        ),
        (characteristic(ABOVE), 'reasonCodeAlgorithm="pointsAround"', "reasonCodeAlgorithm"),
    ],
)
def test_invalid_scorecards_are_refused(
    characteristics: str, attributes: str, message: str
) -> None:
    with pytest.raises(ModelError, match=message):
        load(characteristics, attributes)


def test_reason_codes_need_use_reason_codes() -> None:
    body = characteristic(ABOVE, "")
    assert score(load(body, 'useReasonCodes="false"'), [1.0])["y"][0] == 5.0
    with pytest.raises(ModelError, match="reasonCode"):
        load(body, 'useReasonCodes="false"', REASONS)


def test_classification_scorecards_are_refused() -> None:
    body = (
        f'<Scorecard functionName="classification">{SCHEMA}'
        f"<Characteristics>{characteristic(ABOVE)}</Characteristics></Scorecard>"
    )
    with pytest.raises(ModelError, match="Scorecard@functionName=classification"):
        load_document(DICTIONARY, body)

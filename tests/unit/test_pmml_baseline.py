"""BaselineModel: zValue against each continuous baseline, and the refused statistics.

JPMML-Evaluator 1.7 cannot evaluate BaselineModel; the expected values are computed by hand.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from batchscore.errors import ModelError
from tests.unit.pmml_documents import load_document

NAN = float("nan")
DICTIONARY = """<DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="c" optype="categorical" dataType="string"/>
    <DataField name="score" optype="continuous" dataType="double"/>
  </DataDictionary>"""
SCHEMA = """<MiningSchema><MiningField name="x"/><MiningField name="c"/>
    <MiningField name="score" usageType="target"/></MiningSchema>"""


def baseline(statistic: str, distribution: str, extra: str = "", alternate: str = "") -> Any:
    return load_document(
        DICTIONARY,
        f'<BaselineModel functionName="regression">{SCHEMA}'
        f'<TestDistributions field="x" testStatistic="{statistic}" {extra}>'
        f"<Baseline>{distribution}</Baseline>{alternate}</TestDistributions></BaselineModel>",
    )


def z_values(model: Any, xs: list[float]) -> list[float]:
    out = model.score({"x": np.array(xs), "c": np.array(["a"] * len(xs), dtype=object)})
    return list(out["score"])


@pytest.mark.parametrize(
    ("distribution", "mean", "variance"),
    [
        ('<GaussianDistribution mean="550.2" variance="48.2"/>', 550.2, 48.2),
        ('<PoissonDistribution mean="4"/>', 4.0, 4.0),
        ('<UniformDistribution lower="-1" upper="5"/>', 2.0, 3.0),
        ('<AnyDistribution mean="10" variance="0.25"/>', 10.0, 0.25),
    ],
)
def test_z_value_against_each_baseline(distribution: str, mean: float, variance: float) -> None:
    model = baseline("zValue", distribution)
    got = z_values(model, [mean, mean + 1.0, mean - 2.0, NAN])
    sd = math.sqrt(variance)
    assert got[:3] == pytest.approx([0.0, 1.0 / sd, -2.0 / sd], rel=1e-15)
    assert math.isnan(got[3])
    assert [(f.name, f.usage) for f in model.outputs] == [("score", "target")]


def test_spec_example_z_value_of_a_gaussian() -> None:
    model = baseline("zValue", '<GaussianDistribution mean="550.2" variance="48.2"/>')
    assert z_values(model, [460.4]) == pytest.approx([(460.4 - 550.2) / math.sqrt(48.2)])


def test_cusum_is_refused_because_it_accumulates_over_rows() -> None:
    alternate = '<Alternate><GaussianDistribution mean="460.4" variance="39.1"/></Alternate>'
    with pytest.raises(ModelError, match=r"testStatistic=CUSUM .*independently"):
        baseline(
            "CUSUM",
            '<GaussianDistribution mean="550.2" variance="48.2"/>',
            'resetValue="0.0"',
            alternate,
        )


@pytest.mark.parametrize("statistic", ["chiSquareDistribution", "chiSquareIndependence"])
def test_count_distribution_statistics_are_refused(statistic: str) -> None:
    table = (
        '<CountTable sample="30"><FieldValueCount field="c" value="a" count="10"/>'
        '<FieldValueCount field="c" value="b" count="20"/></CountTable>'
    )
    with pytest.raises(ModelError, match=rf"Unsupported PMML feature: .*{statistic}"):
        baseline(statistic, table)


def test_scalar_product_and_count_table_baselines_are_refused() -> None:
    table = '<NormalizedCountTable sample="1"><FieldValueCount field="c" value="a" count="1"/>'
    with pytest.raises(ModelError, match="testStatistic=scalarProduct"):
        baseline("scalarProduct", table + "</NormalizedCountTable>")
    with pytest.raises(ModelError, match="Baseline/NormalizedCountTable"):
        baseline("zValue", table + "</NormalizedCountTable>")


def test_windows_weights_and_bad_baselines_are_refused() -> None:
    gaussian = '<GaussianDistribution mean="0" variance="1"/>'
    with pytest.raises(ModelError, match="windowSize"):
        baseline("zValue", gaussian, 'windowSize="5"')
    with pytest.raises(ModelError, match="weightField"):
        baseline("zValue", gaussian, 'weightField="c"')
    with pytest.raises(ModelError, match=r"variance 0\.0 is not positive"):
        baseline("zValue", '<GaussianDistribution mean="0" variance="0"/>')
    with pytest.raises(ModelError, match="testStatistic=tValue"):
        baseline("tValue", gaussian)

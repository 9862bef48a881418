"""MiningSchema treatments: missing values, invalid values, outliers, declared missing values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from batchscore.errors import ModelError
from batchscore.runtime.pmml import PmmlEngine

NAN = float("nan")


def linear(mining_x: str = "", data_x: str = "", mining_s: str = "") -> bytes:
    """y = 2 * x + (mode == run) with configurable MiningField/DataField details."""
    return f"""<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">
      <DataDictionary>
        <DataField name="x" optype="continuous" dataType="double">{data_x}</DataField>
        <DataField name="mode" optype="categorical" dataType="string">
          <Value value="idle"/><Value value="run"/>
        </DataField>
        <DataField name="y" optype="continuous" dataType="double"/>
      </DataDictionary>
      <RegressionModel functionName="regression">
        <MiningSchema>
          <MiningField name="y" usageType="target"/>
          <MiningField name="x" {mining_x}/>
          <MiningField name="mode" {mining_s}/>
        </MiningSchema>
        <RegressionTable intercept="0">
          <NumericPredictor name="x" coefficient="2"/>
          <CategoricalPredictor name="mode" value="run" coefficient="1"/>
        </RegressionTable>
      </RegressionModel>
    </PMML>""".encode()


def score(document: bytes, xs: list[float], modes: list[Any] | None = None) -> npt.NDArray[Any]:
    model = PmmlEngine().load(document)
    columns = {"x": np.array(xs, dtype=np.float64)}
    columns["mode"] = np.array(modes if modes is not None else ["idle"] * len(xs), dtype=object)
    return model.score(columns)["y"]


def same(got: npt.NDArray[Any], expected: list[float]) -> bool:
    return all(
        (math.isnan(e) and math.isnan(g)) or g == e for g, e in zip(got, expected, strict=True)
    )


INTERVAL = '<Interval closure="closedClosed" leftMargin="0" rightMargin="10"/>'


def test_inputs_are_declared_in_mining_schema_order() -> None:
    model = PmmlEngine().load(linear())
    assert [(f.name, f.data_type, f.usage) for f in model.inputs] == [
        ("x", "double", "active"),
        ("mode", "string", "active"),
    ]
    assert [(f.name, f.usage) for f in model.outputs] == [("y", "target")]


def test_missing_value_replacement() -> None:
    got = score(linear('missingValueReplacement="3" missingValueTreatment="asMean"'), [NAN, 1.0])
    assert same(got, [6.0, 2.0])


def test_missing_value_without_replacement_is_missing() -> None:
    assert same(score(linear(), [NAN, 1.0]), [NAN, 2.0])


def test_missing_value_treatment_return_invalid_refuses_the_row() -> None:
    got = score(linear('missingValueTreatment="returnInvalid"'), [NAN, 1.0])
    assert same(got, [NAN, 2.0])


@pytest.mark.parametrize(
    ("mining", "expected"),
    [
        ("", [NAN, 10.0]),  # returnInvalid: the row is refused
        ('invalidValueTreatment="asIs"', [40.0, 10.0]),
        ('invalidValueTreatment="asMissing"', [NAN, 10.0]),
        ('invalidValueTreatment="asMissing" missingValueReplacement="1"', [2.0, 10.0]),
        ('invalidValueTreatment="asValue" invalidValueReplacement="7"', [14.0, 10.0]),
    ],
)
def test_invalid_value_treatments(mining: str, expected: list[float]) -> None:
    assert same(score(linear(mining, INTERVAL), [20.0, 5.0]), expected)


def test_invalid_category_treatments() -> None:
    refused = score(linear(), [1.0, 1.0], ["stop", "run"])
    assert same(refused, [NAN, 3.0])
    as_missing = score(linear(mining_s='invalidValueTreatment="asMissing"'), [1.0], ["stop"])
    assert same(as_missing, [2.0])
    replaced = linear(mining_s='invalidValueTreatment="asMissing" missingValueReplacement="run"')
    assert same(score(replaced, [1.0, 1.0], ["stop", None]), [3.0, 3.0])


@pytest.mark.parametrize(
    ("outliers", "expected"),
    [
        ("asIs", [-2.0, 4.0, 40.0]),
        ("asMissingValues", [NAN, 4.0, NAN]),
        ("asExtremeValues", [0.0, 4.0, 20.0]),
    ],
)
def test_outlier_treatments(outliers: str, expected: list[float]) -> None:
    mining = f'outliers="{outliers}" lowValue="0" highValue="10"'
    assert same(score(linear(mining), [-1.0, 2.0, 20.0]), expected)


def test_declared_missing_value() -> None:
    data = '<Value value="-999" property="missing"/>'
    got = score(linear('missingValueReplacement="1"', data), [-999.0, 2.0])
    assert same(got, [2.0, 4.0])


def test_declared_invalid_value() -> None:
    data = '<Value value="13" property="invalid"/>'
    assert same(score(linear(data_x=data), [13.0, 2.0]), [NAN, 4.0])


def test_numeric_field_accepts_strings() -> None:
    model = PmmlEngine().load(linear('invalidValueTreatment="asMissing"'))
    x = np.array(["1.5", None, "abc"], dtype=object)
    got = model.score({"x": x, "mode": np.array(["idle"] * 3, dtype=object)})["y"]
    assert same(got, [3.0, NAN, NAN])


def test_absent_input_column_is_missing() -> None:
    model = PmmlEngine().load(linear('missingValueReplacement="4"'))
    got = model.score({"mode": np.array(["run", "idle"], dtype=object)})["y"]
    assert same(got, [9.0, 8.0])


def test_unequal_columns_are_refused() -> None:
    model = PmmlEngine().load(linear())
    with pytest.raises(ModelError, match="equal length"):
        model.score({"x": np.zeros(2), "mode": np.array(["run"], dtype=object)})


def test_mining_field_not_in_data_dictionary_is_named() -> None:
    document = (
        linear()
        .replace(b'<MiningField name="mode" />', b"")
        .replace(b'<MiningField name="x" />', b'<MiningField name="nowhere"/>')
    )
    with pytest.raises(ModelError, match="'nowhere' is not declared"):
        PmmlEngine().load(document)


def test_unsupported_data_type_is_named() -> None:
    # Not a PMML type: dateDaysSince counts from 0, 1960, 1970 or 1980 only.
    document = linear().replace(b'dataType="double">', b'dataType="dateDaysSince[2000]">', 1)
    with pytest.raises(ModelError, match=r"Unsupported PMML dataType: dateDaysSince\[2000\]"):
        PmmlEngine().load(document)

"""GeneralRegressionModel: refusals at load time and rows refused where JPMML raises an error.

Values are covered by the conformance cases ``tests/data/pmml/own/gr_*``; these tests pin what the
cases cannot show (JPMML gives no expected values for documents or rows it rejects).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from batchscore.errors import ModelError
from batchscore.runtime.pmml import PmmlEngine

HEAD = '<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/>'
DICTIONARY = """<DataDictionary>
    <DataField name="y" optype="continuous" dataType="double"/>
    <DataField name="c" optype="categorical" dataType="string">
      <Value value="a"/><Value value="b"/><Value value="k"/></DataField>
    <DataField name="g" optype="categorical" dataType="string"/>
    <DataField name="j" optype="categorical" dataType="double"/>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="t" optype="continuous" dataType="double"/>
    <DataField name="s" optype="categorical" dataType="integer"/>
  </DataDictionary>"""
SCHEMA = """<MiningSchema><MiningField name="{target}" usageType="target"/>
    <MiningField name="g"/><MiningField name="j"/><MiningField name="x"/>
    <MiningField name="t"/><MiningField name="s"/></MiningSchema>"""
PARAMETERS = """<ParameterList><Parameter name="p0"/><Parameter name="p1"/>
    <Parameter name="p2" referencePoint="1.5"/></ParameterList>
  <FactorList><Predictor name="g"/></FactorList>
  <CovariateList><Predictor name="x"/></CovariateList>"""
PPMATRIX = """<PPMatrix><PPCell value="u" predictorName="g" parameterName="p1"/>
    <PPCell value="1" predictorName="x" parameterName="p2"/></PPMatrix>"""
PARAMMATRIX = """<ParamMatrix><PCell parameterName="p0" beta="0.5"/>
    <PCell parameterName="p1" beta="1.0"/><PCell parameterName="p2" beta="2.0"/></ParamMatrix>"""


def load(
    attributes: str,
    *,
    target: str = "y",
    function: str = "regression",
    parameters: str = PARAMETERS,
    pp_matrix: str = PPMATRIX,
    param_matrix: str = PARAMMATRIX,
    extra: str = "",
) -> Any:
    body = (
        f'<GeneralRegressionModel functionName="{function}" {attributes}>'
        f"{SCHEMA.format(target=target)}{parameters}{pp_matrix}{param_matrix}{extra}"
        "</GeneralRegressionModel>"
    )
    return PmmlEngine().load(f"{HEAD}{DICTIONARY}{body}</PMML>".encode())


def score(model: Any, **columns: list[Any]) -> dict[str, npt.NDArray[Any]]:
    arrays: dict[str, npt.NDArray[Any]] = {}
    for name, values in columns.items():
        if any(isinstance(v, str) for v in values):
            arrays[name] = np.array(values, dtype=object)
        else:
            arrays[name] = np.array([math.nan if v is None else v for v in values], dtype=float)
    result: dict[str, npt.NDArray[Any]] = model.score(arrays)
    return result


def values(column: npt.NDArray[Any]) -> list[float | None]:
    return [None if math.isnan(v) else round(float(v), 12) for v in column]


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ('modelType="logLinear"', "Invalid PMML: GeneralRegressionModel@modelType=logLinear"),
        ("", "Invalid PMML: GeneralRegressionModel has no modelType attribute"),
        ('modelType="multinomialLogistic"', "modelType=multinomialLogistic with functionName"),
        ('modelType="generalizedLinear"', "Invalid PMML: GeneralRegressionModel@linkFunction="),
        (
            'modelType="generalizedLinear" linkFunction="cauchit"',
            "Invalid PMML: GeneralRegressionModel@linkFunction=cauchit",
        ),
        (
            'modelType="generalizedLinear" linkFunction="power"',
            "Invalid PMML: GeneralRegressionModel has no linkParameter attribute",
        ),
        (
            'modelType="generalizedLinear" linkFunction="negbin"',
            "Invalid PMML: GeneralRegressionModel has no distParameter attribute",
        ),
        (
            'modelType="CoxRegression"',
            "Invalid PMML: GeneralRegressionModel has no endTimeVariable",
        ),
        ('modelType="CoxRegression" endTimeVariable="t"', "has no BaseCumHazardTables"),
        (
            'modelType="regression" x-mathContext="float"',
            "Unsupported PMML feature: GeneralRegressionModel with x-mathContext",
        ),
    ],
)
def test_refuses_invalid_model_attributes(attributes: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        load(attributes)


def test_refuses_ppcell_of_undeclared_parameter() -> None:
    pp_matrix = '<PPMatrix><PPCell value="1" predictorName="x" parameterName="p9"/></PPMatrix>'
    with pytest.raises(ModelError, match="PPCell refers to undeclared parameter 'p9'"):
        load('modelType="regression"', pp_matrix=pp_matrix)


def test_refuses_pcell_of_undeclared_parameter() -> None:
    param_matrix = '<ParamMatrix><PCell parameterName="q" beta="1"/></ParamMatrix>'
    with pytest.raises(ModelError, match="PCell refers to undeclared parameter 'q'"):
        load('modelType="regression"', param_matrix=param_matrix)


def test_refuses_ppcell_of_a_field_neither_factor_nor_covariate() -> None:
    pp_matrix = '<PPMatrix><PPCell value="1" predictorName="t" parameterName="p1"/></PPMatrix>'
    with pytest.raises(ModelError, match="'t', which is neither a factor nor a covariate"):
        load('modelType="regression"', pp_matrix=pp_matrix)


@pytest.mark.parametrize("missing", ["ParameterList", "PPMatrix", "ParamMatrix"])
def test_refuses_a_model_without_its_matrices(missing: str) -> None:
    parts = {"ParameterList": PARAMETERS, "PPMatrix": PPMATRIX, "ParamMatrix": PARAMMATRIX}
    parts[missing] = ""
    if missing == "ParameterList":
        parts["PPMatrix"] = parts["ParamMatrix"] = ""
    with pytest.raises(ModelError, match=f"Invalid PMML: GeneralRegressionModel has no {missing}"):
        load(
            'modelType="regression"',
            parameters=parts["ParameterList"],
            pp_matrix=parts["PPMatrix"],
            param_matrix=parts["ParamMatrix"],
        )


def test_refuses_empty_or_category_specific_regression_param_matrix() -> None:
    with pytest.raises(ModelError, match="ParamMatrix has no PCell"):
        load('modelType="regression"', param_matrix="<ParamMatrix/>")
    param_matrix = (
        '<ParamMatrix><PCell targetCategory="a" parameterName="p0" beta="1"/></ParamMatrix>'
    )
    with pytest.raises(ModelError, match="regression ParamMatrix or PPMatrix has targetCategory"):
        load('modelType="regression"', param_matrix=param_matrix)


def test_refuses_classifier_whose_reference_category_is_ambiguous() -> None:
    param_matrix = (
        '<ParamMatrix><PCell targetCategory="a" parameterName="p0" beta="1"/></ParamMatrix>'
    )
    with pytest.raises(ModelError, match="cannot tell the reference category"):
        load(
            'modelType="multinomialLogistic"',
            target="c",
            function="classification",
            param_matrix=param_matrix,
        )


def test_refuses_ordinal_model_without_cumulative_link_or_intercepts() -> None:
    with pytest.raises(ModelError, match="cumulativeLink=\\."):
        load('modelType="ordinalMultinomial"', target="c", function="classification")
    with pytest.raises(ModelError, match="ParamMatrix has no intercept for 'a'"):
        load(
            'modelType="ordinalMultinomial" cumulativeLink="logit"',
            target="c",
            function="classification",
        )


def test_regression_factor_missing_value_and_unknown_category() -> None:
    model = load('modelType="generalLinear"')
    out = score(model, g=["u", "v", None, "u"], x=[1.0, 1.0, 1.0, None])
    # 0.5 + 1.0 * [g=u] + 2.0 * x; a missing factor or covariate makes the prediction missing.
    assert values(out["y"]) == [3.5, 2.5, None, None]


def test_generalized_linear_refuses_rows_without_offset_or_with_fractional_trials() -> None:
    model = load(
        'modelType="generalizedLinear" linkFunction="log" offsetVariable="t" trialsVariable="s"'
    )
    out = score(
        model,
        g=["u", "u", "u", "u"],
        x=[0.0, 0.0, None, 0.0],
        t=[0.5, None, None, 0.5],
        s=[2.0, 2.0, 2.0, None],
    )
    # Row 2 is missing before the offset is read (as JPMML: no error); rows 1 and 3 are refused.
    assert values(out["y"]) == [round(math.exp(2.0) * 2.0, 12), None, None, None]
    fractional = score(model, g=["u"], x=[0.0], t=[0.0], s=[2.5])
    assert values(fractional["y"]) == [None]


def test_power_and_oddspower_links_with_zero_parameter_fall_back_to_exp_and_logit() -> None:
    power = load('modelType="generalizedLinear" linkFunction="power" linkParameter="0"')
    odds = load('modelType="generalizedLinear" linkFunction="oddspower" linkParameter="0"')
    inputs: dict[str, list[Any]] = {"g": ["v"], "x": [0.25]}
    assert values(score(power, **inputs)["y"]) == [round(math.exp(1.0), 12)]
    assert values(score(odds, **inputs)["y"]) == [round(1.0 / (1.0 + math.exp(-1.0)), 12)]


COX_TABLES = """<BaseCumHazardTables maxTime="5">
    <BaselineCell time="1" cumHazard="0.1"/><BaselineCell time="3" cumHazard="0.4"/>
  </BaseCumHazardTables>"""


def test_cox_regression_times_and_refused_rows() -> None:
    model = load('modelType="CoxRegression" endTimeVariable="t"', extra=COX_TABLES)
    out = score(
        model,
        g=["u", "u", "u", "u", "u", "u"],
        x=[1.5, 1.5, 2.5, None, 1.5, 1.5],
        t=[0.5, 2.0, 3.0, 0.5, 6.0, None],
    )
    # exp(x.beta - reference.beta) * H0(t): below the first time 0, above maxTime missing,
    # a missing covariate below the first time still 0, a missing end time refused.
    expected = [0.0, round(math.exp(1.5) * 0.1, 12), round(math.exp(3.5) * 0.4, 12), 0.0]
    assert values(out["y"]) == [*expected, None, None]


def test_cox_strata_missing_is_refused_and_unknown_is_missing() -> None:
    strata = """<BaseCumHazardTables>
      <BaselineStratum value="1" maxTime="5">
        <BaselineCell time="1" cumHazard="0.1"/></BaselineStratum>
      <BaselineStratum value="2" maxTime="5">
        <BaselineCell time="1" cumHazard="0.3"/></BaselineStratum>
    </BaseCumHazardTables>"""
    model = load(
        'modelType="CoxRegression" endTimeVariable="t" baselineStrataVariable="s"', extra=strata
    )
    out = score(model, g=["v"] * 4, x=[1.5] * 4, t=[2.0] * 4, s=[2.0, 7.0, None, 1.0])
    relative = math.exp(0.5)
    assert values(out["y"]) == [round(relative * 0.3, 12), None, None, round(relative * 0.1, 12)]


CONTRAST = """<FactorList><Predictor name="j">
    <Categories><Category value="1"/><Category value="2"/><Category value="3"/></Categories>
    <Matrix><Array type="real">1 0</Array><Array type="real">0 1</Array>
      <Array type="real">-1 -1</Array></Matrix></Predictor></FactorList>"""


def test_contrast_matrix_on_a_numeric_factor_and_an_unknown_value() -> None:
    parameters = (
        f'<ParameterList><Parameter name="p0"/><Parameter name="p1"/></ParameterList>{CONTRAST}'
    )
    pp_matrix = '<PPMatrix><PPCell value="2" predictorName="j" parameterName="p1"/></PPMatrix>'
    param_matrix = (
        '<ParamMatrix><PCell parameterName="p0" beta="1"/><PCell parameterName="p1" beta="3"/>'
        "</ParamMatrix>"
    )
    model = load(
        'modelType="regression"',
        parameters=parameters,
        pp_matrix=pp_matrix,
        param_matrix=param_matrix,
    )
    # JPMML 1.7 fails every row of a numeric factor with a contrast matrix; we read the matrix.
    out = score(model, j=[1.0, 2.0, 3.0, 4.0, None])
    assert values(out["y"]) == [1.0, 4.0, -2.0, None, None]


def test_contrast_matrix_cell_value_must_be_a_category() -> None:
    parameters = f'<ParameterList><Parameter name="p1"/></ParameterList>{CONTRAST}'
    pp_matrix = '<PPMatrix><PPCell value="9" predictorName="j" parameterName="p1"/></PPMatrix>'
    with pytest.raises(ModelError, match="PPCell value '9' is not a category of 'j'"):
        load('modelType="regression"', parameters=parameters, pp_matrix=pp_matrix)


def test_classifier_probabilities_and_target_reference_category() -> None:
    param_matrix = """<ParamMatrix><PCell targetCategory="a" parameterName="p0" beta="1"/>
      <PCell targetCategory="k" parameterName="p2" beta="0.5"/></ParamMatrix>"""
    output = """<Output><OutputField name="pa" feature="probability" value="a"/>
      <OutputField name="pb" feature="probability" value="b"/>
      <OutputField name="pk" feature="probability" value="k"/></Output>"""
    model = load(
        'modelType="multinomialLogistic" targetReferenceCategory="b"',
        target="c",
        function="classification",
        param_matrix=param_matrix,
        extra="",
        parameters=output + PARAMETERS,
    )
    out = score(model, g=["u", "u"], x=[2.0, None])
    ea, ek = math.e, math.exp(1.0)
    total = ea + ek + 1.0
    assert out["c"].tolist() == ["a", None]
    assert values(out["pa"]) == [round(ea / total, 12), None]
    assert values(out["pb"]) == [round(1.0 / total, 12), None]

"""Built-in functions and transformations, through OutputField expressions of a tiny model."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from batchscore.errors import ModelError
from batchscore.runtime.pmml import PmmlEngine

NAN = float("nan")


def document(outputs: str, extra: str = "", local: str = "") -> bytes:
    """A RegressionModel over x (double), y (double), s (string) with the given OutputFields."""
    return f"""<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">
      <DataDictionary>
        <DataField name="x" optype="continuous" dataType="double"/>
        <DataField name="y" optype="continuous" dataType="double"/>
        <DataField name="s" optype="categorical" dataType="string"/>
        <DataField name="t" optype="continuous" dataType="double"/>
      </DataDictionary>
      {extra}
      <RegressionModel functionName="regression">
        <MiningSchema>
          <MiningField name="t" usageType="target"/>
          <MiningField name="x"/><MiningField name="y"/><MiningField name="s"/>
        </MiningSchema>
        <Output>{outputs}</Output>
        {local}
        <RegressionTable intercept="0"/>
      </RegressionModel>
    </PMML>""".encode()


def evaluate(expression: str, data_type: str = "double", **columns: Any) -> npt.NDArray[Any]:
    out = f'<OutputField name="o" feature="transformedValue" dataType="{data_type}">'
    out += f"{expression}</OutputField>"
    model = PmmlEngine().load(document(out))
    n = len(next(iter(columns.values())))
    inputs = {
        "x": np.asarray(columns.get("x", [0.0] * n), dtype=np.float64),
        "y": np.asarray(columns.get("y", [0.0] * n), dtype=np.float64),
        "s": np.asarray(columns.get("s", ["a"] * n), dtype=object),
    }
    return model.score(inputs)["o"]


def apply(function: str, *args: str) -> str:
    return f'<Apply function="{function}">{"".join(args)}</Apply>'


X = '<FieldRef field="x"/>'
Y = '<FieldRef field="y"/>'
S = '<FieldRef field="s"/>'


def const(value: object, data_type: str = "double") -> str:
    return f'<Constant dataType="{data_type}">{value}</Constant>'


def same(got: npt.NDArray[Any], expected: list[Any]) -> bool:
    for g, e in zip(got, expected, strict=True):
        if isinstance(e, float) and math.isnan(e):
            if not (g is None or (isinstance(g, float) and math.isnan(g))):
                return False
        elif isinstance(e, float):
            if not math.isclose(float(g), e, rel_tol=1e-12, abs_tol=1e-15):
                return False
        elif g != e:
            return False
    return True


XS = [1.5, -2.0, NAN, 4.0]
YS = [2.0, 0.5, 1.0, NAN]


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("+", [3.5, -1.5, NAN, NAN]),
        ("-", [-0.5, -2.5, NAN, NAN]),
        ("*", [3.0, -1.0, NAN, NAN]),
        ("/", [0.75, -4.0, NAN, NAN]),
        ("pow", [2.25, NAN, NAN, NAN]),
        ("min", [1.5, -2.0, 1.0, 4.0]),
        ("max", [2.0, 0.5, 1.0, 4.0]),
        ("sum", [3.5, -1.5, 1.0, 4.0]),
        ("avg", [1.75, -0.75, 1.0, 4.0]),
        ("median", [1.75, -0.75, 1.0, 4.0]),
        ("product", [3.0, -1.0, 1.0, 4.0]),
        ("threshold", [0.0, 0.0, NAN, NAN]),
        ("modulo", [1.5, 0.0, NAN, NAN]),
    ],
)
def test_binary_and_aggregate_functions(function: str, expected: list[float]) -> None:
    assert same(evaluate(apply(function, X, Y), x=XS, y=YS), expected)


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("abs", [1.5, 2.0, NAN, 4.0]),
        ("floor", [1.0, -2.0, NAN, 4.0]),
        ("ceil", [2.0, -2.0, NAN, 4.0]),
        ("round", [2.0, -2.0, NAN, 4.0]),
        ("exp", [math.exp(1.5), math.exp(-2.0), NAN, math.exp(4.0)]),
        ("sqrt", [math.sqrt(1.5), NAN, NAN, 2.0]),
        ("ln", [math.log(1.5), NAN, NAN, math.log(4.0)]),
        ("log10", [math.log10(1.5), NAN, NAN, math.log10(4.0)]),
    ],
)
def test_unary_functions(function: str, expected: list[float]) -> None:
    assert same(evaluate(apply(function, X), x=XS), expected)


def test_median_of_three_and_round_half_up() -> None:
    got = evaluate(apply("median", X, Y, const(10)), x=[1.0, 5.0], y=[3.0, 2.0])
    assert same(got, [3.0, 5.0])
    assert same(evaluate(apply("round", X), x=[2.5, -2.5, 0.49]), [3.0, -2.0, 0.0])


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("equal", [0.0, 0.0, NAN, NAN]),
        ("notEqual", [1.0, 1.0, NAN, NAN]),
        ("lessThan", [1.0, 1.0, NAN, NAN]),
        ("lessOrEqual", [1.0, 1.0, NAN, NAN]),
        ("greaterThan", [0.0, 0.0, NAN, NAN]),
        ("greaterOrEqual", [0.0, 0.0, NAN, NAN]),
    ],
)
def test_comparisons_are_booleans(function: str, expected: list[float]) -> None:
    got = evaluate(apply(function, X, Y), "boolean", x=XS, y=YS)
    assert got.dtype == object
    assert list(got) == [None if math.isnan(e) else bool(e) for e in expected]


def test_logic_is_three_valued() -> None:
    a = apply("greaterThan", X, const(0))
    b = apply("greaterThan", Y, const(0))
    xs, ys = [1.0, -1.0, NAN, NAN, 1.0], [NAN, NAN, -1.0, 1.0, 1.0]
    assert list(evaluate(apply("and", a, b), "boolean", x=xs, y=ys)) == [
        None,
        False,
        False,
        None,
        True,
    ]
    assert list(evaluate(apply("or", a, b), "boolean", x=xs, y=ys)) == [
        True,
        None,
        None,
        True,
        True,
    ]
    assert list(evaluate(apply("not", a), "boolean", x=[1.0, -1.0, NAN])) == [False, True, None]


def test_missing_checks_membership_and_if() -> None:
    assert list(evaluate(apply("isMissing", X), "boolean", x=XS)) == [False, False, True, False]
    assert list(evaluate(apply("isNotMissing", X), "boolean", x=XS)) == [True, True, False, True]
    got = evaluate(apply("isIn", X, const(1.5), const(4)), "boolean", x=XS)
    assert list(got) == [True, False, None, True]
    got = evaluate(apply("isNotIn", S, const("a", "string")), "boolean", s=["a", "b", None])
    assert list(got) == [False, True, None]
    chosen = apply("if", apply("greaterThan", X, const(0)), const(1), const(-1))
    assert same(evaluate(chosen, x=XS), [1.0, -1.0, NAN, 1.0])
    no_else = apply("if", apply("greaterThan", X, const(0)), const(1))
    assert same(evaluate(no_else, x=XS), [1.0, NAN, NAN, 1.0])


def test_string_functions() -> None:
    strings = [" Run ", "idle", None]
    assert list(evaluate(apply("uppercase", S), "string", s=strings)) == [" RUN ", "IDLE", None]
    assert list(evaluate(apply("lowercase", S), "string", s=strings)) == [" run ", "idle", None]
    assert list(evaluate(apply("trimBlanks", S), "string", s=strings)) == ["Run", "idle", None]
    sub = apply("substring", S, const(2, "integer"), const(3, "integer"))
    assert list(evaluate(sub, "string", s=strings)) == ["Run", "dle", None]
    joined = apply("concat", S, const("-", "string"), S)
    assert list(evaluate(joined, "string", s=["a", "b", None])) == ["a-a", "b-b", None]
    replaced = apply("replace", S, const("[aeiou]", "string"), const("_", "string"))
    assert list(evaluate(replaced, "string", s=["idle", "run", None])) == ["_dl_", "r_n", None]
    matched = apply("matches", S, const("^r", "string"))
    assert list(evaluate(matched, "boolean", s=["idle", "run", None])) == [False, True, None]
    formatted = apply("formatNumber", X, const("%.2f", "string"))
    assert list(evaluate(formatted, "string", x=[1.5, 2.0, NAN])) == ["1.50", "2.00", None]


def test_apply_map_missing_to_and_default_value() -> None:
    mapped = '<Apply function="+" mapMissingTo="-1">' + X + Y + "</Apply>"
    assert same(evaluate(mapped, x=XS, y=YS), [3.5, -1.5, -1.0, -1.0])
    default = '<Apply function="sqrt" defaultValue="0">' + X + "</Apply>"
    assert same(evaluate(default, x=[4.0, -1.0]), [2.0, 0.0])


def norm_continuous(outliers: str, map_missing: str = "") -> str:
    extra = f' mapMissingTo="{map_missing}"' if map_missing else ""
    return (
        f'<NormContinuous field="x" outliers="{outliers}"{extra}>'
        '<LinearNorm orig="0" norm="0"/><LinearNorm orig="10" norm="1"/>'
        '<LinearNorm orig="20" norm="3"/></NormContinuous>'
    )


@pytest.mark.parametrize(
    ("outliers", "expected"),
    [
        ("asIs", [-0.1, 0.5, 2.0, 3.2, NAN]),
        ("asMissingValues", [NAN, 0.5, 2.0, NAN, NAN]),
        ("asExtremeValues", [0.0, 0.5, 2.0, 3.0, NAN]),
    ],
)
def test_norm_continuous_outliers(outliers: str, expected: list[float]) -> None:
    got = evaluate(norm_continuous(outliers), x=[-1.0, 5.0, 15.0, 21.0, NAN])
    assert same(got, expected)


def test_norm_continuous_map_missing_and_norm_discrete() -> None:
    assert same(evaluate(norm_continuous("asIs", "7"), x=[NAN, 10.0]), [7.0, 1.0])
    discrete = '<NormDiscrete field="s" value="run" mapMissingTo="-1"/>'
    assert same(evaluate(discrete, s=["run", "idle", None]), [1.0, 0.0, -1.0])


def test_discretize_bins_default_and_missing() -> None:
    discretize = """<Discretize field="x" mapMissingTo="none" defaultValue="other">
        <DiscretizeBin binValue="low">
          <Interval closure="closedOpen" rightMargin="0"/></DiscretizeBin>
        <DiscretizeBin binValue="mid">
          <Interval closure="closedClosed" leftMargin="0" rightMargin="2"/></DiscretizeBin>
      </Discretize>"""
    got = evaluate(discretize, "string", x=[-5.0, 0.0, 2.0, 2.5, NAN])
    assert list(got) == ["low", "mid", "mid", "other", "none"]


def test_map_values_inline_table() -> None:
    mapping = """<MapValues outputColumn="out" dataType="double" defaultValue="0" mapMissingTo="-1">
        <FieldColumnPair field="s" column="key"/>
        <InlineTable>
          <row><key>idle</key><out>1.5</out></row>
          <row><key>run</key><out>2.5</out></row>
        </InlineTable>
      </MapValues>"""
    assert same(evaluate(mapping, s=["run", "idle", "stop", None]), [2.5, 1.5, 0.0, -1.0])


def test_map_values_two_keys() -> None:
    mapping = """<MapValues outputColumn="out" dataType="string">
        <FieldColumnPair field="s" column="a"/><FieldColumnPair field="x" column="b"/>
        <InlineTable>
          <row><a>run</a><b>1</b><out>fast</out></row>
          <row><a>run</a><b>2</b><out>faster</out></row>
        </InlineTable>
      </MapValues>"""
    got = evaluate(mapping, "string", s=["run", "run", "idle"], x=[1.0, 2.0, 1.0])
    assert list(got) == ["fast", "faster", None]


def test_define_function_and_transformation_dictionary() -> None:
    extra = """<TransformationDictionary>
        <DefineFunction name="twice_plus" optype="continuous" dataType="double">
          <ParameterField name="a"/><ParameterField name="b"/>
          <Apply function="+"><Apply function="*"><FieldRef field="a"/>
            <Constant>2</Constant></Apply><FieldRef field="b"/></Apply>
        </DefineFunction>
        <DerivedField name="d" optype="continuous" dataType="double">
          <Apply function="twice_plus"><FieldRef field="x"/><FieldRef field="y"/></Apply>
        </DerivedField>
      </TransformationDictionary>"""
    out = '<OutputField name="o" feature="transformedValue"><FieldRef field="d"/></OutputField>'
    model = PmmlEngine().load(document(out, extra=extra))
    got = model.score({"x": np.array([1.0, 2.0]), "y": np.array([3.0, NAN])})["o"]
    assert same(got, [5.0, NAN])


def test_derived_field_float_type_rounds_to_float32() -> None:
    local = """<LocalTransformations>
        <DerivedField name="f" optype="continuous" dataType="float">
          <FieldRef field="x"/></DerivedField>
      </LocalTransformations>"""
    out = '<OutputField name="o" feature="transformedValue"><FieldRef field="f"/></OutputField>'
    model = PmmlEngine().load(document(out, local=local))
    got = model.score({"x": np.array([0.1])})["o"]
    assert got[0] == float(np.float32(0.1))


def test_undeclared_field_is_named() -> None:
    out = '<OutputField name="o" feature="transformedValue"><FieldRef field="ghost"/></OutputField>'
    with pytest.raises(ModelError, match="'ghost' is not declared"):
        PmmlEngine().load(document(out))


def test_unsupported_function_fails_at_load() -> None:
    out = f'<OutputField name="o" feature="transformedValue">{apply("frobnicate", X)}</OutputField>'
    with pytest.raises(ModelError, match="Unsupported PMML function: frobnicate"):
        PmmlEngine().load(document(out))


def test_self_referencing_derived_field_is_refused() -> None:
    local = """<LocalTransformations>
        <DerivedField name="a" optype="continuous" dataType="double">
          <FieldRef field="b"/></DerivedField>
        <DerivedField name="b" optype="continuous" dataType="double">
          <FieldRef field="a"/></DerivedField>
      </LocalTransformations>"""
    with pytest.raises(ModelError, match="in terms of itself"):
        PmmlEngine().load(document("", local=local))

"""Dates and times (PMML 4.4 DataDictionary types ``date``, ``time``, ``dateTime``,
``dateDaysSince[Y]``, ``timeSeconds``, ``dateTimeSecondsSince[Y]``, and the functions
``dateDaysSinceYear``, ``dateSecondsSinceYear``, ``dateSecondsSinceMidnight``).

The functions' examples are the specification's: "if PurchaseDate is 2003-04-01,
dateDaysSinceYear(PurchaseDate, 1960) is 15796"; for 1960-01-03T03:30:03,
dateSecondsSinceYear(..., 1960) is 185403 and dateSecondsSinceMidnight is 12603.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from batchscore.errors import ModelError
from tests.unit.pmml_documents import load_document


def model_of(data_type: str, expression: str, result_type: str = "integer") -> Any:
    dictionary = f"""<DataDictionary>
        <DataField name="d" optype="continuous" dataType="{data_type}"/>
        <DataField name="y" optype="continuous" dataType="double"/>
      </DataDictionary>"""
    body = f"""<RegressionModel functionName="regression">
        <MiningSchema><MiningField name="y" usageType="target"/><MiningField name="d"/>
        </MiningSchema>
        <Output><OutputField name="o" feature="transformedValue" dataType="{result_type}">
          {expression}</OutputField></Output>
        <RegressionTable intercept="0"/></RegressionModel>"""
    return load_document(dictionary, body)


def output(data_type: str, expression: str, values: list[Any], result: str = "integer") -> Any:
    model = model_of(data_type, expression, result)
    return list(model.score({"d": np.array(values, dtype=object)})["o"])


def apply(function: str, *args: str) -> str:
    return f'<Apply function="{function}"><FieldRef field="d"/>{"".join(args)}</Apply>'


def constant(value: str) -> str:
    return f'<Constant dataType="integer">{value}</Constant>'


def test_date_days_since_year_of_the_specification() -> None:
    got = output("date", apply("dateDaysSinceYear", constant("1960")), ["2003-04-01", None])
    assert got[0] == 15796
    assert math.isnan(got[1])


def test_date_seconds_since_year_of_the_specification() -> None:
    expression = apply("dateSecondsSinceYear", constant("1960"))
    assert output("dateTime", expression, ["1960-01-03T03:30:03"]) == [185403]


def test_date_seconds_since_midnight_of_the_specification() -> None:
    expression = apply("dateSecondsSinceMidnight")
    assert output("dateTime", expression, ["1960-01-03T03:30:03"]) == [12603]
    assert output("time", expression, ["03:30:03"]) == [12603]


@pytest.mark.parametrize(
    ("year", "expected"), [(1970, 18266), (2000, 7309), (0, 18266 + 719528), (2021, -362)]
)
def test_days_since_any_year(year: int, expected: int) -> None:
    got = output("date", apply("dateDaysSinceYear", constant(str(year))), ["2020-01-05"])
    assert got == [expected]


def test_a_date_time_counts_days_from_its_date_and_a_date_seconds_from_midnight() -> None:
    days = output("dateTime", apply("dateDaysSinceYear", constant("2020")), ["2020-01-02T23:59"])
    assert days == [1]
    seconds = output("date", apply("dateSecondsSinceYear", constant("2020")), ["2020-01-02"])
    assert seconds == [86400]


def test_counting_types_hold_their_count() -> None:
    # dateDaysSince[1960]: "the number of days since 1960-01-01"; text dates are counted too
    ref = '<FieldRef field="d"/>'
    assert output("dateDaysSince[1960]", ref, ["1960-01-15", "14"], "double") == [14.0, 14.0]
    assert output("timeSeconds", ref, ["00:01:05"], "double") == [65.0]
    got = output("dateTimeSecondsSince[1970]", ref, ["1970-01-02T00:00:01"], "double")
    assert got == [86401.0]


def test_converting_between_counting_types_shifts_the_epoch() -> None:
    # a DerivedField of type dateDaysSince[1970] over a dateDaysSince[1960] field
    got = output(
        "dateDaysSince[1960]", '<FieldRef field="d"/>', ["1970-01-03"], "dateDaysSince[1970]"
    )
    assert got == [2.0]
    got = output("date", '<FieldRef field="d"/>', ["1980-01-01"], "dateDaysSince[1980]")
    assert got == [0.0]


def test_dates_compare_with_date_literals_in_predicates() -> None:
    dictionary = """<DataDictionary>
        <DataField name="d" optype="ordinal" dataType="date"/>
        <DataField name="y" optype="continuous" dataType="double"/></DataDictionary>"""
    body = """<TreeModel functionName="regression"><MiningSchema>
        <MiningField name="y" usageType="target"/><MiningField name="d"/></MiningSchema>
        <Node><True/>
          <Node score="1"><SimplePredicate field="d" operator="lessThan" value="2020-03-01"/>
          </Node><Node score="2"><True/></Node></Node></TreeModel>"""
    model = load_document(dictionary, body)
    days = np.array(["2020-02-29", "2020-03-01", None], dtype=object)
    got = model.score({"d": days})["y"]
    assert list(got[:2]) == [1.0, 2.0]


def test_date_outputs_are_iso_text() -> None:
    got = output("dateTime", '<FieldRef field="d"/>', ["2021-05-06T07:08:09"], "dateTime")
    assert got == ["2021-05-06T07:08:09"]
    assert output("dateTime", '<FieldRef field="d"/>', ["2021-05-06T07:08:09"], "date") == [
        "2021-05-06"
    ]


def test_numpy_datetimes_are_read() -> None:
    model = model_of("date", apply("dateDaysSinceYear", constant("2020")))
    days: npt.NDArray[Any] = np.array(["2020-01-11", "NaT"], dtype="datetime64[D]")
    got = list(model.score({"d": days})["o"])
    assert got[0] == 10
    assert math.isnan(got[1])


def test_unreadable_dates_are_invalid_rows() -> None:
    model = model_of("date", apply("dateDaysSinceYear", constant("2020")))
    got = model.score({"d": np.array(["2020-13-45", "2020-01-02"], dtype=object)})["o"]
    assert math.isnan(got[0])
    assert got[1] == 1


def test_time_of_day_of_a_date_is_refused_at_load() -> None:
    with pytest.raises(ModelError, match="dateSecondsSinceMidnight of a date"):
        model_of("date", apply("dateSecondsSinceMidnight"))

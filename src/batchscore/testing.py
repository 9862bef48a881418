"""Test doubles and factories shipped with the package, for our tests and for integrators."""

from __future__ import annotations

import base64
from collections.abc import Sequence

from batchscore.clock import FakeClock

__all__ = ["FakeClock", "basic_auth", "regression_pmml"]


def basic_auth(user: str, password: str, tenant: str | None = None) -> dict[str, str]:
    """An ``Authorization`` header for ``tenant/user:password`` (or ``user:password``)."""
    login = f"{tenant}/{user}" if tenant else user
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def regression_pmml(
    name: str, inputs: Sequence[str], *, optional: Sequence[str] = (), target: str = "y"
) -> bytes:
    """A small valid RegressionModel (y = sum of inputs); ``optional`` inputs get a replacement."""
    fields = "".join(
        f'<DataField name="{f}" optype="continuous" dataType="double"/>' for f in inputs
    )
    mining = "".join(
        f'<MiningField name="{f}"'
        + (' missingValueReplacement="0"' if f in optional else "")
        + "/>"
        for f in inputs
    )
    predictors = "".join(f'<NumericPredictor name="{f}" coefficient="1"/>' for f in inputs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">'
        '<Header description="test model"/>'
        f'<DataDictionary numberOfFields="{len(inputs) + 1}">{fields}'
        f'<DataField name="{target}" optype="continuous" dataType="double"/></DataDictionary>'
        f'<RegressionModel modelName="{name}" functionName="regression">'
        f'<MiningSchema>{mining}<MiningField name="{target}" usageType="target"/></MiningSchema>'
        f'<Output><OutputField name="score" feature="predictedValue" dataType="double"/></Output>'
        f'<RegressionTable intercept="0">{predictors}</RegressionTable>'
        "</RegressionModel></PMML>"
    ).encode()

"""Link and normalization functions shared by regression-like models."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.errors import ModelError
from batchscore.runtime.pmml.datatypes import F64

_SQRT2 = math.sqrt(2.0)


def _erf(x: F64) -> F64:
    """Vectorized erf to ~1e-14: Maclaurin series below 2.5, erfc continued fraction above."""
    a = np.abs(x)
    with np.errstate(all="ignore"):
        small = np.minimum(a, 2.5)
        square = small * small
        power = small.copy()
        total = np.zeros_like(small)
        for n in range(80):
            total += (power / (2 * n + 1)) * (-1.0 if n % 2 else 1.0)
            power = power * square / (n + 1)
        series = total * (2.0 / math.sqrt(math.pi))
        large = np.maximum(a, 2.5)
        fraction = large.copy()
        for k in range(120, 0, -1):
            fraction = large + (k / 2.0) / fraction
        tail = 1.0 - np.exp(-large * large) / math.sqrt(math.pi) / fraction
    return np.where(np.isnan(x), np.nan, np.sign(x) * np.where(a < 2.5, series, tail))


def normal_cdf(x: F64) -> F64:
    return 0.5 * (1.0 + _erf(x / _SQRT2))


E_FLOAT = 2.7182817
"""The base of JPMML's float exp: JPMML-Evaluator 1.7.7's ``FloatValue.exp(float)`` loads the
double constant ``2.7182817d`` (not ``2.7182817f``, 2.7182817459106445), read from its bytecode."""


def float_exp(x: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """JPMML's float ``exp``: ``(float) Math.pow(2.7182817d, (double) x)`` for a float32 ``x``."""
    with np.errstate(over="ignore"):
        # float64 power on purpose: numpy would otherwise compute float32 ** float32.
        exponent = np.asarray(x, dtype=np.float32).astype(np.float64)
        return np.power(np.float64(E_FLOAT), exponent).astype(np.float32)


def binary_link_float32(method: str, x: F64) -> F64:
    """The links in float32 arithmetic, as JPMML computes them under x-mathContext="float"."""
    x32 = x.astype(np.float32)
    one = np.float32(1.0)
    out: npt.NDArray[Any]
    with np.errstate(over="ignore", divide="ignore"):
        if method == "logit":
            out = one / (one + float_exp(-x32))
        elif method == "cloglog":
            out = one - float_exp(-float_exp(x32))
        elif method == "loglog":
            out = float_exp(-float_exp(-x32))
        elif method == "cauchit":
            pi = np.float32(3.1415927)
            out = np.float32(0.5) + (one / pi) * np.arctan(x32.astype(np.float64)).astype(
                np.float32
            )
        elif method == "none":
            out = np.clip(x32, np.float32(0.0), one)
        else:
            raise ModelError(f"Unsupported PMML feature: {method} with x-mathContext=float.")
    return np.asarray(out, dtype=np.float32).astype(np.float64)


def binary_link(method: str, x: F64) -> F64:
    with np.errstate(over="ignore"):
        if method == "logit":
            return 1.0 / (1.0 + np.exp(-x))
        if method == "probit":
            return normal_cdf(x)
        if method == "cloglog":
            return 1.0 - np.exp(-np.exp(x))
        if method == "loglog":
            return np.exp(-np.exp(-x))
        if method == "cauchit":
            return 0.5 + np.arctan(x) / math.pi
        if method == "none":
            return np.clip(x, 0.0, 1.0)
    raise ModelError(f"Unsupported PMML feature: normalizationMethod={method}.")


def regression_link_float32(method: str, x: F64) -> F64:
    """:func:`regression_link` in float32 arithmetic (x-mathContext="float"), as JPMML."""
    if method == "none":
        return x.astype(np.float32).astype(np.float64)
    if method == "exp":
        return float_exp(x).astype(np.float64)
    return binary_link_float32("logit" if method == "softmax" else method, x)


def regression_link(method: str, x: F64) -> F64:
    if method == "none":
        return x
    if method in ("softmax", "logit"):
        return binary_link("logit", x)
    if method == "exp":
        with np.errstate(over="ignore"):
            return np.exp(x)
    return binary_link(method, x)


def normalize_multinomial(method: str, raw: F64, float_math: bool = False) -> F64:
    """Class probabilities from one raw value per class, as JPMML computes them: ``softmax``
    as ``exp(x - max)`` over their sum; ``logit`` as the inverse logit of each, then shares of
    their sum; ``simplemax`` as shares of the sum; ``none`` leaves the values, the last one
    being 1 minus the others. Under ``x-mathContext="float"`` every step is float32."""
    if method == "none":
        out = raw.copy()
        out[:, -1] = 1.0 - raw[:, :-1].sum(axis=1) if raw.shape[1] > 1 else out[:, -1]
        return out
    dtype = np.float32 if float_math else np.float64
    values: npt.NDArray[Any] = np.asarray(raw, dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if method == "softmax":
            shifted = values - values.max(axis=1, keepdims=True)
            values = float_exp(shifted) if float_math else np.exp(shifted)
        elif method == "logit":
            if float_math:
                values = np.float32(1.0) / (np.float32(1.0) + float_exp(-values))
            else:
                values = 1.0 / (1.0 + np.exp(-values))
        total = values[:, 0].copy()
        for j in range(1, values.shape[1]):
            total += values[:, j]
        return np.asarray(values / total[:, None], dtype=np.float64)

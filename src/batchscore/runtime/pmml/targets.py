"""Targets: rescaling, clamping and integer casting of regression results."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.datatypes import F64
from batchscore.runtime.pmml.xml import attr, child, children, float_attr


@dataclass(frozen=True)
class TargetSpec:
    factor: float = 1.0
    constant: float = 0.0
    low: float | None = None
    high: float | None = None
    cast_integer: str | None = None

    @property
    def is_identity(self) -> bool:
        return (
            self.factor == 1.0
            and self.constant == 0.0
            and self.low is None
            and self.high is None
            and self.cast_integer is None
        )

    def apply(self, value: F64, float_math: bool = False) -> F64:
        if self.is_identity:
            return value
        out = value
        if self.low is not None or self.high is not None:
            out = np.clip(out, self.low, self.high)
        if float_math:
            f32 = out.astype(np.float32)
            if self.factor != 1.0:
                f32 = f32 * np.float32(self.factor)
            if self.constant != 0.0:
                f32 = f32 + np.float32(self.constant)
            out = f32.astype(np.float64)
        else:
            if self.factor != 1.0:
                out = out * self.factor
            if self.constant != 0.0:
                out = out + self.constant
        if self.cast_integer == "round":
            out = np.floor(out + 0.5)
        elif self.cast_integer == "ceiling":
            out = np.ceil(out)
        elif self.cast_integer == "floor":
            out = np.floor(out)
        return out


def parse_target(model: etree._Element, target_name: str | None) -> TargetSpec:
    targets = child(model, "Targets")
    if targets is None:
        return TargetSpec()
    candidates = children(targets, "Target")
    chosen = None
    for candidate in candidates:
        if attr(candidate, "field") in (None, target_name):
            chosen = candidate
            break
    if chosen is None:
        return TargetSpec()
    cast = attr(chosen, "castInteger")
    if cast not in (None, "round", "ceiling", "floor"):
        raise ModelError(f"Invalid PMML: Target@castInteger={cast}.")
    low = attr(chosen, "min")
    high = attr(chosen, "max")
    return TargetSpec(
        factor=float_attr(chosen, "rescaleFactor", 1.0),
        constant=float_attr(chosen, "rescaleConstant", 0.0),
        low=float(low) if low is not None else None,
        high=float(high) if high is not None else None,
        cast_integer=cast,
    )


def display_values(model: etree._Element, target_name: str | None) -> dict[str, str]:
    """TargetValue@displayValue by TargetValue@value for the model's target."""
    targets = child(model, "Targets")
    out: dict[str, str] = {}
    for target in children(targets, "Target") if targets is not None else []:
        if attr(target, "field") not in (None, target_name):
            continue
        for value in children(target, "TargetValue"):
            text, shown = value.get("value"), value.get("displayValue")
            if text is not None and shown is not None:
                out.setdefault(text, shown)
    return out

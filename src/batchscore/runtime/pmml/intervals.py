"""PMML Interval elements as vectorized membership tests."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.datatypes import F64, Bool
from batchscore.runtime.pmml.xml import attr

_CLOSURES = frozenset({"openOpen", "openClosed", "closedOpen", "closedClosed"})


@dataclass(frozen=True)
class Interval:
    left: float
    right: float
    closure: str

    def contains(self, x: F64) -> Bool:
        with np.errstate(invalid="ignore"):
            lower = x >= self.left if self.closure.startswith("closed") else x > self.left
            upper = x <= self.right if self.closure.endswith("Closed") else x < self.right
        return np.asarray(lower & upper, dtype=bool)


def parse_interval(element: etree._Element) -> Interval:
    closure = attr(element, "closure", "closedClosed") or "closedClosed"
    if closure not in _CLOSURES:
        raise ModelError(f"Invalid PMML: Interval@closure={closure}.")
    try:
        left_text = attr(element, "leftMargin")
        right_text = attr(element, "rightMargin")
        left = -math.inf if left_text is None else float(left_text)
        right = math.inf if right_text is None else float(right_text)
    except ValueError as exc:
        raise ModelError("Invalid PMML: Interval margin is not a number.") from exc
    return Interval(left, right, closure)


def any_contains(intervals: list[Interval], x: F64) -> Bool:
    hit = np.zeros(x.shape[0], dtype=bool)
    for interval in intervals:
        hit |= interval.contains(x)
    return hit

"""What one document may make the evaluator allocate at load time.

Sizes a document states in attributes (a SparseArray's ``n``, a Matrix's ``nbRows`` /
``nbCols`` or a MatCell's ``row`` / ``col``) are checked before anything is allocated, so a
4 KB document cannot ask for gigabytes; it is refused with a message naming the element.
"""

from __future__ import annotations

from lxml import etree

from batchscore.errors import ModelError

MAX_CELLS = 1 << 24
"""Cells (128 MiB of float64) one array or matrix of a document may have."""
MAX_FORMAT_WIDTH = 1000
"""The widest field a formatNumber pattern may ask for."""


def check_cells(count: int, where: str) -> int:
    """``count`` if an array of that many cells may be allocated, else a ModelError."""
    if count < 0:
        raise ModelError(f"Invalid PMML: {where} has a negative size.")
    if count > MAX_CELLS:
        raise ModelError(
            f"Invalid PMML: {where} asks for {count} cells; a document may allocate at most "
            f"{MAX_CELLS} per array."
        )
    return count


def size_attr(text: str | None, where: str) -> int | None:
    """An integer size attribute, or a ModelError naming ``where``."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise ModelError(f"Invalid PMML: {where} is not an integer: {text!r}.") from exc


def required_size(element: etree._Element, name: str) -> int:
    """The integer attribute ``name`` of ``element``; missing or not an integer is a
    ModelError naming both."""
    where = f"{element.tag}@{name}"
    value = size_attr(element.get(name), where)
    if value is None:
        raise ModelError(f"Invalid PMML: {element.tag} has no {name} attribute.")
    return value

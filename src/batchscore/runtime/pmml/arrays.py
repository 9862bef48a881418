"""Numeric vectors written as Array or (INT|REAL)-SparseArray, and row chunking."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from lxml import etree

from batchscore.errors import ModelError
from batchscore.runtime.pmml.datatypes import F64
from batchscore.runtime.pmml.limits import check_cells, size_attr
from batchscore.runtime.pmml.predicates import parse_array
from batchscore.runtime.pmml.xml import attr, child, require_child

SPARSE_TAGS = ("REAL-SparseArray", "INT-SparseArray")

CHUNK_CELLS = 1 << 21
"""Rows are processed in chunks so that a [rows x vectors] block has about this many cells."""

CACHE_CELLS = 1 << 16
"""Cells (512 KiB of float64) of a block meant to stay in cache while a chunk is processed."""


def real_array(element: etree._Element, size: int | None = None) -> F64:
    """The values of an Array / SparseArray child of ``element`` as float64."""
    array = require_child(element, ("Array", *SPARSE_TAGS), what="Array")
    if array.tag == "Array":
        values = np.array(parse_array(array, "double"), dtype=np.float64)
        if size is not None and values.shape[0] != size:
            raise ModelError(
                f"Invalid PMML: {element.tag} has {values.shape[0]} values, not {size}."
            )
        return values
    stated = size_attr(attr(array, "n"), f"{array.tag}@n")
    n = stated if stated is not None else size
    if n is None:
        raise ModelError(f"Invalid PMML: {array.tag} has no n attribute.")
    if size is not None and n != size:
        raise ModelError(f"Invalid PMML: {element.tag} has {n} values, not {size}.")
    check_cells(n, array.tag)
    indices_el = child(array, "Indices")
    entries_el = child(array, "REAL-Entries")
    if entries_el is None:
        entries_el = child(array, "INT-Entries")
    indices = [int(x) for x in (indices_el.text or "").split()] if indices_el is not None else []
    entries = [float(x) for x in (entries_el.text or "").split()] if entries_el is not None else []
    if len(indices) != len(entries) or any(i < 1 or i > n for i in indices):
        raise ModelError(f"Invalid PMML: {array.tag} has inconsistent Indices and Entries.")
    values = np.zeros(n)
    values[np.array(indices, dtype=np.int64) - 1] = entries
    return values


def chunk_rows(width: int, cells: int = CHUNK_CELLS) -> int:
    """The rows of a chunk such that ``rows x width`` stays near ``cells``."""
    return max(1, cells // max(width, 1))


def chunks(n: int, width: int, cells: int = CHUNK_CELLS) -> Iterator[slice]:
    """Row slices such that ``rows x width`` stays near ``cells``."""
    step = chunk_rows(width, cells)
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))

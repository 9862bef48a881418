"""The fast way to read a wide-layout block: columns of cells become arrays at once
(``float`` over a column, each distinct device cell read once), to be written by
``store.value_grid``. A block with anything unusual (a bad or non-finite cell, a device and
instant on two rows, two columns of one series) is left to the exact way (``importer``), which
names every bad cell; so both ways store the same values."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.service.import_cells import cell_device, cell_time_ns
from batchscore.service.import_files import Block
from batchscore.store.value_grid import GridColumn, ValueGrid

DEVICE_COLUMN = "device"


def wide_grid(
    block: Block,
    device_id: int | None,
    measurement_type: str | None,
    paths: Sequence[tuple[str, tuple[str, str] | None]],
) -> ValueGrid | None:
    """The block as a grid, or None when it needs the exact way. ``paths`` are the header's
    columns with their (fragment, series), None for the time and device columns."""
    series = [(name, path) for name, path in paths if path is not None]
    if len({path for _, path in series}) != len(series):
        return None
    errors: list[str] = []
    times = [cell_time_ns(cell, "", errors) for cell in block.columns["time"]]
    if errors:
        return None
    devices = _devices(block, device_id)
    if devices is None:
        return None
    times_ns = np.asarray(times, dtype=np.int64)
    if len(np.unique(np.stack([devices, times_ns]), axis=1)[0]) != len(times_ns):
        return None  # a device and instant on two rows: one measurement of both rows' values
    columns: list[GridColumn] = []
    for name, (fragment, name_of_series) in ((n, p) for n, p in series if p is not None):
        values = _numbers(block.columns[name])
        if values is None:
            return None
        columns.append(GridColumn(fragment, name_of_series, measurement_type or fragment, values))
    return ValueGrid(devices, times_ns, tuple(columns))


def _devices(block: Block, device_id: int | None) -> npt.NDArray[np.int64] | None:
    cells = block.columns.get(DEVICE_COLUMN)
    if cells is None:
        return np.full(len(block), device_id or 0, dtype=np.int64)
    known: dict[Any, int | None] = {}
    out = np.empty(len(block), dtype=np.int64)
    for i, cell in enumerate(cells):
        try:
            device = known[cell]
        except KeyError:
            device = known[cell] = cell_device(cell)
        except TypeError:  # an unhashable cell
            return None
        if device is None:
            return None
        out[i] = device
    return out


def _numbers(cells: Sequence[Any]) -> npt.NDArray[np.float64] | None:
    """A wide column's cells as floats, NaN for gaps (empty, None or NaN cells), as
    ``import_cells.cell_value`` reads them; None for a cell that is no finite number."""
    try:
        values = np.array([float(c) for c in cells], dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        try:
            values = np.array([_gap_or_float(c) for c in cells], dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            return None
    if np.isinf(values).any():
        return None
    return values


def _gap_or_float(cell: Any) -> float:
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return math.nan
    return float(cell)

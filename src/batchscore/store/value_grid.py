"""Bulk writes of a grid of values (one row per device and instant, one column per series, NaN
for no value): the fast path of imports, columnar from the file to the driver's bulk insert.

It stores exactly what ``measurements.insert_values`` stores for the same values listed column
by column (the order in which a wide file's values are read): one measurement per (device,
instant, type), ids in the order a measurement is first seen, the same fragments text; values
a series already has at that instant are skipped as ``series.not_stored`` skips them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from batchscore.store import driver
from batchscore.store.measurements import DOC_COLUMNS, VALUE_COLUMNS, new_ids
from batchscore.store.series import present_times

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class GridColumn:
    """One series of a grid: its values by row (NaN: no value) and its measurements' type."""

    fragment: str
    series: str
    type: str
    values: Floats


@dataclass(frozen=True, slots=True)
class ValueGrid:
    """Values by (device, instant) row and series column; no two rows share a device and an
    instant, no two columns a series."""

    devices: Ints
    times_ns: Ints
    columns: tuple[GridColumn, ...]

    def __len__(self) -> int:
        return len(self.times_ns)


@dataclass(frozen=True, slots=True)
class GridWrite:
    """What a grid write did: ``values`` written in ``measurements``, ``kept`` values skipped
    because their series had a value at that instant already."""

    values: int
    measurements: int
    kept: int


def fresh_masks(conn: Connection, tenant: str, grid: ValueGrid) -> list[npt.NDArray[np.bool_]]:
    """Per column, the rows holding a value its series does not have yet: one primary-key range
    read per device and series, as ``series.not_stored``."""
    masks = [~np.isnan(c.values) for c in grid.columns]
    for device in np.unique(grid.devices).tolist():
        rows = np.flatnonzero(grid.devices == device)
        times = grid.times_ns[rows]
        for column, mask in zip(grid.columns, masks, strict=True):
            present = times[mask[rows]]
            if not len(present):
                continue
            found = present_times(
                conn,
                tenant,
                int(device),
                column.fragment,
                column.series,
                int(present.min()),
                int(present.max()),
            )
            if found:
                stored = np.fromiter(found, np.int64, len(found))
                mask[rows[np.isin(times, stored)]] = False
    return masks


def insert_grid(conn: Connection, tenant: str, grid: ValueGrid) -> GridWrite:
    """Store the grid's values not stored yet as measurements (one per device, instant and
    type) and series values; two driver bulk inserts."""
    masks = fresh_masks(conn, tenant, grid)
    present = sum(int(np.count_nonzero(~np.isnan(c.values))) for c in grid.columns)
    fresh = sum(int(np.count_nonzero(m)) for m in masks)
    n = len(grid)
    types = list(dict.fromkeys(c.type for c in grid.columns))
    # A measurement (row, type) is first seen at its first fresh column: order them so.
    groups: list[tuple[Ints, Ints, int]] = []  # (order keys, rows, type index)
    for k, kind in enumerate(types):
        first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        for c in reversed([i for i, col in enumerate(grid.columns) if col.type == kind]):
            first[masks[c]] = c * n + np.flatnonzero(masks[c])
        rows = np.flatnonzero(first != np.iinfo(np.int64).max)
        groups.append((first[rows], rows.astype(np.int64), k))
    if not groups or not sum(len(g[1]) for g in groups):
        return GridWrite(0, 0, present)
    keys = np.concatenate([g[0] for g in groups])
    rows = np.concatenate([g[1] for g in groups])
    kinds = np.concatenate([np.full(len(g[1]), g[2], dtype=np.int64) for g in groups])
    order = np.argsort(keys, kind="stable")
    rows, kinds = rows[order], kinds[order]
    ids = np.asarray(new_ids(conn, len(rows)), dtype=np.int64)
    id_of = np.zeros((len(types), n), dtype=np.int64)
    id_of[kinds, rows] = ids
    docs = _docs(tenant, grid, masks, types, ids, rows, kinds)
    values = chain.from_iterable(
        _column_rows(tenant, grid, column, mask, id_of[types.index(column.type)])
        for column, mask in zip(grid.columns, masks, strict=True)
    )
    driver.insert(conn, "measurements", DOC_COLUMNS, docs)
    driver.insert_stream(conn, "measurement_values", VALUE_COLUMNS, values, fresh)
    return GridWrite(fresh, len(docs), present - fresh)


def _column_rows(
    tenant: str,
    grid: ValueGrid,
    column: GridColumn,
    mask: npt.NDArray[np.bool_],
    ids: Ints,
) -> Iterator[tuple[Any, ...]]:
    """The ``measurement_values`` rows of one column's fresh values (tuples made as consumed)."""
    where = np.flatnonzero(mask)
    return zip(
        repeat(tenant),
        grid.devices[where].tolist(),
        repeat(column.fragment),
        repeat(column.series),
        grid.times_ns[where].tolist(),
        ids[where].tolist(),
        column.values[where].tolist(),
        repeat(None),
        strict=False,
    )


def _docs(
    tenant: str,
    grid: ValueGrid,
    masks: Sequence[npt.NDArray[np.bool_]],
    types: list[str],
    ids: Ints,
    rows: Ints,
    kinds: Ints,
) -> list[tuple[Any, ...]]:
    """The measurement rows, their fragments text written as ``insert_values`` writes it: one
    template per type and set of fresh columns, filled with each value's ``repr``."""
    columns_of = [[i for i, c in enumerate(grid.columns) if c.type == t] for t in types]
    # Which of its type's columns each measurement holds, as bits (up to 62 columns a type;
    # more take one pattern each by the slow way).
    patterns = np.zeros((len(types), len(grid)), dtype=np.int64)
    for k, members in enumerate(columns_of):
        for j, c in enumerate(members[:62]):
            patterns[k] |= masks[c].astype(np.int64) << j
    by_row = np.stack([c.values for c in grid.columns], axis=1).tolist()
    templates: dict[tuple[int, int], tuple[str, Callable[[list[float]], Any]]] = {}
    out: list[tuple[Any, ...]] = []
    for new_id, row, kind, device, time_ns, pattern in zip(
        ids.tolist(),
        rows.tolist(),
        kinds.tolist(),
        grid.devices[rows].tolist(),
        grid.times_ns[rows].tolist(),
        patterns[kinds, rows].tolist(),
        strict=True,
    ):
        found = templates.get((kind, pattern))
        if found is None or len(columns_of[kind]) > 62:
            members = [c for c in columns_of[kind] if masks[c][row]]
            getter = itemgetter(*members) if len(members) > 1 else _one(members[0])
            found = templates[(kind, pattern)] = (
                _template([grid.columns[c] for c in members]),
                getter,
            )
        template, pick = found
        out.append((new_id, tenant, device, time_ns, types[kind], template % pick(by_row[row])))
    return out


def _one(index: int) -> Callable[[list[float]], tuple[float]]:
    return lambda values: (values[index],)


def _template(members: Sequence[GridColumn]) -> str:
    """``{"fragment":{"series":{"value":%r},...},...}`` for the members, in their order."""
    by_fragment: dict[str, list[str]] = {}
    for c in members:
        name = json.dumps(c.series, ensure_ascii=False).replace("%", "%%")
        by_fragment.setdefault(c.fragment, []).append(f'{name}:{{"value":%r}}')
    inner = ",".join(
        f"{json.dumps(f, ensure_ascii=False).replace('%', '%%')}:{{{','.join(s)}}}"
        for f, s in by_fragment.items()
    )
    return "{" + inner + "}"

"""Bulk import of measurement history from CSV or Parquet files (design §2.4).

Two layouts: *long* has one value per row (``time,fragment,series,value[,unit][,type]``);
*wide* has one instant per row (``time`` and one ``fragment.series`` column per series). Either
may hold many devices through a ``device`` column (their managed object ids); without one, the
caller names the device. Rows are
read in blocks; each block is validated whole, then written in its own transaction as
measurements (one per instant and type). Unlike a POST to the API, an import skips a value its
series already has at that instant, so a re-import of the same rows changes nothing (and a run
stopped by a bad row can be repeated after the fix); a long file never holds one long write lock.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from batchscore.domain.measurements import MAX_NAME, MAX_UNIT, limit_messages, to_ns, valid_name
from batchscore.domain.timefmt import EARLIEST, LATEST
from batchscore.errors import Invalid, NotFound
from batchscore.service.import_cells import cell_device, cell_text, cell_time_ns, cell_value
from batchscore.service.import_files import Block, open_blocks
from batchscore.service.import_grid import wide_grid
from batchscore.store import inventory as inventory_repo
from batchscore.store import measurements as repo
from batchscore.store import series as series_repo
from batchscore.store.db import Database
from batchscore.store.series import ValueRow
from batchscore.store.value_grid import GridWrite, ValueGrid, insert_grid

T = TypeVar("T")
BATCH_VALUES = 20_000
LONG_REQUIRED = ("time", "fragment", "series", "value")
LONG_OPTIONAL = ("unit", "type", "device")
DEVICE_COLUMN = "device"
_EARLIEST_NS, _LATEST_NS = to_ns(EARLIEST), to_ns(LATEST)


class Layout(enum.StrEnum):
    """How a file lays out its values."""

    LONG = "long"
    WIDE = "wide"


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """How far an import is: ``done`` of ``total`` in the file's unit (bytes for CSV, rows for
    Parquet), and how many values were written so far."""

    done: int
    total: int
    values: int


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import read and wrote: ``values`` read, of which ``kept`` were already stored
    (their series had a value at that instant) and were left as they were, of ``devices``
    devices."""

    layout: Layout
    rows: int
    values: int
    series: tuple[str, ...]
    first_ns: int | None
    last_ns: int | None
    seconds: float
    kept: int = 0
    devices: int = 1


@dataclass(slots=True)
class _Tally:
    rows: int = 0
    values: int = 0
    kept: int = 0
    series: set[str] = field(default_factory=set)
    devices: set[int] = field(default_factory=set)
    first_ns: int | None = None
    last_ns: int | None = None

    def add_grid(self, grid: ValueGrid, written: GridWrite) -> None:
        self.rows += len(grid)
        self.values += written.values + written.kept
        self.kept += written.kept
        held = np.zeros(len(grid), dtype=bool)
        for column in grid.columns:
            has = ~np.isnan(column.values)
            if has.any():
                self.series.add(f"{column.fragment}.{column.series}")
                held |= has
        if not held.any():
            return
        self.devices.update(np.unique(grid.devices[held]).tolist())
        lo, hi = int(grid.times_ns[held].min()), int(grid.times_ns[held].max())
        self.first_ns = lo if self.first_ns is None else min(self.first_ns, lo)
        self.last_ns = hi if self.last_ns is None else max(self.last_ns, hi)

    def add(self, rows: int, values: Sequence[ValueRow], kept: int) -> None:
        self.rows += rows
        self.values += len(values)
        self.kept += kept
        if not values:
            return
        self.series.update(f"{v.fragment}.{v.series}" for v in values)
        self.devices.update(v.device_id for v in values)
        lo = min(v.time_ns for v in values)
        hi = max(v.time_ns for v in values)
        self.first_ns = lo if self.first_ns is None else min(self.first_ns, lo)
        self.last_ns = hi if self.last_ns is None else max(self.last_ns, hi)


def import_measurements(
    db: Database,
    tenant: str,
    device_id: int | None,
    path: Path,
    *,
    layout: Layout | None = None,
    measurement_type: str | None = None,
    batch_values: int = BATCH_VALUES,
    on_progress: Callable[[ImportProgress], None] | None = None,
) -> ImportSummary:
    """Import a CSV or Parquet file into the measurements of ``device_id``, or of the devices
    its ``device`` column names (``device_id`` None).

    The layout comes from the header when not given. Raises ``NotFound`` for an unknown device
    and ``Invalid`` for an unreadable file or bad rows (an unknown device in the ``device``
    column among them); blocks before a bad one stay written.
    """
    started = time.perf_counter()
    if measurement_type is not None and not 0 < len(measurement_type) <= MAX_NAME:
        raise Invalid(f"The measurement type must have 1 to {MAX_NAME} characters.")
    if device_id is not None:
        with db.read() as conn:
            if inventory_repo.get_object(conn, tenant, device_id) is None:
                raise NotFound(
                    f"Managed object with id '{device_id}' not found in tenant {tenant!r}."
                )
    tally = _Tally()
    with open_blocks(path) as (columns, blocks):
        chosen = layout or detect_layout(columns)
        check_header(chosen, columns)
        check_device(columns, device_id)
        convert = long_values if chosen is Layout.LONG else wide_values
        per_row = 1 if chosen is Layout.LONG else max(len(columns) - 1, 2)
        paths = [(c, None if c in ("time", DEVICE_COLUMN) else wide_path(c)) for c in columns]

        def read(block: Block) -> tuple[Block, ValueGrid | None]:
            if per_row == 1:
                return block, None
            return block, wide_grid(block, device_id, measurement_type, paths)

        read_ahead = _ahead(map(read, blocks(max(batch_values // per_row, 1))))
        with closing(read_ahead):
            for block, grid in read_ahead:
                if grid is not None and _all_known(db, tenant, grid, device_id):
                    with db.write() as conn:
                        written = insert_grid(conn, tenant, grid)
                    tally.add_grid(grid, written)
                    if on_progress is not None:
                        on_progress(ImportProgress(block.done, block.total, tally.values))
                    continue
                values = convert(block, device_id, measurement_type)
                if device_id is None:
                    _check_devices(db, tenant, block, values)
                with db.write() as conn:
                    fresh = series_repo.not_stored(conn, tenant, values)
                    repo.insert_values(conn, tenant, fresh)
                tally.add(len(block), values, len(values) - len(fresh))
                if on_progress is not None:
                    on_progress(ImportProgress(block.done, block.total, tally.values))
    return ImportSummary(
        chosen,
        tally.rows,
        tally.values,
        tuple(sorted(tally.series)),
        tally.first_ns,
        tally.last_ns,
        time.perf_counter() - started,
        tally.kept,
        len(tally.devices) if tally.devices else int(device_id is not None),
    )


def _ahead(items: Iterator[T]) -> Generator[T, None, None]:
    """The items of ``items``, the next one made in a thread while the caller handles this
    one: the next block is read and converted while this one is written (the database driver
    runs without the GIL). Close it (``contextlib.closing``) before closing what it reads."""
    with ThreadPoolExecutor(1, thread_name_prefix="import-read") as pool:
        done = object()
        future = pool.submit(next, items, done)
        while (item := future.result()) is not done:
            future = pool.submit(next, items, done)
            yield item  # type: ignore[misc]


def _all_known(db: Database, tenant: str, grid: ValueGrid, device_id: int | None) -> bool:
    """Whether every device of a grid's rows is a managed object of ``tenant`` (the named
    device is known already)."""
    if device_id is not None:
        return True
    wanted = set(np.unique(grid.devices).tolist())
    with db.read() as conn:
        return inventory_repo.existing_ids(conn, tenant, wanted) >= wanted


def check_device(columns: Sequence[str], device_id: int | None) -> None:
    """A file names its devices in a ``device`` column, or the caller names the one device."""
    if device_id is None and DEVICE_COLUMN not in columns:
        raise Invalid("Name the device: --device ID, or a 'device' column of managed object ids.")
    if device_id is not None and DEVICE_COLUMN in columns:
        raise Invalid(
            "The file names its devices in a 'device' column: leave --device out, or drop "
            "the column."
        )


def _check_devices(db: Database, tenant: str, block: Block, values: list[ValueRow]) -> None:
    """Every device of a block's ``device`` column is a managed object of ``tenant``."""
    wanted = {v.device_id for v in values}
    with db.read() as conn:
        unknown = wanted - inventory_repo.existing_ids(conn, tenant, wanted)
    if not unknown:
        return
    errors: list[str] = []
    for i, cell in enumerate(block.columns[DEVICE_COLUMN]):
        device = cell_device(cell)
        if device in unknown:
            unknown.discard(device)
            errors.append(
                f"{block.lines[i]}: managed object '{device}' not found in tenant {tenant!r}."
            )
    _raise_for(errors)


def detect_layout(columns: Sequence[str]) -> Layout:
    """Long when the header names ``fragment``, ``series`` and ``value``; wide otherwise."""
    return Layout.LONG if {"fragment", "series", "value"} <= set(columns) else Layout.WIDE


def check_header(layout: Layout, columns: Sequence[str]) -> None:
    """Raise ``Invalid`` naming every problem of the header for the layout."""
    errors: list[str] = []
    duplicates = sorted({c for c in columns if list(columns).count(c) > 1})
    if duplicates:
        errors.append(f"The header repeats the column(s) {', '.join(duplicates)}.")
    if layout is Layout.LONG:
        missing = [c for c in LONG_REQUIRED if c not in columns]
        extra = [c for c in columns if c not in LONG_REQUIRED + LONG_OPTIONAL]
        if missing:
            errors.append(f"The long layout needs the column(s) {', '.join(missing)}.")
        if extra:
            errors.append(
                f"Unknown column(s) for the long layout: {', '.join(c[:80] for c in extra)} "
                "(expected time, fragment, series, value and optionally unit, type, device)."
            )
    else:
        if "time" not in columns:
            errors.append("The wide layout needs a 'time' column.")
        series = [c for c in columns if c not in ("time", DEVICE_COLUMN)]
        if not series:
            errors.append("The wide layout needs at least one 'fragment.series' column.")
        bad = [c for c in series if wide_path(c) is None]
        if bad:
            errors.append(
                f"Column(s) {', '.join(repr(c[:80]) for c in bad[:10])} are not "
                "'fragment.series' names (for the long layout use --format long)."
            )
    if errors:
        raise Invalid.collect(errors)


def wide_path(column: str) -> tuple[str, str] | None:
    """``fragment.series`` (or ``fragment.series.value``) as (fragment, series), else None."""
    parts = column.split(".")
    if len(parts) == 3 and parts[2] == "value":
        parts = parts[:2]
    if len(parts) != 2 or not all(valid_name(p) for p in parts):
        return None
    return parts[0], parts[1]


def devices_of(block: Block, device_id: int | None, errors: list[str]) -> list[int | None]:
    """The device of each row: its ``device`` cell, or ``device_id`` for every row."""
    cells = block.columns.get(DEVICE_COLUMN)
    if cells is None:
        return [device_id] * len(block)
    out: list[int | None] = []
    for i, cell in enumerate(cells):
        device = cell_device(cell)
        if device is None:
            text = cell_text(cell)[:40]
            errors.append(f"{block.lines[i]}: device {text!r} is no managed object id.")
        out.append(device)
    return out


def long_values(
    block: Block, device_id: int | None, measurement_type: str | None = None
) -> list[ValueRow]:
    """The values of a long-layout block; raises ``Invalid`` listing its bad rows."""
    cols = block.columns
    units: Sequence[Any] = cols.get("unit") or [None] * len(block)
    types: Sequence[Any] = cols.get("type") or [None] * len(block)
    rows: list[ValueRow] = []
    errors: list[str] = []
    devices = devices_of(block, device_id, errors)
    for i, (when, fragment, series, raw, unit, type_) in enumerate(
        zip(
            cols["time"], cols["fragment"], cols["series"], cols["value"], units, types, strict=True
        )
    ):
        where = block.lines[i]
        before = len(errors)
        time_ns = cell_time_ns(when, where, errors)
        fragment = cell_text(fragment)
        series = cell_text(series)
        if not valid_name(fragment) or not valid_name(series):
            errors.append(f"{where}: {fragment[:80]!r}.{series[:80]!r} is not a fragment.series.")
        value = cell_value(raw, where, errors)
        if value is None and len(errors) == before:
            errors.append(f"{where}: the value is missing.")
        unit = cell_text(unit) or None
        if unit is not None and len(unit) > MAX_UNIT:
            errors.append(f"{where}: the unit has more than {MAX_UNIT} characters.")
        kind = cell_text(type_) or measurement_type or fragment
        if len(kind) > MAX_NAME:
            errors.append(f"{where}: the type has more than {MAX_NAME} characters.")
        device = devices[i]
        if len(errors) == before and time_ns is not None and value is not None and device:
            rows.append(ValueRow(device, fragment, series, time_ns, value, unit, kind))
    _raise_for(errors)
    return rows


def wide_values(
    block: Block, device_id: int | None, measurement_type: str | None = None
) -> list[ValueRow]:
    """The values of a wide-layout block (empty and NaN cells are gaps); raises ``Invalid``
    listing its bad rows."""
    errors: list[str] = []
    times = [
        cell_time_ns(when, block.lines[i], errors) for i, when in enumerate(block.columns["time"])
    ]
    devices = devices_of(block, device_id, errors)
    rows: list[ValueRow] = []
    for column, cells in block.columns.items():
        path = wide_path(column) if column != DEVICE_COLUMN else None
        if path is None:
            continue
        fragment, series = path
        kind = measurement_type or fragment
        for i, raw in enumerate(cells):
            value = cell_value(raw, block.lines[i], errors, column=column, gaps=True)
            time_ns, device = times[i], devices[i]
            if value is not None and time_ns is not None and device is not None:
                rows.append(ValueRow(device, fragment, series, time_ns, value, None, kind))
    _raise_for(errors)
    return rows


def _raise_for(errors: list[str]) -> None:
    if errors:
        errors.sort(key=_line_order)
        raise Invalid.collect(
            [
                *limit_messages(errors),
                "Rows before this block were imported; re-running after a fix is safe.",
            ]
        )


def _line_order(message: str) -> int:
    head = message.split(":", 1)[0].rsplit(" ", 1)[-1]
    return int(head) if head.isdigit() else 0

"""Importing a folder of measurement files: one file per device, named by its managed object
id (``12345.csv``, ``12345.parquet``), or files naming their devices in a ``device`` column.
On PostgreSQL several files are written at once (each in its own transactions); SQLite has one
writer, so its files go one after the other."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Lock

from batchscore.domain.documents import object_id
from batchscore.errors import BatchscoreError, Invalid
from batchscore.service.import_files import CSV_SUFFIXES, PARQUET_SUFFIXES, open_blocks
from batchscore.service.importer import (
    DEVICE_COLUMN,
    ImportProgress,
    ImportSummary,
    Layout,
    import_measurements,
)
from batchscore.store.db import Database

MAX_WRITERS = 4


def import_files(folder: Path) -> list[Path]:
    """The CSV and Parquet files of ``folder`` (not of its subfolders), by name."""
    suffixes = CSV_SUFFIXES + PARQUET_SUFFIXES
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(suffixes))


def device_of_file(path: Path) -> int | None:
    """The device a file holds, from its name (``12345.csv``), or None when its header names
    the devices (a ``device`` column); raises ``Invalid`` when it does neither."""
    with open_blocks(path) as (columns, _):
        if DEVICE_COLUMN in columns:
            return None
    device = object_id(path.name.split(".", 1)[0])
    if device is None:
        raise Invalid(
            "name the file by its device's managed object id (e.g. 12345.csv) "
            "or give it a 'device' column."
        )
    return device


def writers(db: Database) -> int:
    """How many files to import at once: one on SQLite (one writer), else up to the cores."""
    if db.engine.dialect.name == "sqlite":
        return 1
    return max(1, min(MAX_WRITERS, os.cpu_count() or 1))


def import_folder(
    db: Database,
    tenant: str,
    folder: Path,
    *,
    layout: Layout | None = None,
    measurement_type: str | None = None,
    workers: int | None = None,
    on_progress: Callable[[ImportProgress], None] | None = None,
) -> ImportSummary:
    """Import every measurement file of ``folder`` (progress in files done of all files).

    A file that fails leaves the others imported; the errors of all failed files are raised
    together afterwards as one ``Invalid``, each message starting with its file's name.
    """
    started = time.perf_counter()
    files = import_files(folder)
    if not files:
        raise Invalid(f"{folder}: holds no CSV (.csv, .csv.gz) or Parquet (.parquet) file.")
    summaries: list[ImportSummary] = []
    errors: dict[Path, list[str]] = {}
    lock = Lock()
    done = [0, 0]  # files, values

    def one(path: Path) -> None:
        try:
            summary = import_measurements(
                db,
                tenant,
                device_of_file(path),
                path,
                layout=layout,
                measurement_type=measurement_type,
            )
        except BatchscoreError as exc:
            summary = None
            with lock:
                errors[path] = [f"{path.name}: {m}" for m in exc.messages]
        with lock:
            if summary is not None:
                summaries.append(summary)
                done[1] += summary.values
            done[0] += 1
            if on_progress is not None:
                on_progress(ImportProgress(done[0], len(files), done[1]))

    with ThreadPoolExecutor(workers or writers(db), thread_name_prefix="import") as pool:
        list(pool.map(one, files))
    if errors:
        imported = f"{len(summaries)} of {len(files)} files were imported whole"
        listed = [m for path in files for m in errors.get(path, [])]
        raise Invalid.collect([*listed, f"{imported}; re-running after a fix is safe."])
    return _merged(summaries, layout, time.perf_counter() - started)


def _merged(summaries: list[ImportSummary], layout: Layout | None, seconds: float) -> ImportSummary:
    firsts = [s.first_ns for s in summaries if s.first_ns is not None]
    lasts = [s.last_ns for s in summaries if s.last_ns is not None]
    layouts = {s.layout for s in summaries}
    return ImportSummary(
        layouts.pop() if len(layouts) == 1 else (layout or Layout.WIDE),
        sum(s.rows for s in summaries),
        sum(s.values for s in summaries),
        tuple(sorted({name for s in summaries for name in s.series})),
        min(firsts) if firsts else None,
        max(lasts) if lasts else None,
        seconds,
        sum(s.kept for s in summaries),
        sum(s.devices for s in summaries),
    )

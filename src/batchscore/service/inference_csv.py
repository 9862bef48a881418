"""CSV export of inferences, safe to open in a spreadsheet (the API's and the console's)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from batchscore.domain.finite import finite_or_none
from batchscore.domain.timefmt import format_instant_ns
from batchscore.execution.codec import Chunk

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_lines(names: list[str], chunks: Iterable[Chunk]) -> Iterator[str]:
    """Header ``deviceId,time,<outputs>`` then one line per record, chunk by chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["deviceId", "time", *(_cell(n) for n in names)])
    yield buffer.getvalue()
    for chunk in chunks:
        buffer.seek(0)
        buffer.truncate()
        columns = [chunk.columns[n].tolist() for n in names]
        for i, (device, ns) in enumerate(
            zip(chunk.devices.tolist(), chunk.times_ns.tolist(), strict=True)
        ):
            writer.writerow([device, format_instant_ns(ns), *(_cell(c[i]) for c in columns)])
        yield buffer.getvalue()


def _cell(value: Any) -> Any:
    value = finite_or_none(value)
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        # A leading quote keeps spreadsheets from evaluating text as a formula.
        return "'" + value
    return value

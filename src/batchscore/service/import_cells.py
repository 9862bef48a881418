"""The cells of an import file read as what they hold: device ids, instants, numbers, text;
a bad cell adds its message (naming its line) to the caller's list."""

from __future__ import annotations

import math
from typing import Any

from batchscore.domain.documents import object_id
from batchscore.domain.measurements import to_ns
from batchscore.domain.timefmt import EARLIEST, LATEST, parse_instant

_EARLIEST_NS, _LATEST_NS = to_ns(EARLIEST), to_ns(LATEST)


def cell_device(cell: Any) -> int | None:
    """A device cell as a managed object id, or None."""
    if isinstance(cell, int) and not isinstance(cell, bool):
        return object_id(cell)
    text = cell_text(cell)
    if text.endswith(".0") and text[:-2].isdigit():  # a float column of ids (Parquet, pandas)
        text = text[:-2]
    return object_id(text)


def cell_text(cell: Any) -> str:
    """A cell as stripped text (None: empty)."""
    return "" if cell is None else str(cell).strip()


def cell_time_ns(cell: Any, where: str, errors: list[str]) -> int | None:
    """A time cell (ISO-8601 text or epoch ns) as epoch ns in the supported range, or None."""
    if isinstance(cell, int) and not isinstance(cell, bool):
        time_ns = cell
    else:
        text = cell_text(cell)
        try:
            time_ns = to_ns(parse_instant(text))
        except (ValueError, TypeError):
            errors.append(f"{where}: time {text[:40]!r} is not ISO-8601 with a UTC offset.")
            return None
        except OverflowError:
            time_ns = -1
    if not _EARLIEST_NS <= time_ns < _LATEST_NS:
        errors.append(f"{where}: time must lie in [1970-01-01, 2100-01-01) UTC.")
        return None
    return time_ns


def cell_value(
    cell: Any, where: str, errors: list[str], *, column: str = "value", gaps: bool = False
) -> float | None:
    """A number cell as a finite float; None for an empty cell (and NaN where ``gaps``)."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    try:
        value = float(cell)
    except (ValueError, TypeError, OverflowError):
        errors.append(f"{where}: {column} {str(cell)[:40]!r} is not a number.")
        return None
    if math.isnan(value) and gaps:
        return None
    if not math.isfinite(value):
        errors.append(f"{where}: {column} must be a finite number.")
        return None
    return value

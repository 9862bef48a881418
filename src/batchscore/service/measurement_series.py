"""``/measurement/measurements/series``: a source's series in a period, per instant or aggregated
per minute, hour or day (UTC), as Cumulocity answers it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from batchscore.domain.documents import object_id, valid_name
from batchscore.errors import Invalid, NotFound
from batchscore.store import inventory as inventory_repo
from batchscore.store import series as repo
from batchscore.store.db import Database

# Cumulocity: "If the aggregation is not specified, the result will contain no more than 5000
# values"; ``truncated`` says there were more. Aggregated answers are capped alike.
MAX_VALUES = 5000
MAX_SERIES = 100


class Aggregation(enum.StrEnum):
    MINUTELY = "MINUTELY"
    HOURLY = "HOURLY"
    DAILY = "DAILY"

    @property
    def bucket_ns(self) -> int:
        seconds = {"MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400}[self.value]
        return seconds * 10**9


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    fragment: str
    series: str
    unit: str | None


@dataclass(frozen=True, slots=True)
class SeriesResult:
    """Times in answer order; per time, one (min, max) per series or None where it has none."""

    series: list[SeriesInfo]
    times: list[int]
    values: dict[int, list[tuple[float, float] | None]]
    truncated: bool


def parse_series_names(names: list[str]) -> list[tuple[str, str]]:
    """``fragment.series`` names, repeated or comma-separated; raise ``Invalid`` for others."""
    out: list[tuple[str, str]] = []
    for part in (p.strip() for name in names for p in name.split(",")):
        if not part:
            continue
        pieces = part.split(".")
        if len(pieces) != 2 or not all(valid_name(p) for p in pieces):
            raise Invalid(f"series: {part[:80]!r} is not a 'fragment.series' name.")
        pair = (pieces[0], pieces[1])
        if pair not in out:
            out.append(pair)
    if len(out) > MAX_SERIES:
        raise Invalid(f"series: at most {MAX_SERIES} series at once.")
    return out


class SeriesService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def series(
        self,
        tenant: str,
        source: str,
        wanted: list[tuple[str, str]],
        start_ns: int,
        end_ns: int,
        *,
        aggregation: Aggregation | None,
        descending: bool,
    ) -> SeriesResult:
        """The values of ``wanted`` (every series of the source when empty)."""
        device = object_id(source)
        with self.db.read() as conn:
            if device is None or inventory_repo.get_object(conn, tenant, device) is None:
                raise NotFound(f"Managed object with id '{source[:40]}' not found.")
            pairs = wanted or repo.series_of(conn, tenant, device, limit=MAX_SERIES)
            infos: list[SeriesInfo] = []
            per_series: list[list[tuple[int, float, float]]] = []
            for fragment, name in pairs:
                infos.append(
                    SeriesInfo(fragment, name, repo.unit_of(conn, tenant, device, fragment, name))
                )
                per_series.append(
                    repo.aggregate(
                        conn,
                        tenant,
                        device,
                        fragment,
                        name,
                        start_ns,
                        end_ns,
                        bucket_ns=aggregation.bucket_ns if aggregation else None,
                        descending=descending,
                        limit=MAX_VALUES + 1,
                    )
                )
        every = sorted({b for rows in per_series for b, _, _ in rows}, reverse=descending)
        times = every[:MAX_VALUES]
        kept = set(times)
        values: dict[int, list[tuple[float, float] | None]] = {
            t: [None] * len(infos) for t in times
        }
        for index, rows in enumerate(per_series):
            for bucket, low, high in rows:
                if bucket in kept:
                    values[bucket][index] = (low, high)
        return SeriesResult(infos, times, values, truncated=len(every) > MAX_VALUES)

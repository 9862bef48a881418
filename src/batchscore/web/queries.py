"""Read-only queries the console needs beyond the API's use cases: the series a device has,
their latest values. Every query is an index seek, never a scan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from batchscore.store import series as series_repo
from batchscore.store.tables import measurement_values as values

MAX_SERIES = 200


@dataclass(frozen=True, slots=True)
class LatestValue:
    fragment: str
    series: str
    time_ns: int
    value: float
    unit: str | None


def series_of(conn: Connection, tenant: str, device_id: int) -> list[tuple[str, str]]:
    """The (fragment, series) pairs a device has values of, in name order (a loose index scan:
    one primary-key seek per series instead of reading every value)."""
    return series_repo.series_of(conn, tenant, device_id, limit=MAX_SERIES)


def latest_values(conn: Connection, tenant: str, device_id: int) -> list[LatestValue]:
    """The newest value of each series of a device."""
    out: list[LatestValue] = []
    for fragment, series in series_of(conn, tenant, device_id):
        row = conn.execute(
            select(values.c.time_ns, values.c.value, values.c.unit)
            .where(
                values.c.tenant_id == tenant,
                values.c.device_id == device_id,
                values.c.fragment == fragment,
                values.c.series == series,
            )
            .order_by(values.c.time_ns.desc(), values.c.measurement_id.desc())
            .limit(1)
        ).first()
        if row is not None:
            out.append(LatestValue(fragment, series, int(row.time_ns), float(row.value), row.unit))
    return out

"""Read-only queries the console needs beyond the API's use cases: the series a device has,
their latest values. Every query is an index seek, never a scan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, or_, select

from batchscore.store.tables import measurements

MAX_SERIES = 200


@dataclass(frozen=True, slots=True)
class LatestValue:
    fragment: str
    series: str
    time_ns: int
    value: float
    unit: str | None


def series_of(conn: Connection, tenant: str, device_id: int) -> list[tuple[str, str]]:
    """The (fragment, series) pairs a device has measurements of, in name order.

    A loose index scan: one primary-key seek per series instead of reading every value.
    """
    found: list[tuple[str, str]] = []
    fragment, series = "", ""
    while len(found) < MAX_SERIES:
        row = conn.execute(
            select(measurements.c.fragment, measurements.c.series)
            .where(
                measurements.c.tenant_id == tenant,
                measurements.c.device_id == device_id,
                or_(
                    measurements.c.fragment > fragment,
                    and_(measurements.c.fragment == fragment, measurements.c.series > series),
                ),
            )
            .order_by(measurements.c.fragment, measurements.c.series)
            .limit(1)
        ).first()
        if row is None:
            break
        fragment, series = row.fragment, row.series
        found.append((fragment, series))
    return found


def latest_values(conn: Connection, tenant: str, device_id: int) -> list[LatestValue]:
    """The newest value of each series of a device."""
    out: list[LatestValue] = []
    for fragment, series in series_of(conn, tenant, device_id):
        row = conn.execute(
            select(measurements.c.time_ns, measurements.c.value, measurements.c.unit)
            .where(
                measurements.c.tenant_id == tenant,
                measurements.c.device_id == device_id,
                measurements.c.fragment == fragment,
                measurements.c.series == series,
            )
            .order_by(measurements.c.time_ns.desc())
            .limit(1)
        ).first()
        if row is not None:
            out.append(LatestValue(fragment, series, int(row.time_ns), float(row.value), row.unit))
    return out

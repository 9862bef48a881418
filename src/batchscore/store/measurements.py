"""Measurement values: idempotent bulk insert, window reads into numpy, and paging by measurement.

A measurement of the API is the group of rows sharing (device, time_ns, type); nothing else
records it, so re-posting the same measurement touches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from batchscore.store.tables import measurements

m = measurements

_PAIR = np.dtype([("t", np.int64), ("v", np.float64)])
_SERIES_QMARK = (
    "SELECT time_ns, value FROM measurements WHERE tenant_id = ? AND device_id = ? "
    "AND fragment = ? AND series = ? AND time_ns >= ? AND time_ns < ? ORDER BY time_ns"
)
_ROWS_QMARK = (
    "SELECT fragment, series, time_ns, value, unit, type FROM measurements "
    "WHERE tenant_id = ? AND device_id = ? AND time_ns >= ? AND time_ns <= ? "
    "ORDER BY time_ns, fragment, series"
)


@dataclass(frozen=True, slots=True)
class ValueRow:
    """One stored value, as inserted and as read back for the API."""

    device_id: int
    fragment: str
    series: str
    time_ns: int
    value: float
    unit: str | None
    type: str | None


@dataclass(frozen=True, slots=True)
class MeasurementFilter:
    """The GET filters; ``None`` means no restriction. Times are ``[start_ns, end_ns)``."""

    device_id: int | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    fragment: str | None = None
    series: str | None = None
    type: str | None = None


MeasurementKey = tuple[int, int, str | None]  # (device_id, time_ns, type)


def insert_values(conn: Connection, tenant: str, rows: Sequence[ValueRow]) -> None:
    """Insert many values in one executemany; values already stored are left as they are."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(m).on_conflict_do_nothing()
    conn.execute(
        stmt,
        [
            {
                "tenant_id": tenant,
                "device_id": r.device_id,
                "fragment": r.fragment,
                "series": r.series,
                "time_ns": r.time_ns,
                "value": r.value,
                "unit": r.unit,
                "type": r.type,
            }
            for r in rows
        ],
    )


def _driver_rows(conn: Connection, qmark_sql: str, params: tuple[Any, ...]) -> Sequence[Any]:
    """The rows of ``qmark_sql`` as the driver's tuples, through a raw cursor: the hot reads
    skip SQLAlchemy's Row objects. ``%s`` replaces ``?`` for drivers of that style (psycopg)."""
    sql = qmark_sql if conn.dialect.paramstyle == "qmark" else qmark_sql.replace("?", "%s")
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def read_series(
    conn: Connection,
    tenant: str,
    device_id: int,
    fragment: str,
    series: str,
    start_ns: int,
    end_ns: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Times (epoch ns) and values of one series in ``[start_ns, end_ns)``, ordered by time.
    The driver's tuples go straight into one structured array; the primary key serves the
    range scan in time order."""
    rows = _driver_rows(
        conn, _SERIES_QMARK, (tenant, device_id, fragment, series, start_ns, end_ns)
    )
    pairs = np.array(rows, dtype=_PAIR)
    return np.ascontiguousarray(pairs["t"]), np.ascontiguousarray(pairs["v"])


def first_time(
    conn: Connection,
    tenant: str,
    device_id: int,
    paths: Sequence[tuple[str, str]],
    start_ns: int,
    end_ns: int,
) -> int | None:
    """The earliest time (epoch ns) in ``[start_ns, end_ns)`` of any of ``paths``
    (fragment, series), or None: one primary-key seek per path."""
    found = [
        conn.execute(
            select(func.min(m.c.time_ns)).where(
                m.c.tenant_id == tenant,
                m.c.device_id == device_id,
                m.c.fragment == fragment,
                m.c.series == series,
                m.c.time_ns >= start_ns,
                m.c.time_ns < end_ns,
            )
        ).scalar()
        for fragment, series in paths
    ]
    times = [int(t) for t in found if t is not None]
    return min(times) if times else None


def _conditions(tenant: str, flt: MeasurementFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [m.c.tenant_id == tenant]
    if flt.device_id is not None:
        conds.append(m.c.device_id == flt.device_id)
    if flt.start_ns is not None:
        conds.append(m.c.time_ns >= flt.start_ns)
    if flt.end_ns is not None:
        conds.append(m.c.time_ns < flt.end_ns)
    if flt.fragment is not None:
        conds.append(m.c.fragment == flt.fragment)
    if flt.series is not None:
        conds.append(m.c.series == flt.series)
    if flt.type is not None:
        conds.append(m.c.type == flt.type)
    return conds


def page_keys(
    conn: Connection,
    tenant: str,
    flt: MeasurementFilter,
    *,
    offset: int,
    limit: int,
    descending: bool,
) -> list[MeasurementKey]:
    """The measurements (device, time, type) matching ``flt``, one page, ordered by time."""
    order: list[Any] = [m.c.time_ns, m.c.device_id, m.c.type]
    if descending:
        order = [c.desc() for c in order]
    rows = conn.execute(
        select(m.c.device_id, m.c.time_ns, m.c.type)
        .where(*_conditions(tenant, flt))
        .group_by(m.c.device_id, m.c.time_ns, m.c.type)
        .order_by(*order)
        .offset(offset)
        .limit(limit)
    )
    return [(int(r.device_id), int(r.time_ns), r.type) for r in rows]


def count_measurements(conn: Connection, tenant: str, flt: MeasurementFilter) -> int:
    """How many measurements match ``flt`` (for ``withTotalPages``)."""
    keys = (
        select(m.c.device_id, m.c.time_ns, m.c.type)
        .where(*_conditions(tenant, flt))
        .group_by(m.c.device_id, m.c.time_ns, m.c.type)
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(keys)).scalar_one())


def rows_of(conn: Connection, tenant: str, keys: Sequence[MeasurementKey]) -> list[ValueRow]:
    """Every stored value of the given measurements (one page of :func:`page_keys`), all
    fragments included: one range read per device over the page's time span, served by the
    (tenant, device, time) index, filtered to the page's keys."""
    if not keys:
        return []
    wanted = set(keys)
    spans: dict[int, tuple[int, int]] = {}
    for device, time_ns, _ in keys:
        lo, hi = spans.get(device, (time_ns, time_ns))
        spans[device] = (min(lo, time_ns), max(hi, time_ns))
    return [
        ValueRow(device, fragment, series, time_ns, value, unit, type_)
        for device, (lo, hi) in sorted(spans.items())
        for fragment, series, time_ns, value, unit, type_ in _driver_rows(
            conn, _ROWS_QMARK, (tenant, device, lo, hi)
        )
        if (device, time_ns, type_) in wanted
    ]

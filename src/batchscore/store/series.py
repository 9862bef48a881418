"""Series values (``measurement_values``): what executions scan, read straight into numpy, and
what the series API aggregates; bulk writes ask which values are stored already."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, func, select

from batchscore.store import driver
from batchscore.store.tables import measurement_values

v = measurement_values

_PAIR = np.dtype([("t", np.int64), ("v", np.float64)])
_SERIES_QMARK = (
    "SELECT time_ns, value FROM measurement_values WHERE tenant_id = ? AND device_id = ? "
    "AND fragment = ? AND series = ? AND time_ns >= ? AND time_ns < ? "
    "ORDER BY time_ns, measurement_id"
)


@dataclass(frozen=True, slots=True)
class ValueRow:
    """One series value to store (bulk import, demo data): rows of one device, instant and type
    make one measurement."""

    device_id: int
    fragment: str
    series: str
    time_ns: int
    value: float
    unit: str | None
    type: str | None


def not_stored(conn: Connection, tenant: str, values: Sequence[ValueRow]) -> list[ValueRow]:
    """The values whose series has no value at their instant yet (bulk import and demo data
    skip the others, so writing the same rows again changes nothing): one primary-key range
    read per series of ``values``."""
    spans: dict[tuple[int, str, str], tuple[int, int]] = {}
    for row in values:
        key = (row.device_id, row.fragment, row.series)
        lo, hi = spans.get(key, (row.time_ns, row.time_ns))
        spans[key] = (min(lo, row.time_ns), max(hi, row.time_ns))
    present = {
        key: present_times(conn, tenant, key[0], key[1], key[2], lo, hi)
        for key, (lo, hi) in spans.items()
    }
    return [r for r in values if r.time_ns not in present[(r.device_id, r.fragment, r.series)]]


def present_times(
    conn: Connection,
    tenant: str,
    device_id: int,
    fragment: str,
    series: str,
    lo_ns: int,
    hi_ns: int,
) -> set[int]:
    """The instants in ``[lo_ns, hi_ns]`` at which a series already has a value."""
    rows = driver.rows(
        conn,
        "SELECT time_ns FROM measurement_values WHERE tenant_id = ? AND device_id = ? "
        "AND fragment = ? AND series = ? AND time_ns >= ? AND time_ns <= ?",
        (tenant, device_id, fragment, series, lo_ns, hi_ns),
    )
    return {int(r[0]) for r in rows}


def read_series(
    conn: Connection,
    tenant: str,
    device_id: int,
    fragment: str,
    series: str,
    start_ns: int,
    end_ns: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Times (epoch ns) and values of one series in ``[start_ns, end_ns)``, ordered by time, one
    value per instant: where several measurements hold a value at the same instant, the first
    stored (lowest id) counts. The primary key serves the range scan in this order."""
    rows = driver.rows(conn, _SERIES_QMARK, (tenant, device_id, fragment, series, start_ns, end_ns))
    pairs = np.array(rows, dtype=_PAIR)
    return _first_per_instant(pairs["t"], pairs["v"])


# PostgreSQL's binary COPY format of rows of (int8, int8, float8): a field count, then each
# field's length and big-endian value.
_COPY_ROW = np.dtype(
    [
        ("n", ">i2"),
        ("lk", ">i4"),
        ("k", ">i8"),
        ("lt", ">i4"),
        ("t", ">i8"),
        ("lv", ">i4"),
        ("v", ">f8"),
    ]
)
_COPY_HEADER = 19  # signature (11), flags (4), header extension length (4, zero)
_COPY_TRAILER = 2


def read_paths(
    conn: Connection,
    tenant: str,
    device_id: int,
    paths: Sequence[tuple[str, str]],
    start_ns: int,
    end_ns: int,
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]:
    """``read_series`` of each (fragment, series) of ``paths``. On PostgreSQL one query for
    the device, its rows (tagged with their path's index) copied out in the binary format
    straight into numpy; on SQLite, in-process, one primary-key range scan per path (as fast
    as one scan of them all, and each yields two columns instead of three)."""
    if not paths:
        return []
    if conn.dialect.name != "postgresql":
        return [
            read_series(conn, tenant, device_id, fragment, series, start_ns, end_ns)
            for fragment, series in paths
        ]
    cases = " ".join("WHEN fragment = %s AND series = %s THEN " + str(i) for i in range(len(paths)))
    fragments = list(dict.fromkeys(f for f, _ in paths))
    names = list(dict.fromkeys(n for _, n in paths))
    sql = (
        f"COPY (SELECT (CASE {cases} ELSE -1 END)::int8, time_ns, value "  # noqa: S608
        "FROM measurement_values WHERE tenant_id = %s AND device_id = %s "
        f"AND fragment IN ({', '.join(['%s'] * len(fragments))}) "
        f"AND series IN ({', '.join(['%s'] * len(names))}) AND time_ns >= %s AND time_ns < %s "
        "ORDER BY fragment, series, time_ns, measurement_id) TO STDOUT (FORMAT BINARY)"
    )
    params = (
        *(x for path in paths for x in path),
        tenant,
        device_id,
        *fragments,
        *names,
        start_ns,
        end_ns,
    )
    cursor = conn.connection.cursor()
    try:
        with cursor.copy(sql, params) as copy:
            data = b"".join(bytes(block) for block in copy)
    finally:
        cursor.close()
    count, odd = divmod(len(data) - _COPY_HEADER - _COPY_TRAILER, _COPY_ROW.itemsize)
    if odd or not data.startswith(b"PGCOPY\n\xff\r\n\x00") or data[15:19] != bytes(4):
        # not the layout read below (a header extension): read it per path instead
        return [
            read_series(conn, tenant, device_id, fragment, series, start_ns, end_ns)
            for fragment, series in paths
        ]
    rows = np.frombuffer(data, dtype=_COPY_ROW, count=count, offset=_COPY_HEADER)
    keys = rows["k"].astype(np.int64)
    # Rows come by (fragment, series), not by index: order them by index, keeping time order.
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    times, values = rows["t"].astype(np.int64)[order], rows["v"].astype(np.float64)[order]
    bounds = np.searchsorted(keys, np.arange(len(paths) + 1))
    return [
        _first_per_instant(times[bounds[i] : bounds[i + 1]], values[bounds[i] : bounds[i + 1]])
        for i in range(len(paths))
    ]


def _first_per_instant(
    times: npt.NDArray[np.int64], values: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """One value per instant: the first (lowest measurement id) where several share one."""
    if len(times) > 1:
        repeated = times[1:] == times[:-1]
        if repeated.any():
            keep = np.ones(len(times), dtype=bool)
            keep[1:] = ~repeated
            times, values = times[keep], values[keep]
    return np.ascontiguousarray(times), np.ascontiguousarray(values)


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
            select(func.min(v.c.time_ns)).where(
                v.c.tenant_id == tenant,
                v.c.device_id == device_id,
                v.c.fragment == fragment,
                v.c.series == series,
                v.c.time_ns >= start_ns,
                v.c.time_ns < end_ns,
            )
        ).scalar()
        for fragment, series in paths
    ]
    times = [int(t) for t in found if t is not None]
    return min(times) if times else None


def series_of(
    conn: Connection, tenant: str, device_id: int, *, limit: int = 10_000
) -> list[tuple[str, str]]:
    """The (fragment, series) pairs a device has values of, in name order: a loose index scan,
    one primary-key seek per series instead of reading every value."""
    found: list[tuple[str, str]] = []
    fragment, series = "", ""
    while len(found) < limit:
        row = conn.execute(
            select(v.c.fragment, v.c.series)
            .where(
                v.c.tenant_id == tenant,
                v.c.device_id == device_id,
                (v.c.fragment > fragment) | ((v.c.fragment == fragment) & (v.c.series > series)),
            )
            .order_by(v.c.fragment, v.c.series)
            .limit(1)
        ).first()
        if row is None:
            break
        fragment, series = row.fragment, row.series
        found.append((fragment, series))
    return found


def aggregate(
    conn: Connection,
    tenant: str,
    device_id: int,
    fragment: str,
    series: str,
    start_ns: int,
    end_ns: int,
    *,
    bucket_ns: int | None,
    descending: bool,
    limit: int,
) -> list[tuple[int, float, float]]:
    """(start of bucket, min, max) of one series in ``[start_ns, end_ns)``, per bucket of
    ``bucket_ns`` (per instant when None), the first ``limit`` buckets in time order."""
    key = "time_ns" if bucket_ns is None else f"(time_ns / {int(bucket_ns)}) * {int(bucket_ns)}"
    direction = "DESC" if descending else "ASC"
    rows = driver.rows(
        conn,
        f"SELECT {key} AS bucket, min(value), max(value) FROM measurement_values "  # noqa: S608
        "WHERE tenant_id = ? AND device_id = ? AND fragment = ? AND series = ? "
        f"AND time_ns >= ? AND time_ns < ? GROUP BY bucket ORDER BY bucket {direction} LIMIT ?",
        (tenant, device_id, fragment, series, start_ns, end_ns, limit),
    )
    return [(int(b), float(lo), float(hi)) for b, lo, hi in rows]


def unit_of(
    conn: Connection, tenant: str, device_id: int, fragment: str, series: str
) -> str | None:
    """The unit of a series' newest value that has one."""
    row = conn.execute(
        select(v.c.unit)
        .where(
            v.c.tenant_id == tenant,
            v.c.device_id == device_id,
            v.c.fragment == fragment,
            v.c.series == series,
            v.c.unit.is_not(None),
        )
        .order_by(v.c.time_ns.desc())
        .limit(1)
    ).first()
    return row.unit if row is not None else None


def latest_values(
    conn: Connection, tenant: str, device_id: int, *, limit: int
) -> list[tuple[str, str, int, float, str | None]]:
    """``(fragment, series, time_ns, value, unit)`` of the newest value of each series of a
    device (at most ``limit`` series, in name order): one index seek per series."""
    out: list[tuple[str, str, int, float, str | None]] = []
    for fragment, series in series_of(conn, tenant, device_id, limit=limit):
        row = conn.execute(
            select(v.c.time_ns, v.c.value, v.c.unit)
            .where(
                v.c.tenant_id == tenant,
                v.c.device_id == device_id,
                v.c.fragment == fragment,
                v.c.series == series,
            )
            .order_by(v.c.time_ns.desc(), v.c.measurement_id.desc())
            .limit(1)
        ).first()
        if row is not None:
            out.append((fragment, series, int(row.time_ns), float(row.value), row.unit))
    return out

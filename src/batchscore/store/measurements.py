"""Measurements: documents with ids (``measurements``) and their series values
(``measurement_values``, read by ``store.series``), written together, read back as documents,
deleted together.

Writes go through the driver's ``executemany`` with ids allocated up front, so a bulk insert
costs one statement per table; a measurement's values are derived from its fragments
(``domain.measurements.series_values``), which is also how a delete finds them again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, func, select, text

from batchscore.domain.filters import MeasurementFilter
from batchscore.domain.measurements import (
    NewMeasurement,
    RawMeasurement,
    SeriesValue,
    StoredMeasurement,
    series_values,
)
from batchscore.store import driver, json_sql
from batchscore.store.keys import TENANT_UNINDEXED, ids_sql, of_tenant_by_ids
from batchscore.store.series import ValueRow, series_of
from batchscore.store.tables import measurement_values, measurements

m = measurements
v = measurement_values

DOC_COLUMNS = ("id", "tenant_id", "device_id", "time_ns", "type", "fragments")
VALUE_COLUMNS = (
    "tenant_id",
    "device_id",
    "fragment",
    "series",
    "time_ns",
    "measurement_id",
    "value",
    "unit",
)
_DELETE_VALUE = (
    "DELETE FROM measurement_values WHERE tenant_id = ? AND device_id = ? AND fragment = ? "
    "AND series = ? AND time_ns = ? AND measurement_id = ?"
)


def new_ids(conn: Connection, count: int) -> list[int]:
    """``count`` fresh measurement ids, ascending. On SQLite the write transaction holds the
    database's write lock (BEGIN IMMEDIATE), so the ids after the largest ever used are free;
    inserting them moves AUTOINCREMENT's counter past them. On PostgreSQL they come from the
    column's sequence."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence('measurements', 'id')) "
                "FROM generate_series(1, :n)"
            ),
            {"n": count},
        )
        return sorted(int(r[0]) for r in rows)
    used = conn.execute(
        text(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence "
            "WHERE name = 'measurements'), 0), coalesce((SELECT max(id) FROM measurements), 0))"
        )
    ).scalar_one()
    first = int(used) + 1
    return list(range(first, first + count))


def insert_measurements(
    conn: Connection, tenant: str, items: Sequence[NewMeasurement]
) -> list[int]:
    """Store every measurement as a new one (no de-duplication) with its series values; returns
    their ids, in order."""
    if not items:
        return []
    ids = new_ids(conn, len(items))
    dumps = json.dumps
    driver.insert(
        conn,
        "measurements",
        DOC_COLUMNS,
        [
            (
                new_id,
                tenant,
                item.source,
                item.time_ns,
                item.type,
                dumps(item.fragments, allow_nan=False, ensure_ascii=False, separators=(",", ":")),
            )
            for new_id, item in zip(ids, items, strict=True)
        ],
    )
    driver.insert(
        conn,
        "measurement_values",
        VALUE_COLUMNS,
        [
            (tenant, item.source, s.fragment, s.series, item.time_ns, new_id, s.value, s.unit)
            for new_id, item in zip(ids, items, strict=True)
            for s in item.values
        ],
    )
    return ids


def measurements_of_values(rows: Sequence[ValueRow]) -> list[NewMeasurement]:
    """Group value rows into measurements: one per (device, instant, type), in first-seen order;
    a row without a type takes its fragment's name."""
    out: list[NewMeasurement] = []
    for (device, time_ns, type_), members in _grouped(rows).items():
        fragments: dict[str, Any] = {}
        for r in members:
            entry: dict[str, Any] = {"value": r.value}
            if r.unit is not None:
                entry["unit"] = r.unit
            fragments.setdefault(r.fragment, {})[r.series] = entry
        values = tuple(SeriesValue(r.fragment, r.series, r.value, r.unit) for r in members)
        out.append(NewMeasurement(device, time_ns, type_, fragments, values))
    return out


def _grouped(rows: Sequence[ValueRow]) -> dict[tuple[int, int, str], list[ValueRow]]:
    grouped: dict[tuple[int, int, str], list[ValueRow]] = {}
    for row in rows:
        grouped.setdefault((row.device_id, row.time_ns, row.type or row.fragment), []).append(row)
    return grouped


class _Names(dict[str | None, str]):
    """JSON text of names and units, encoded once each (a bulk insert repeats a few)."""

    def __missing__(self, key: str | None) -> str:
        text = json.dumps(key, ensure_ascii=False)
        self[key] = text
        return text


def _fragments_text(members: list[ValueRow], names: _Names) -> str:
    """The fragments of value rows as compact JSON, written directly: a number leaf is its
    ``repr`` (finite floats only reach here), names are JSON-encoded once."""
    by_fragment: dict[str, list[str]] = {}
    for r in members:
        unit = "" if r.unit is None else f',"unit":{names[r.unit]}'
        by_fragment.setdefault(r.fragment, []).append(
            f'{names[r.series]}:{{"value":{float(r.value)!r}{unit}}}'
        )
    inner = ",".join(f"{names[f]}:{{{','.join(s)}}}" for f, s in by_fragment.items())
    return "{" + inner + "}"


def insert_values(conn: Connection, tenant: str, rows: Sequence[ValueRow]) -> int:
    """Store value rows as measurements, one per (device, instant, type) (a row without a type
    takes its fragment's name); returns how many measurements were stored. The bulk path of
    imports and demo data: documents written as text directly."""
    grouped = _grouped(rows)
    if not grouped:
        return 0
    ids = new_ids(conn, len(grouped))
    names = _Names()
    docs: list[tuple[Any, ...]] = []
    values: list[tuple[Any, ...]] = []
    for new_id, ((device, time_ns, type_), members) in zip(ids, grouped.items(), strict=True):
        docs.append((new_id, tenant, device, time_ns, type_, _fragments_text(members, names)))
        values.extend(
            (tenant, device, r.fragment, r.series, time_ns, new_id, r.value, r.unit)
            for r in members
        )
    driver.insert(conn, "measurements", DOC_COLUMNS, docs)
    driver.insert(conn, "measurement_values", VALUE_COLUMNS, values)
    return len(docs)


def _conditions(conn: Connection, tenant: str, flt: MeasurementFilter) -> list[ColumnElement[bool]]:
    dialect = conn.dialect.name
    conds: list[ColumnElement[bool]] = [m.c.tenant_id == tenant]
    if flt.device_id is not None:
        conds.append(m.c.device_id == flt.device_id)
    if flt.start_ns is not None:
        conds.append(m.c.time_ns >= flt.start_ns)
    if flt.end_ns is not None:
        conds.append(m.c.time_ns < flt.end_ns)
    if flt.type is not None:
        conds.append(m.c.type == flt.type)
    if flt.fragment is not None:
        path = (flt.fragment,) if flt.series is None else (flt.fragment, flt.series)
        conds.append(json_sql.has_path(m.c.fragments, path, dialect))
    elif flt.series is not None:
        conds.append(_any_fragment_has(flt.series, dialect))
    return conds


def _any_fragment_has(series: str, dialect: str) -> ColumnElement[bool]:
    """Some fragment of the measurement has a property named ``series``."""
    each = func.json_each(m.c.fragments).table_valued("key", "value").alias("each_fragment")
    if dialect == "postgresql":
        found = each.c.value.op("->")(series).is_not(None)
    else:
        found = func.json_type(each.c.value, f'$."{series}"').is_not(None)
    return select(each.c.key).where(found).exists()


def _ordered(descending: bool) -> list[Any]:
    return [m.c.time_ns.desc(), m.c.id.desc()] if descending else [m.c.time_ns, m.c.id]


def page_ids(
    conn: Connection,
    tenant: str,
    flt: MeasurementFilter,
    *,
    offset: int,
    limit: int,
    descending: bool,
) -> list[int]:
    """The ids of one page of matching measurements, by time (then id)."""
    query = (
        select(m.c.id)
        .where(*_conditions(conn, tenant, flt))
        .order_by(*_ordered(descending))
        .offset(offset)
        .limit(limit)
    )
    return [int(r.id) for r in conn.execute(query)]


def raw_measurements(conn: Connection, tenant: str, ids: Sequence[int]) -> list[RawMeasurement]:
    """The measurements of ``ids`` (those that still exist) in that order, fragments as the JSON
    text stored (the driver's tuples: a page of 2,000 is a hot read)."""
    if not ids:
        return []
    matches, params = ids_sql(conn, ids)
    rows = driver.rows(
        conn,
        "SELECT id, device_id, time_ns, type, CAST(fragments AS TEXT) FROM measurements "  # noqa: S608
        f"WHERE {matches} AND {TENANT_UNINDEXED}",
        (*params, tenant),
    )
    found = {int(r[0]): RawMeasurement(int(r[0]), int(r[1]), int(r[2]), r[3], r[4]) for r in rows}
    return [found[i] for i in ids if i in found]


def count_measurements(conn: Connection, tenant: str, flt: MeasurementFilter) -> int:
    """How many measurements match ``flt`` (for ``withTotalPages``)."""
    query = select(func.count()).select_from(m).where(*_conditions(conn, tenant, flt))
    return int(conn.execute(query).scalar_one())


def get_measurement(conn: Connection, tenant: str, measurement_id: int) -> StoredMeasurement | None:
    row = conn.execute(select(m).where(m.c.tenant_id == tenant, m.c.id == measurement_id)).first()
    if row is None:
        return None
    return StoredMeasurement(
        int(row.id), int(row.device_id), int(row.time_ns), row.type, dict(row.fragments)
    )


def delete_measurement(conn: Connection, tenant: str, measurement_id: int) -> bool:
    """Delete one measurement and its series values; False when there is none."""
    found = get_measurement(conn, tenant, measurement_id)
    if found is None:
        return False
    _delete_values(conn, tenant, [(found.id, found.source, found.time_ns, found.fragments)])
    conn.execute(delete(m).where(m.c.tenant_id == tenant, m.c.id == found.id))
    return True


def delete_matching(
    conn: Connection, tenant: str, flt: MeasurementFilter, *, batch: int = 2000
) -> int:
    """Delete every measurement matching ``flt`` with its series values; returns how many."""
    if flt.type is None and flt.fragment is None and flt.series is None:
        return _delete_by_time(conn, tenant, flt)
    deleted = 0
    while True:
        rows = conn.execute(
            select(m.c.id, m.c.device_id, m.c.time_ns, m.c.fragments)
            .where(*_conditions(conn, tenant, flt))
            .order_by(m.c.id)
            .limit(batch)
        ).all()
        if not rows:
            return deleted
        _delete_values(conn, tenant, [(r.id, r.device_id, r.time_ns, r.fragments) for r in rows])
        conn.execute(delete(m).where(of_tenant_by_ids(conn, m, tenant, [r.id for r in rows])))
        deleted += len(rows)


def _delete_values(
    conn: Connection, tenant: str, docs: Sequence[tuple[int, int, int, dict[str, Any]]]
) -> None:
    keys = [
        (tenant, device, s.fragment, s.series, time_ns, doc_id)
        for doc_id, device, time_ns, fragments in docs
        for s in series_values(fragments, "", [])
    ]
    driver.many(conn, _DELETE_VALUE, keys)


def _delete_by_time(conn: Connection, tenant: str, flt: MeasurementFilter) -> int:
    """Without type or fragment filters the values go by primary-key ranges: per device, per
    series, one range of time."""
    devices = [flt.device_id] if flt.device_id is not None else devices_of(conn, tenant)
    lo = flt.start_ns if flt.start_ns is not None else -(2**63)
    hi = flt.end_ns if flt.end_ns is not None else 2**63 - 1
    for device in devices:
        for fragment, name in series_of(conn, tenant, device):
            conn.execute(
                delete(v).where(
                    v.c.tenant_id == tenant,
                    v.c.device_id == device,
                    v.c.fragment == fragment,
                    v.c.series == name,
                    v.c.time_ns >= lo,
                    v.c.time_ns < hi,
                )
            )
    result = conn.execute(delete(m).where(*_conditions(conn, tenant, flt)))
    return int(result.rowcount or 0)


def devices_of(conn: Connection, tenant: str) -> list[int]:
    """The devices with measurements, by a loose index scan (one seek per device)."""
    found: list[int] = []
    last = -1
    while True:
        nxt = conn.execute(
            select(func.min(m.c.device_id)).where(m.c.tenant_id == tenant, m.c.device_id > last)
        ).scalar()
        if nxt is None:
            return found
        last = int(nxt)
        found.append(last)

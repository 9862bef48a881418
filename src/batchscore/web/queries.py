"""Read-only queries the console needs beyond the API's use cases: last messages per job,
the series a device has, their latest values. Every query is an index seek, never a scan."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, select

from batchscore.domain.jobs import ExecutionStatus
from batchscore.store import series as series_repo
from batchscore.store.tables import executions
from batchscore.store.tables import measurement_values as values

MAX_SERIES = 200


@dataclass(frozen=True, slots=True)
class LatestValue:
    fragment: str
    series: str
    time_ns: int
    value: float
    unit: str | None


def last_messages(conn: Connection, job_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """The status messages of each job's last finished execution."""
    ids = list(job_ids)
    if not ids:
        return {}
    last = (
        select(executions.c.job_id, func.max(executions.c.number).label("number"))
        .where(
            executions.c.job_id.in_(ids),
            executions.c.status != ExecutionStatus.RUNNING.value,
        )
        .group_by(executions.c.job_id)
        .subquery()
    )
    rows = conn.execute(
        select(executions.c.job_id, executions.c.messages).join(
            last,
            and_(executions.c.job_id == last.c.job_id, executions.c.number == last.c.number),
        )
    )
    return {int(r.job_id): tuple(r.messages or ()) for r in rows}


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

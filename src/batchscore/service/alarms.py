"""Alarm use cases (Cumulocity's de-duplication and status lifecycle), for the REST API and
for code that raises alarms from job results."""

from __future__ import annotations

from typing import Any

from batchscore.clock import Clock
from batchscore.domain.alarms import (
    Alarm,
    AlarmStatus,
    NewAlarm,
    parse_alarm,
    parse_bulk_change,
    parse_change,
)
from batchscore.domain.filters import AlarmFilter
from batchscore.errors import Invalid
from batchscore.service.documents import (
    check_budget,
    merge_fragments,
    not_found,
    parse_id,
    require_source,
)
from batchscore.service.reading import PageRead
from batchscore.store import alarms as repo
from batchscore.store.db import Database
from batchscore.store.tables import alarms as alarm_table


class AlarmService:
    def __init__(self, db: Database, clock: Clock, fragment_budget: int = 1_000_000) -> None:
        self.db = db
        self.clock = clock
        self.fragment_budget = fragment_budget

    def create(self, tenant: str, body: Any) -> tuple[Alarm, bool]:
        """Raise the alarm of a POST body; see :meth:`raise_alarm`."""
        return self.raise_alarm(tenant, parse_alarm(body))

    def raise_alarm(self, tenant: str, alarm: NewAlarm) -> tuple[Alarm, bool]:
        """Store ``alarm``, or count up the ACTIVE or ACKNOWLEDGED alarm of the same source and
        type (its ``count``, ``time`` and ``text`` follow). Returns the alarm and whether it is
        new. Raises ``Invalid`` when the source is no managed object of ``tenant``."""
        check_budget(alarm.fragments or {}, self.fragment_budget, "an alarm")
        with self.db.write() as conn:
            require_source(conn, tenant, alarm.source)
            return repo.raise_alarm(conn, tenant, alarm, self.clock.now())

    def clear(self, tenant: str, source: int, type_: str) -> int:
        """Clear the open alarm of ``source`` and ``type_``, if any; returns how many (0 or 1)."""
        flt = AlarmFilter(
            source=source,
            types=(type_,),
            statuses=(AlarmStatus.ACTIVE, AlarmStatus.ACKNOWLEDGED),
        )
        with self.db.write() as conn:
            return repo.change_matching(conn, tenant, flt, AlarmStatus.CLEARED, self.clock.now())

    def get(self, tenant: str, alarm_id: str | int) -> Alarm:
        parsed = parse_id(alarm_id, "Alarm")
        with self.db.read() as conn:
            found = repo.get_alarm(conn, tenant, parsed)
        if found is None:
            raise not_found("Alarm", alarm_id)
        return found

    def update(self, tenant: str, alarm_id: str | int, body: Any) -> Alarm:
        """Change text, severity, status or custom fragments (``null`` removes one)."""
        current = self.get(tenant, alarm_id)
        change = parse_change(body, current)
        fragments = merge_fragments(current.fragments, change.fragments or {})
        check_budget(fragments, self.fragment_budget, "an alarm")
        with self.db.write() as conn:
            return repo.change_alarm(conn, tenant, current, change, fragments, self.clock.now())

    def update_matching(self, tenant: str, flt: AlarmFilter, body: Any, *, filtered: bool) -> int:
        """Set the status of every matching alarm (Cumulocity refuses to do so without any
        filter, so as not to change every alarm by accident)."""
        if not filtered:
            raise Invalid("At least one filter is required to change alarms in bulk.")
        status = parse_bulk_change(body)
        with self.db.write() as conn:
            return repo.change_matching(conn, tenant, flt, status, self.clock.now())

    def delete_matching(self, tenant: str, flt: AlarmFilter) -> int:
        with self.db.write() as conn:
            return repo.delete_matching(conn, tenant, flt)

    def count(self, tenant: str, flt: AlarmFilter) -> int:
        with self.db.read() as conn:
            return repo.count_alarms(conn, tenant, flt)

    def read_page(
        self,
        tenant: str,
        flt: AlarmFilter,
        *,
        page_size: int,
        current_page: int,
        oldest_first: bool,
        with_total: bool,
    ) -> PageRead[list[tuple[Alarm, str]]]:
        """One page of matching alarms, newest first unless ``oldest_first``, read in one
        transaction a run of bounded size at a time (``service.reading``)."""
        offset = (current_page - 1) * page_size
        return PageRead(
            self.db,
            alarm_table,
            tenant,
            limit=page_size,
            ids_of=lambda conn, limit: repo.page_ids(
                conn, tenant, flt, offset=offset, limit=limit, oldest_first=oldest_first
            ),
            count=(lambda conn: repo.count_alarms(conn, tenant, flt)) if with_total else None,
            read_run=lambda conn, run: repo.raw_alarms(conn, tenant, run),
        )

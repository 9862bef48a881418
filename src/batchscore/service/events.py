"""Event use cases, for the REST API and for code that records events from job results."""

from __future__ import annotations

from typing import Any

from batchscore.clock import Clock
from batchscore.domain.events import Event, NewEvent, parse_change, parse_event
from batchscore.domain.filters import EventFilter
from batchscore.service.documents import (
    check_budget,
    merge_fragments,
    not_found,
    parse_id,
    require_source,
)
from batchscore.service.reading import PageRead
from batchscore.store import events as repo
from batchscore.store.db import Database
from batchscore.store.tables import events as event_table


class EventService:
    def __init__(self, db: Database, clock: Clock, fragment_budget: int = 1_000_000) -> None:
        self.db = db
        self.clock = clock
        self.fragment_budget = fragment_budget

    def create(self, tenant: str, body: Any) -> Event:
        return self.record(tenant, parse_event(body))

    def record(self, tenant: str, event: NewEvent) -> Event:
        """Store ``event``; raises ``Invalid`` when its source is no managed object of
        ``tenant``."""
        check_budget(event.fragments or {}, self.fragment_budget, "an event")
        with self.db.write() as conn:
            require_source(conn, tenant, event.source)
            return repo.insert_event(conn, tenant, event, self.clock.now())

    def get(self, tenant: str, event_id: str | int) -> Event:
        parsed = parse_id(event_id, "Event")
        with self.db.read() as conn:
            found = repo.get_event(conn, tenant, parsed)
        if found is None:
            raise not_found("Event", event_id)
        return found

    def update(self, tenant: str, event_id: str | int, body: Any) -> Event:
        """Change the text or custom fragments (``null`` removes one)."""
        current = self.get(tenant, event_id)
        change = parse_change(body, current)
        fragments = merge_fragments(current.fragments, change.fragments)
        check_budget(fragments, self.fragment_budget, "an event")
        with self.db.write() as conn:
            return repo.change_event(
                conn, tenant, current, change.text, fragments, self.clock.now()
            )

    def delete(self, tenant: str, event_id: str | int) -> None:
        parsed = parse_id(event_id, "Event")
        with self.db.write() as conn:
            if not repo.delete_event(conn, tenant, parsed):
                raise not_found("Event", event_id)

    def delete_matching(self, tenant: str, flt: EventFilter) -> int:
        with self.db.write() as conn:
            return repo.delete_matching(conn, tenant, flt)

    def read_page(
        self,
        tenant: str,
        flt: EventFilter,
        *,
        page_size: int,
        current_page: int,
        oldest_first: bool,
        with_total: bool,
    ) -> PageRead[list[tuple[Event, str]]]:
        """One page of matching events, newest first unless ``oldest_first``, read in one
        transaction a run of bounded size at a time (``service.reading``)."""
        offset = (current_page - 1) * page_size
        return PageRead(
            self.db,
            event_table,
            tenant,
            limit=page_size,
            ids_of=lambda conn, limit: repo.page_ids(
                conn, tenant, flt, offset=offset, limit=limit, oldest_first=oldest_first
            ),
            count=(lambda conn: repo.count_events(conn, tenant, flt)) if with_total else None,
            read_run=lambda conn, run: repo.raw_events(conn, tenant, run),
        )

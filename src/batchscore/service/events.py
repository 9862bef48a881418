"""Event use cases, for the REST API and for code that records events from job results."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from batchscore.clock import Clock
from batchscore.domain.events import Event, NewEvent, parse_change, parse_event
from batchscore.service.documents import (
    DocumentPage,
    check_budget,
    merge_fragments,
    not_found,
    parse_id,
    require_source,
)
from batchscore.service.reading import needs_sizes, runs
from batchscore.store import events as repo
from batchscore.store.db import Database
from batchscore.store.documents import fragment_sizes
from batchscore.store.events import EventFilter
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

    def page(
        self,
        tenant: str,
        flt: EventFilter,
        *,
        page_size: int,
        current_page: int,
        oldest_first: bool,
        with_total: bool,
    ) -> DocumentPage:
        """The ids of one page of matching events, newest first unless ``oldest_first``."""
        offset = (current_page - 1) * page_size
        with self.db.read() as conn:
            ids = repo.page_ids(
                conn, tenant, flt, offset=offset, limit=page_size + 1, oldest_first=oldest_first
            )
            total = repo.count_events(conn, tenant, flt) if with_total else None
        return DocumentPage(ids[:page_size], len(ids) > page_size, total)

    def batches(self, tenant: str, ids: Sequence[int]) -> Iterator[list[tuple[Event, str]]]:
        """The events of ``ids`` in order, a run of bounded size at a time
        (``service.reading``), in one read transaction."""
        with self.db.read() as conn:
            sizes = fragment_sizes(conn, event_table, tenant, ids) if needs_sizes(ids) else None
            for run in runs(ids, sizes):
                yield repo.raw_events(conn, tenant, run)

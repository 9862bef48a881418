"""Cumulocity paging: ``pageSize``/``currentPage`` in, ``statistics`` and ``next``/``prev`` out;
collections rendered piece by piece, so a page of large documents is never whole in memory."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Query, Request
from fastapi.responses import Response, StreamingResponse

from batchscore.api.links import link_to

DEFAULT_PAGE_SIZE = 5
# Like Cumulocity, a larger pageSize is capped rather than refused, so clients written for it
# (which often ask for more) keep working; statistics.pageSize tells the size actually used.
MAX_PAGE_SIZE = 2000
# Every paged route refuses a page number past this: (page - 1) x size must stay a number every
# backend's OFFSET takes (a huge page number answered 500).
MAX_CURRENT_PAGE = 10_000_000


@dataclass(frozen=True, slots=True)
class Paging:
    size: int
    current: int
    with_total_pages: bool = False
    with_total_elements: bool = False

    @property
    def offset(self) -> int:
        return (self.current - 1) * self.size

    @property
    def with_total(self) -> bool:
        return self.with_total_pages or self.with_total_elements


def paging(
    pageSize: int = Query(DEFAULT_PAGE_SIZE, ge=1, description="At most 2000; larger is capped."),
    currentPage: int = Query(1, ge=1, le=MAX_CURRENT_PAGE),
    withTotalPages: bool = Query(False),
    withTotalElements: bool = Query(False),
) -> Paging:
    """The paging parameters of a Cumulocity collection request."""
    return Paging(min(pageSize, MAX_PAGE_SIZE), currentPage, withTotalPages, withTotalElements)


def _statistics(page: Paging, total: int | None) -> dict[str, Any]:
    statistics: dict[str, Any] = {"pageSize": page.size, "currentPage": page.current}
    if total is not None:
        if page.with_total_pages:
            statistics["totalPages"] = -(-total // page.size)
        if page.with_total_elements:
            statistics["totalElements"] = total
    return statistics


def _links(request: Request, page: Paging, has_more: bool) -> dict[str, str]:
    links: dict[str, str] = {}
    if has_more:
        links["next"] = link_to(request, currentPage=page.current + 1)
    if page.current > 1:
        links["prev"] = link_to(request, currentPage=page.current - 1)
    return links


def envelope(
    request: Request,
    key: str,
    items: list[Any],
    page: Paging,
    *,
    has_more: bool,
    total: int | None,
) -> dict[str, Any]:
    """The collection body: ``self``, the items under ``key``, ``statistics``, ``next``/``prev``."""
    out: dict[str, Any] = {"self": link_to(request), key: items}
    out["statistics"] = _statistics(page, total)
    out.update(_links(request, page, has_more))
    return out


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class PageFacts(Protocol):
    """What the end of a collection body tells: known once the page's first batch was read."""

    @property
    def has_more(self) -> bool: ...

    @property
    def total(self) -> int | None: ...


def streamed_envelope(
    request: Request,
    key: str,
    batches: Iterable[list[bytes]],
    page: Paging,
    facts: PageFacts,
    *,
    media_type: str = "application/json",
) -> Response:
    """The collection body of :func:`envelope`, its items rendered a batch (JSON-encoded items)
    at a time: one batch is answered at once, more are streamed as they are rendered, so memory
    holds about one batch, not the page."""
    pending = iter(batches)
    first = next(pending, [])
    second = next(pending, None)

    def body(runs: Iterable[list[bytes]]) -> Iterator[bytes]:
        yield b'{"self":' + _dumps(link_to(request)) + b"," + _dumps(key) + b":["
        started = False
        for batch in runs:
            if batch:
                yield (b"," if started else b"") + b",".join(batch)
                started = True
        tail = {
            "statistics": _statistics(page, facts.total),
            **_links(request, page, facts.has_more),
        }
        yield b"]," + _dumps(tail)[1:]

    if second is None:
        return Response(b"".join(body([first])), media_type=media_type)
    return StreamingResponse(body(itertools.chain([first, second], pending)), media_type=media_type)

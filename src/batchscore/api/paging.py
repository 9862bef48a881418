"""Cumulocity paging: ``pageSize``/``currentPage`` in, ``statistics`` and ``next``/``prev`` out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Query, Request

from batchscore.api.links import link_to

DEFAULT_PAGE_SIZE = 5
# Like Cumulocity, a larger pageSize is capped rather than refused, so clients written for it
# (which often ask for more) keep working; statistics.pageSize tells the size actually used.
MAX_PAGE_SIZE = 2000


@dataclass(frozen=True, slots=True)
class Paging:
    size: int
    current: int
    with_total: bool

    @property
    def offset(self) -> int:
        return (self.current - 1) * self.size


def paging(
    pageSize: int = Query(DEFAULT_PAGE_SIZE, ge=1, description="At most 2000; larger is capped."),
    currentPage: int = Query(1, ge=1, le=10_000_000),
    withTotalPages: bool = Query(False),
) -> Paging:
    """The paging parameters of a Cumulocity collection request."""
    return Paging(min(pageSize, MAX_PAGE_SIZE), currentPage, withTotalPages)


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
    statistics: dict[str, Any] = {"pageSize": page.size, "currentPage": page.current}
    if total is not None:
        statistics["totalPages"] = -(-total // page.size)
    out: dict[str, Any] = {"self": link_to(request), key: items, "statistics": statistics}
    if has_more:
        out["next"] = link_to(request, currentPage=page.current + 1)
    if page.current > 1:
        out["prev"] = link_to(request, currentPage=page.current - 1)
    return out

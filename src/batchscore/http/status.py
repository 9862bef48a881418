"""The HTTP status of each kind of error, in one table (the API's JSON answers and the
console's HTML pages both answer with it)."""

from __future__ import annotations

from batchscore.errors import (
    BatchscoreError,
    Conflict,
    Forbidden,
    Invalid,
    MalformedRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    SourceError,
    StorageFull,
    StoreUnavailable,
    Unauthorized,
)

STATUS: list[tuple[type[BatchscoreError], int]] = [
    (Unauthorized, 401),
    (Forbidden, 403),
    (RateLimited, 429),
    (NotFound, 404),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (MalformedRequest, 400),
    (Invalid, 400),
    (StorageFull, 507),
    (StoreUnavailable, 503),
    (SourceError, 502),
]


def status_of(exc: BatchscoreError) -> int:
    """The HTTP status answering ``exc`` (500 for what is not the client's doing)."""
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500

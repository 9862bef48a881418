"""The one exception hierarchy of batchscore.

Every error the service raises on purpose derives from :class:`BatchscoreError`. The API maps
each subclass to an HTTP answer in one place (``api/errors.py``); the messages are written for
the user and never carry internals.
"""

from __future__ import annotations

from collections.abc import Iterable


class BatchscoreError(Exception):
    """Something went wrong in batchscore."""

    def __init__(self, *messages: str) -> None:
        text = messages or ((self.__doc__ or type(self).__name__).strip(),)
        super().__init__(*text)
        self.messages: tuple[str, ...] = tuple(text)

    def __str__(self) -> str:
        return " ".join(self.messages)


class FieldMessage(str):
    """A message about one field of a request: the text exactly as the API shows it, plus the
    field it concerns (``field``, the API's name; ``item`` names one entry of a mapping field),
    so a form places it by field without reading the text."""

    field: str
    item: str | None

    def __new__(cls, field: str, text: str, item: str | None = None) -> FieldMessage:
        message = super().__new__(cls, text)
        message.field = field
        message.item = item
        return message


def field_of(message: str) -> tuple[str, str | None]:
    """``(field, item)`` of a message, ``("", None)`` for one about the request as a whole."""
    if isinstance(message, FieldMessage):
        return message.field, message.item
    return "", None


class Invalid(BatchscoreError):
    """The request is invalid."""

    @classmethod
    def collect(cls, messages: Iterable[str]) -> Invalid:
        return cls(*messages)


class NotFound(BatchscoreError):
    """The requested resource does not exist."""


class Conflict(BatchscoreError):
    """The resource already exists."""


class AlreadyExists(Conflict):
    """Something with the same key already exists (the store's unique constraints say so)."""


class PayloadTooLarge(BatchscoreError):
    """The request body is too large."""


class Unauthorized(BatchscoreError):
    """Not authorized!"""


class Forbidden(BatchscoreError):
    """Access is denied."""


class RateLimited(BatchscoreError):
    """Too many failed login attempts."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed login attempts; try again later.")
        self.retry_after = retry_after


class ModelError(Invalid):
    """The model cannot be read or is not supported."""


class CronError(Invalid):
    """The cron expression is invalid."""


class SourceError(BatchscoreError):
    """The measurement source could not be read."""


class StoreUnavailable(BatchscoreError):
    """The database is not reachable."""


class StorageFull(BatchscoreError):
    """The database has no room left to store this."""


class MalformedRequest(Invalid):
    """The request body could not be read."""


class StartupError(BatchscoreError):
    """The service cannot start."""


def first_line(exc: BaseException) -> str:
    """The first line of what ``exc`` says (of the driver's own error when a database driver
    error is wrapped), at most 300 characters: for one-line startup messages."""
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return (lines[0] if lines else type(cause).__name__)[:300]

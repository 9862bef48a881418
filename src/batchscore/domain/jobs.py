"""Jobs and executions as the service sees them: frozen values, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from batchscore.domain.actions import Rule, WriteBack


class Frequency(enum.StrEnum):
    ONCE = "once"
    PERIODIC = "periodic"


class MisfirePolicy(enum.StrEnum):
    """What a periodic job does about instants it missed by more than the misfire threshold."""

    FIRE_ONCE_NOW = "fireOnceNow"
    DO_NOTHING = "doNothing"


class ExecutionStatus(enum.StrEnum):
    RUNNING = "Running"
    SUCCESS = "Success"
    WARNING = "Warning"
    FAILURE = "Failure"

    @property
    def finished(self) -> bool:
        return self is not ExecutionStatus.RUNNING


# The seven schedule fields of the seed, in its order; unsent ones are echoed as null.
SCHEDULE_FIELDS = (
    "frequency",
    "cronExpression",
    "timeZone",
    "dataFromPreviousNSeconds",
    "scheduleAt",
    "dataFrom",
    "dataTo",
)
# Additive fields, echoed only when the client sent them.
EXTRA_SCHEDULE_FIELDS = ("misfirePolicy", "dstPolicy")


@dataclass(frozen=True, slots=True)
class JobSchedule:
    """A validated schedule. ``sent`` keeps the JSON fields as the client sent them, for echo."""

    frequency: Frequency
    cron_expression: str | None = None
    time_zone: str | None = None
    window_seconds: int | None = None
    schedule_at: datetime | None = None
    data_from: datetime | None = None
    data_to: datetime | None = None
    misfire_policy: MisfirePolicy = MisfirePolicy.FIRE_ONCE_NOW
    dst_policy: str = "fireAfterGap"
    sent: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job as requested, validated for form; references are checked by the service."""

    name: str
    description: str
    model_name: str
    target_id: int
    mappings: dict[str, str]  # canonical: model input -> "fragment.series.value"
    mappings_sent: dict[str, str]
    schedule: JobSchedule
    actions: tuple[Rule, ...] = ()
    write_back: WriteBack | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """A stored job. ``schedule`` is the jobSchedule object as echoed to clients."""

    id: int
    tenant: str
    created_at: datetime
    name: str
    description: str
    model_name: str
    target_id: int
    mappings: dict[str, str]
    mappings_sent: dict[str, str]
    schedule: dict[str, Any]
    next_fire_at: datetime | None
    last_status: ExecutionStatus | None
    last_duration_ms: int | None
    actions: tuple[Rule, ...] = ()
    write_back: WriteBack | None = None
    paused: bool | None = None  # None until paused once (design §2.8)
    version: int = 0  # bumped by every edit, pause and resume


@dataclass(frozen=True, slots=True)
class ExecutionDefinition:
    """What an execution ran with: the model's name and sha256 and the canonical mappings."""

    model_name: str
    model_sha256: str
    mappings: dict[str, str]


BACKFILL_NOTE = "Backfill of {instant}."
"""The first message of an execution a backfill created."""


CATCH_UP_NOTE = (
    "Fire times from {first} until {latest} were missed while the job was paused; "
    "fired once for the latest on resume."
)
"""The message of the one catch-up execution of a resumed job (``fireOnceNow``)."""


def is_catch_up_note(message: str) -> bool:
    return message.endswith(CATCH_UP_NOTE[CATCH_UP_NOTE.index(" were missed") :])


def is_backfill_note(message: str) -> bool:
    """Whether ``message`` is the note a backfill puts first (not a cause for a Warning)."""
    return message.startswith("Backfill of ") and message.endswith(".")


@dataclass(frozen=True, slots=True)
class Execution:
    """One run of a job for one scheduled instant."""

    id: int
    job_id: int
    number: int
    scheduled_at: datetime
    is_group: bool
    status: ExecutionStatus
    messages: tuple[str, ...]
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: int | None
    record_count: int = 0
    window_from: datetime | None = None  # the scored window [from, to)
    window_to: datetime | None = None
    definition: ExecutionDefinition | None = None  # None before 0008 or when none was resolved
    backfill_id: int | None = None


@dataclass(frozen=True, slots=True)
class MeasurementPath:
    """A ``fragment.series.value`` path naming one measurement series."""

    fragment: str
    series: str

    @classmethod
    def parse(cls, text: str) -> MeasurementPath | None:
        parts = text.split(".")
        if len(parts) != 3 or parts[2] != "value" or not parts[0] or not parts[1]:
            return None
        if any(p != p.strip() for p in parts[:2]):
            return None
        return cls(parts[0], parts[1])

    def __str__(self) -> str:
        return f"{self.fragment}.{self.series}.value"


JobStamp = tuple[Any, str | None, int | None]
"""What can change in a job's public form: its creation time (ids can be reused on SQLite) with
its version (edits, pause, resume), last status and last duration."""

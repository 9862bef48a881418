"""What an execution's results ask for (design §2.9): the scored pieces of each device are
tallied against the job's rules as they stream past, and become outbox effects when the
execution finishes — one per (device, rule, target), plus one write-back per device that names
the device's rows in the execution's stored inferences (the chunk writer numbers records in the
order the pieces arrive, as the tally does).

Pure apart from numpy: the executor feeds pieces in, the lifecycle writes the effects out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from batchscore.domain.actions import Comparison, Rule, Target, TargetKind, WriteBack
from batchscore.domain.timefmt import format_instant, format_instant_ns

WRITE_BACK_RULE = "writeBack"


@dataclass(frozen=True, slots=True)
class NewEffect:
    """One effect to deliver: what (``kind``: alarm, clear, event, webhook, measurements),
    for whom, and everything its delivery needs (``payload``), keyed by (execution, device,
    rule, target)."""

    device: int
    rule: str
    target: int
    kind: str
    payload: dict[str, Any]


@dataclass
class _DeviceTally:
    total: int = 0
    counts: list[int] = field(default_factory=list)
    first: list[int | None] = field(default_factory=list)
    last: list[int | None] = field(default_factory=list)
    row_start: int = 0  # the device's records in the execution's stored inferences
    row_end: int = 0


def matching(rule: Rule, column: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Which values of an output column meet the rule's test (missing ones never do)."""
    if column.dtype.kind in "fiub":
        if rule.test is Comparison.EQUALS:
            wanted = rule.value
            if isinstance(wanted, str):
                return np.zeros(len(column), dtype=np.bool_)
            with np.errstate(invalid="ignore"):
                return np.asarray(column == wanted, dtype=np.bool_)
        assert isinstance(rule.value, int | float)
        with np.errstate(invalid="ignore"):
            if rule.test is Comparison.GREATER_THAN:
                return np.asarray(column > rule.value, dtype=np.bool_)
            return np.asarray(column < rule.value, dtype=np.bool_)
    hits = (rule.matches(v) for v in column.tolist())
    return np.fromiter(hits, dtype=np.bool_, count=len(column))


class EffectTally:
    """Tallies one execution's scored pieces against ``rules`` and keeps ``write_back``'s
    outputs, device by device."""

    def __init__(self, rules: tuple[Rule, ...], write_back: WriteBack | None) -> None:
        self.rules = rules
        self.write_back = write_back
        self._devices: dict[int, _DeviceTally] = {}
        self._rows = 0  # records tallied so far: the row numbers the chunk writer gives them

    @property
    def active(self) -> bool:
        return bool(self.rules or self.write_back)

    def add(self, device: int, times_ns: npt.NDArray[np.int64], outputs: dict[str, Any]) -> None:
        """Tally one device's scored records (in time order)."""
        if not len(times_ns):
            return
        tally = self._devices.get(device)
        if tally is None:
            n = len(self.rules)
            tally = self._devices[device] = _DeviceTally(
                counts=[0] * n, first=[None] * n, last=[None] * n, row_start=self._rows
            )
        tally.total += len(times_ns)
        self._rows += len(times_ns)
        tally.row_end = self._rows
        for index, rule in enumerate(self.rules):
            column = outputs.get(rule.output)
            if column is None:
                continue
            hits = np.flatnonzero(matching(rule, np.asarray(column)))
            if not len(hits):
                continue
            tally.counts[index] += len(hits)
            if tally.first[index] is None:
                tally.first[index] = int(times_ns[hits[0]])
            tally.last[index] = int(times_ns[hits[-1]])

    def effects(
        self,
        *,
        job_id: int,
        job_name: str,
        number: int,
        window_from: datetime | None,
        window_to: datetime | None,
    ) -> list[NewEffect]:
        """The effects of every tallied device, in device order."""
        out: list[NewEffect] = []
        for device in sorted(self._devices):
            tally = self._devices[device]
            for index, rule in enumerate(self.rules):
                count = tally.counts[index]
                fields = {
                    "count": count,
                    "share": round(count / tally.total, 4) if tally.total else 0,
                    "deviceId": device,
                    "jobId": job_id,
                    "jobName": job_name,
                    "jobExecutionNumber": number,
                    "windowFrom": format_instant(window_from) if window_from else None,
                    "windowTo": format_instant(window_to) if window_to else None,
                    "firstTime": _time(tally.first[index]),
                    "lastTime": _time(tally.last[index]),
                    "records": tally.total,
                }
                if rule.met(count, tally.total):
                    for t_index, target in enumerate(rule.targets):
                        out.append(_raise(device, rule, t_index, target, fields))
                elif rule.clear_when_normal:
                    for t_index, target in enumerate(rule.targets):
                        if target.kind is TargetKind.ALARM:
                            payload = {"type": target.type, "fields": fields}
                            out.append(NewEffect(device, rule.name, t_index, "clear", payload))
            if self.write_back is not None:
                # the values are not copied: delivery reads them from the stored inferences
                back: dict[str, Any] = {
                    "fragment": self.write_back.fragment,
                    "outputs": [list(pair) for pair in self.write_back.outputs],
                    "rows": [tally.row_start, tally.row_end],
                }
                out.append(NewEffect(device, WRITE_BACK_RULE, 0, "measurements", back))
        return out


def _raise(
    device: int, rule: Rule, index: int, target: Target, fields: dict[str, Any]
) -> NewEffect:
    payload: dict[str, Any] = {"fields": fields}
    if target.kind is TargetKind.WEBHOOK:
        payload.update(url=target.url, secret=target.secret)
    else:
        payload.update(type=target.type, text=target.text)
        if target.kind is TargetKind.ALARM:
            payload["severity"] = target.severity.value
    return NewEffect(device, rule.name, index, target.kind.value, payload)


def _time(ns: int | None) -> str | None:
    return None if ns is None else format_instant_ns(ns)

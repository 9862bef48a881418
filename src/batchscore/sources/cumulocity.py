"""The Cumulocity MeasurementSource: a tenant's REST API read over HTTP (design §2.5).

Inventory ``childAssets`` give group membership (nested groups included);
``/measurement/measurements`` gives the data, one pass per fragment and chunk, every page.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import httpx
import numpy as np
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from batchscore.domain.documents import object_id
from batchscore.domain.jobs import MeasurementPath
from batchscore.domain.measurements import format_time, to_ns
from batchscore.domain.timefmt import parse_instant
from batchscore.errors import NotFound, SourceError
from batchscore.sources.cumulocity_http import CumulocityClient, RetryPolicy
from batchscore.sources.cumulocity_writer import CumulocityWriter
from batchscore.sources.source import Series, SeriesChunk, read_chunks

MAX_DEPTH = 64  # as deep as the embedded inventory walks


class CumulocitySettings(BaseSettings):
    """Where the tenant is and who reads it, from the variables Cumulocity gives microservices
    (``C8Y_BASEURL``, ``C8Y_TENANT``, ``C8Y_USER``, ``C8Y_PASSWORD``); tuning knobs from
    ``BATCHSCORE_C8Y_*``."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    c8y_baseurl: str = Field(description="The tenant's URL, e.g. https://acme.cumulocity.com.")
    c8y_tenant: str | None = Field(default=None, description="Tenant id; logs in as tenant/user.")
    c8y_user: str = Field(description="User with inventory and measurement read roles.")
    c8y_password: SecretStr = Field(description="That user's password.")
    c8y_timeout_s: float = Field(
        default=30.0,
        gt=0,
        validation_alias="BATCHSCORE_C8Y_TIMEOUT_S",
        description="Seconds one request may take.",
    )
    c8y_attempts: int = Field(
        default=5,
        ge=1,
        le=20,
        validation_alias="BATCHSCORE_C8Y_ATTEMPTS",
        description="Tries per request on 429, 5xx, timeouts and network errors.",
    )
    c8y_backoff_s: float = Field(
        default=0.5,
        ge=0,
        validation_alias="BATCHSCORE_C8Y_BACKOFF_S",
        description="First retry delay; doubles per retry (capped at 30 s).",
    )

    @classmethod
    def from_env(cls) -> CumulocitySettings:
        """Read the environment; a missing or invalid variable is a ``SourceError``."""
        try:
            return cls()
        except ValidationError as exc:
            names = sorted({str(e["loc"][0]).upper() for e in exc.errors() if e["loc"]})
            raise SourceError(
                "The Cumulocity source needs C8Y_BASEURL, C8Y_USER and C8Y_PASSWORD "
                f"(missing or invalid: {', '.join(names)})."
            ) from None


class CumulocitySource:
    """Reads windows and group membership from a Cumulocity tenant.

    The connector is bound to the tenant of its credentials: the ``tenant`` argument of the
    port names batchscore's own tenant and is not sent.
    """

    def __init__(self, client: CumulocityClient) -> None:
        self.client = client

    @classmethod
    def from_settings(
        cls, settings: CumulocitySettings, *, transport: httpx.BaseTransport | None = None
    ) -> CumulocitySource:
        return cls(
            CumulocityClient(
                settings.c8y_baseurl,
                settings.c8y_tenant,
                settings.c8y_user,
                settings.c8y_password.get_secret_value(),
                timeout_s=settings.c8y_timeout_s,
                retry=RetryPolicy(attempts=settings.c8y_attempts, backoff_s=settings.c8y_backoff_s),
                transport=transport,
            )
        )

    def close(self) -> None:
        self.client.close()

    def writer(self) -> CumulocityWriter:
        """Writes into the same tenant through the same client (a ``PlatformWriter``)."""
        return CumulocityWriter(self.client)

    def __enter__(self) -> CumulocitySource:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def read(
        self,
        tenant: str,
        device_id: int,
        paths: Sequence[MeasurementPath],
        start: datetime,
        end: datetime,
        chunk: timedelta | None = None,
    ) -> Iterator[SeriesChunk]:
        wanted = list(dict.fromkeys(paths))
        by_fragment: dict[str, list[MeasurementPath]] = defaultdict(list)
        for path in wanted:
            by_fragment[path.fragment].append(path)

        def read(lo: datetime, hi: datetime) -> dict[MeasurementPath, Series]:
            columns = {path: _Column() for path in wanted}
            if lo < hi:
                for fragment, fragment_paths in by_fragment.items():
                    self._read_fragment(device_id, fragment, fragment_paths, lo, hi, columns)
            return {path: columns[path].series() for path in wanted}

        def first(lo: datetime, hi: datetime) -> int | None:
            times = [self._first_time(device_id, fragment, lo, hi) for fragment in by_fragment]
            return min((t for t in times if t is not None), default=None)

        return read_chunks(start, end, chunk, read, first)

    def _first_time(self, device_id: int, fragment: str, lo: datetime, hi: datetime) -> int | None:
        """The time of the device's first measurement of ``fragment`` in ``[lo, hi)``: one
        single-item page, oldest first."""
        params: dict[str, str | int] = {
            **self._window(device_id, fragment, lo, hi),
            "pageSize": 1,
            "currentPage": 1,
        }
        found = self.client.get_json("/measurement/measurements", params).get("measurements")
        if isinstance(found, list) and found and isinstance(found[0], dict):
            return self._time_ns(found[0].get("time"))
        return None

    def _read_fragment(
        self,
        device_id: int,
        fragment: str,
        paths: list[MeasurementPath],
        lo: datetime,
        hi: datetime,
        columns: dict[MeasurementPath, _Column],
    ) -> None:
        params = self._window(device_id, fragment, lo, hi)
        if len(paths) == 1:
            params["valueFragmentSeries"] = paths[0].series
        lo_ns, hi_ns = to_ns(lo), to_ns(hi)
        pages = self.client.pages_by_time(
            "/measurement/measurements", "measurements", params, self._document_ns
        )
        for page in pages:
            for measurement in page:
                values = measurement.get(fragment)
                if not isinstance(values, dict):
                    continue
                time_ns = self._time_ns(measurement.get("time"))
                # Half-open [lo, hi) whatever the server's dateTo convention.
                if not lo_ns <= time_ns < hi_ns:
                    continue
                for path in paths:
                    value = _number(values.get(path.series))
                    if value is not None:
                        columns[path].add(time_ns, value)

    @staticmethod
    def _window(device_id: int, fragment: str, lo: datetime, hi: datetime) -> dict[str, str | int]:
        """The query of one fragment of one device's measurements in ``[lo, hi)``, oldest first."""
        return {
            "source": str(device_id),
            "dateFrom": format_time(to_ns(lo)),
            "dateTo": format_time(to_ns(hi)),
            "valueFragmentType": fragment,
            "revert": "false",
        }

    def _document_ns(self, document: dict[str, Any]) -> int:
        return self._time_ns(document.get("time"))

    def _time_ns(self, text: Any) -> int:
        try:
            return to_ns(parse_instant(text))
        except (ValueError, TypeError):
            raise SourceError(
                f"Cumulocity at {self.client.base_url} sent a measurement whose time "
                f"{str(text)[:40]!r} is not ISO-8601 with an offset."
            ) from None

    def devices_below(self, tenant: str, target_id: int) -> list[int]:
        target = self._object(target_id)
        if "c8y_IsDeviceGroup" not in target:
            return [target_id]
        devices: set[int] = set()
        seen = {target_id}
        frontier = [target_id]
        for _ in range(MAX_DEPTH):
            below: list[int] = []
            for group in frontier:
                for child_id, child in self._children(group):
                    if child_id in seen:
                        continue
                    seen.add(child_id)
                    if "c8y_IsDevice" not in child and "c8y_IsDeviceGroup" not in child:
                        # References may carry only id and name; the object says what it is.
                        child = self._object(child_id, missing_ok=True)
                    if "c8y_IsDevice" in child:
                        devices.add(child_id)
                    elif child:
                        below.append(child_id)
            frontier = below
            if not frontier:
                break
        return sorted(devices)

    def _object(self, object_id: int, *, missing_ok: bool = False) -> dict[str, Any]:
        def not_found() -> NotFound:
            return NotFound(f"Managed object with id '{object_id}' not found.")

        try:
            return self.client.get_json(
                f"/inventory/managedObjects/{object_id}", not_found=not_found
            )
        except NotFound:
            if missing_ok:  # removed while we walked the group: nothing to score below it
                return {}
            raise

    def _children(self, group_id: int) -> Iterator[tuple[int, dict[str, Any]]]:
        path = f"/inventory/managedObjects/{group_id}/childAssets"
        for page in self.client.pages(path, "references", {}):
            for reference in page:
                child = reference.get("managedObject")
                child_id = _object_id(child.get("id") if isinstance(child, dict) else None)
                if child_id is None or not isinstance(child, dict):
                    raise SourceError(
                        f"Cumulocity at {self.client.base_url} listed a child asset of "
                        f"{group_id} without a numeric managed object id."
                    )
                yield child_id, child


class _Column:
    """Values of one series as they arrive; sorted and de-duplicated once at the end."""

    __slots__ = ("times", "values")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.values: list[float] = []

    def add(self, time_ns: int, value: float) -> None:
        self.times.append(time_ns)
        self.values.append(value)

    def series(self) -> Series:
        times = np.array(self.times, dtype=np.int64)
        values = np.array(self.values, dtype=np.float64)
        order = np.argsort(times, kind="stable")
        times, values = times[order], values[order]
        # Measurements of different types may repeat an instant; the first one counts, as in
        # the embedded store, which keeps the first value stored per instant.
        first = np.ones(len(times), dtype=bool)
        first[1:] = times[1:] != times[:-1]
        return Series(np.ascontiguousarray(times[first]), np.ascontiguousarray(values[first]))


def _number(entry: Any) -> float | None:
    raw = entry.get("value") if isinstance(entry, dict) else None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    try:
        value = float(raw)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _object_id(raw: Any) -> int | None:
    """The id in a managed object reference of the tenant's JSON (a string, or a number)."""
    return object_id(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else None

"""The HTTP seam to a Cumulocity tenant: Basic auth, retries with backoff, paging, writes, and
every failure translated into one ``SourceError`` sentence (or ``NotFound`` where the caller
asks, ``Invalid`` where the tenant refused a document)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from batchscore.errors import BatchscoreError, Invalid, SourceError

PAGE_SIZE = 2000  # Cumulocity's largest page
_MESSAGE_CHARS = 160


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a failed GET (429, 5xx, network error, timeout) is retried."""

    attempts: int = 5
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0

    def delay(self, retry: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based): the server's ``Retry-After``
        when it sent one, else exponential backoff with jitter; never above ``max_backoff_s``."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff_s)
        ceiling = min(self.backoff_s * 2.0**retry, self.max_backoff_s)
        # Half fixed, half random, so clients failing together do not retry in lockstep.
        return ceiling / 2 + random.uniform(0.0, ceiling / 2)


class CumulocityClient:
    """Reads and writes JSON of one tenant's REST API; one pooled connection set, safe across
    threads."""

    def __init__(
        self,
        base_url: str,
        tenant: str | None,
        user: str,
        password: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        base = base_url.strip().rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise SourceError(f"C8Y_BASEURL must be an http:// or https:// URL, not {base[:80]!r}.")
        self.base_url = base
        self.login = f"{tenant}/{user}" if tenant else user
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base,
            auth=httpx.BasicAuth(self.login, password),
            timeout=timeout_s,
            headers={"Accept": "application/json"},
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def get_json(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        not_found: Callable[[], BatchscoreError] | None = None,
    ) -> dict[str, Any]:
        """The JSON object at ``path``. Retries 429/5xx/network failures per the policy; a 404
        raises ``not_found()`` when given; anything else that fails raises ``SourceError``."""
        response = self._request("GET", path, params, None, not_found)
        return self._json_object(response, path)

    def send_json(
        self,
        method: str,
        path: str,
        body: Any,
        params: Mapping[str, str | int] | None = None,
        *,
        media_type: str = "application/json",
        not_found: Callable[[], BatchscoreError] | None = None,
    ) -> dict[str, Any]:
        """POST or PUT ``body`` as JSON; the JSON object answered (``{}`` for none). A write is
        repeated only when the tenant surely did not take it: 429 Too Many Requests, 503 Service
        Unavailable, or no connection made; other failures raise at once (``SourceError``, or
        ``Invalid`` with the tenant's message for a 422)."""
        content = json.dumps(body, allow_nan=False, ensure_ascii=False).encode()
        headers = {"Content-Type": media_type}
        response = self._request(method, path, params, (content, headers), not_found)
        if not response.content:
            return {}
        return self._json_object(response, path)

    def delete(self, path: str, params: Mapping[str, str | int] | None = None) -> None:
        """DELETE ``path`` (retried as a write is)."""
        self._request("DELETE", path, params, (b"", {}), None)

    def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        payload: tuple[bytes, dict[str, str]] | None,
        not_found: Callable[[], BatchscoreError] | None,
    ) -> httpx.Response:
        write = payload is not None
        failure = ""
        attempts = max(self.retry.attempts, 1)
        for attempt in range(attempts):
            retry_after: float | None = None
            try:
                response = self._http.request(
                    method,
                    path,
                    params=dict(params or {}),
                    content=payload[0] if payload else None,
                    headers=payload[1] if payload else None,
                )
            except httpx.ConnectError as exc:
                failure = f"could not be reached ({_transport_reason(exc)})"
            except httpx.TimeoutException:
                failure = f"did not answer {method} {path} within {self.timeout_s:g} s"
                if write:  # it may have taken the write: never send it twice
                    break
            except httpx.TransportError as exc:
                failure = f"could not be reached ({_transport_reason(exc)})"
                if write:
                    break
            else:
                status = response.status_code
                if status < 400:
                    return response
                retryable = status in (429, 503) if write else (status == 429 or status >= 500)
                if not retryable:
                    raise self._refused(response, method, path, not_found)
                failure = (
                    f"answered {method} {path} with {status} {response.reason_phrase}".rstrip()
                )
                retry_after = _retry_after(response)
            if attempt + 1 < attempts:
                self._sleep(self.retry.delay(attempt, retry_after))
        tries = "once" if attempts == 1 else f"{attempts} times"
        raise SourceError(f"Cumulocity at {self.base_url} {failure} (tried {tries}).")

    def pages(
        self, path: str, key: str, params: Mapping[str, str | int]
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of a Cumulocity collection (``pageSize`` 2000), following ``currentPage``
        until a short page or a page without ``next``."""
        current = 1
        while True:
            body, items = self._page(path, key, {**params, "currentPage": current})
            yield items
            if not _more(body, items):
                return
            current += 1

    def pages_by_time(
        self,
        path: str,
        key: str,
        params: Mapping[str, str | int],
        time_of: Callable[[dict[str, Any]], int],
    ) -> Iterator[list[dict[str, Any]]]:
        """Every document of a collection ordered by time, oldest first (``dateFrom`` in
        ``params``), a page at a time: after a full page the next one asks from that page's
        last time on (``dateFrom`` is inclusive) and leaves out the documents of that instant
        already read, by id. Page *n* of ``currentPage`` makes the server skip (n-1) pages
        first, so a long window costs the square of its pages; this costs each page once.
        ``currentPage`` is followed only through pages all of one instant (the server keeps the
        documents of an instant in one order), or documents without ids. ``time_of`` gives a
        document's time (epoch ns)."""
        query = dict(params)
        current, seen, from_ns = 1, set[str](), None
        while True:
            body, items = self._page(path, key, {**query, "currentPage": current})
            yield [i for i in items if str(i.get("id")) not in seen] if seen else items
            if not _more(body, items):
                return
            last = items[-1]
            if not isinstance(last.get("time"), str) or any(i.get("id") is None for i in items):
                current += 1  # nothing to go on by time and id: plain paging
                continue
            last_ns = time_of(last)
            at_last = _ids_at_end(items, last_ns, time_of)
            if len(at_last) < len(items):
                query["dateFrom"], from_ns, current, seen = last["time"], last_ns, 1, at_last
            elif last_ns == from_ns:
                current += 1  # a page all of the instant it asked from: page through it
                seen |= at_last
            else:  # a page all of one later instant: its first page from that instant on
                query["dateFrom"], from_ns, current, seen = last["time"], last_ns, 2, at_last

    def _page(
        self, path: str, key: str, params: Mapping[str, str | int]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        body = self.get_json(path, {**params, "pageSize": PAGE_SIZE})
        items = body.get(key)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise SourceError(
                f"Cumulocity at {self.base_url} answered GET {path} without a {key!r} list."
            )
        return body, items

    def _json_object(self, response: httpx.Response, path: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise SourceError(
                f"Cumulocity at {self.base_url} answered GET {path} with something that is "
                "not a JSON object."
            )
        return body

    def _refused(
        self,
        response: httpx.Response,
        method: str,
        path: str,
        not_found: Callable[[], BatchscoreError] | None,
    ) -> BatchscoreError:
        status = response.status_code
        where = f"Cumulocity at {self.base_url}"
        if status == 401:
            return SourceError(
                f"{where} rejected the credentials of {self.login!r} (401 Unauthorized); "
                "check C8Y_TENANT, C8Y_USER and C8Y_PASSWORD."
            )
        if status == 403:
            roles = "read" if method == "GET" else "admin"
            return SourceError(
                f"{where} does not let {self.login!r} {method} {path} (403 Forbidden); the user "
                f"needs the inventory, measurement, alarm and event {roles} roles."
            )
        if status == 404:
            if not_found is not None:
                return not_found()
            return SourceError(f"{where} has no {path} (404 Not Found); check C8Y_BASEURL.")
        detail = _server_message(response)
        if status == 422 and method != "GET":  # a document it refused, not a broken read
            return Invalid(f"{where} refused {method} {path}{detail or ' (422)'}.")
        return SourceError(f"{where} refused {method} {path} with {status}{detail}.")


def _retry_after(response: httpx.Response) -> float | None:
    text = response.headers.get("Retry-After", "").strip()
    try:
        return float(text) if text else None
    except ValueError:  # an HTTP date: fall back to our own backoff
        return None


def _transport_reason(exc: httpx.TransportError) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
        return "host not found"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server closed the connection"
    return "network error"


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message.strip():
        return ""
    text = " ".join(message.split())[:_MESSAGE_CHARS].rstrip(" .")
    return f": {text}"


def _ids_at_end(
    items: list[dict[str, Any]], at_ns: int, time_of: Callable[[dict[str, Any]], int]
) -> set[str]:
    """The ids of the documents at the end of a page (ordered by time) whose time is ``at_ns``."""
    found: set[str] = set()
    for item in reversed(items):
        if time_of(item) != at_ns:
            break
        found.add(str(item["id"]))
    return found


def _more(body: dict[str, Any], items: list[dict[str, Any]]) -> bool:
    """Whether a page says more follow: full (of the ``pageSize`` the server used) and linked
    to a next one. Real Cumulocity always links a next page; the short page ends the walk."""
    statistics = body.get("statistics")
    size = statistics.get("pageSize") if isinstance(statistics, dict) else None
    full = len(items) >= (size if isinstance(size, int) and size > 0 else PAGE_SIZE)
    return bool(items) and full and "next" in body

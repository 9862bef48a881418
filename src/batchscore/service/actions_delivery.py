"""The delivery loop of the action outbox (design §2.9): claims due effects under a lease and
delivers each with its idempotency key, until delivered or given up.

- Into the embedded store, an effect and its delivered mark commit in one transaction: a crash
  anywhere delivers it once.
- To a Cumulocity tenant or a webhook, the call comes first and the mark after it; a crash
  between the two delivers it again after the lease, with the same ``X-Batchscore-Delivery`` key
  (webhooks) or ``bs_Action.delivery`` fragment (events), so the receiver can tell.

Failures are retried with exponential backoff (5 s doubling, at most an hour apart) for up to
``give_up_after`` (24 h); a refused effect (its device is gone, its URL is not allowed) fails
at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from batchscore import metrics
from batchscore.backoff import Backoff
from batchscore.clock import Clock
from batchscore.domain.actions import WebhookPolicy, is_public_address
from batchscore.errors import Invalid, NotFound
from batchscore.execution.codec import Chunk, decode_chunk
from batchscore.service.actions_writers import StoreWriter, apply_effect, template_fields
from batchscore.sources.writer import PlatformWriter
from batchscore.store import inferences as inferences_repo
from batchscore.store import inventory as inventory_repo
from batchscore.store import outbox as repo
from batchscore.store.db import Database
from batchscore.store.outbox import StoredEffect

log = logging.getLogger(__name__)

SIGNATURE = "X-Batchscore-Signature"
DELIVERY = "X-Batchscore-Delivery"
FIRST_RETRY_S = 5.0
MAX_RETRY_S = 3600.0


class Refused(Exception):
    """The effect can never be delivered (retrying would not help)."""


class _Lost(Exception):
    """The effect's lease was lost meanwhile; roll back and leave it to its holder."""


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body with secret>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones."""
    return float(min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** max(attempts - 1, 0)))


class ActionDelivery:
    """Delivers the outbox's effects as instance ``owner``. ``remote`` is the Cumulocity tenant
    writer when jobs read from one (``BATCHSCORE_SOURCE=cumulocity``); else the embedded store."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        owner: str,
        *,
        remote: PlatformWriter | None = None,
        webhooks: WebhookPolicy | None = None,
        timeout_s: float = 10.0,
        lease: timedelta = timedelta(seconds=60),
        batch: int = 100,
        give_up_after: timedelta = timedelta(hours=24),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.owner = owner
        self.remote = remote
        self.webhooks = webhooks or WebhookPolicy()
        self.lease = lease
        self.batch = batch
        self.give_up_after = give_up_after
        self.http = httpx.Client(
            timeout=httpx.Timeout(timeout_s), follow_redirects=False, transport=transport
        )

    def close(self) -> None:
        self.http.close()

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Deliver until ``stop`` is set; a full batch is followed by the next at once."""
        backoff = Backoff("delivering job actions", log)
        while not stop.is_set():
            try:
                done = self.tick(stop)
            except Exception as exc:
                if stop.wait(backoff.failed(exc)):
                    return
                continue
            backoff.succeeded()
            if done < self.batch and stop.wait(interval):
                return

    def tick(self, stop: threading.Event | None = None) -> int:
        """Claim and deliver one batch of due effects; how many were claimed. Effects not yet
        tried when ``stop`` is set or half the lease has passed are given back at once, so a
        slow batch is never delivered a second time by another instance meanwhile."""
        now = self.clock.now()
        with self.db.read() as conn:  # most ticks find nothing: no write lock for them
            if not repo.any_due(conn, now):
                return 0
        with self.db.write() as conn:
            effects = repo.claim(conn, self.owner, now, now + self.lease, self.batch)
        deadline = now + self.lease / 2
        for index, effect in enumerate(effects):
            if (stop is not None and stop.is_set()) or self.clock.now() > deadline:
                with self.db.write() as conn:
                    repo.release(conn, [e.id for e in effects[index:]], self.owner)
                break
            self.deliver(effect)
        return len(effects)

    def deliver(self, effect: StoredEffect) -> None:
        """Deliver one held effect and mark it (delivered, to retry, or failed)."""
        kind = effect.kind
        try:
            if kind == "webhook":
                self._webhook(effect)
                self._mark_delivered(effect)
            elif self.remote is not None:
                records = self._records(effect)
                apply_effect(self.remote, effect, self.clock.now(), None, records)
                self._mark_delivered(effect)
            else:
                records = self._records(effect)
                now = self.clock.now()
                with self.db.write() as conn:
                    obj = inventory_repo.get_object(conn, effect.tenant, effect.device)
                    name = obj.name if obj is not None else None
                    apply_effect(StoreWriter(conn, now), effect, now, name, records)
                    if not repo.mark_delivered(conn, effect.id, self.owner, now):
                        raise _Lost
        except _Lost:
            log.info("effect %s was taken over during its delivery", effect.id)
            return
        except (Refused, Invalid, NotFound) as exc:
            self._failed(effect, str(exc), final=True)
            return
        except Exception as exc:
            self._failed(effect, _one_line(exc), final=False)
            return
        metrics.action_delivered(_kind_label(kind), "delivered")

    def _records(self, effect: StoredEffect) -> Chunk | None:
        """A write-back's records: the device's rows of the execution's stored inferences."""
        if effect.kind != "measurements":
            return None
        start, end = effect.payload["rows"]
        with self.db.read() as conn:
            stored = inferences_repo.chunks_overlapping(conn, effect.execution_id, start, end)
        if not stored:
            raise Refused("The execution's inferences are gone.")
        parts = []
        for row_start, payload in stored:
            chunk = decode_chunk(payload)
            lo, hi = max(start - row_start, 0), min(end - row_start, len(chunk))
            parts.append(chunk.slice(lo, hi))
        return Chunk.concat(parts)

    def _mark_delivered(self, effect: StoredEffect) -> None:
        with self.db.write() as conn:
            if not repo.mark_delivered(conn, effect.id, self.owner, self.clock.now()):
                raise _Lost

    def _failed(self, effect: StoredEffect, error: str, *, final: bool) -> None:
        now = self.clock.now()
        if not final and now - effect.created_at >= self.give_up_after:
            final = True
            error = f"given up after {effect.attempts} attempts: {error}"
        next_at = None if final else now + timedelta(seconds=retry_delay(effect.attempts))
        with self.db.write() as conn:
            repo.mark_retry(conn, effect.id, self.owner, error, next_at)
        outcome = "failed" if final else "retried"
        metrics.action_delivered(_kind_label(effect.kind), outcome)
        log.warning(
            "%s effect %s of execution %s %s: %s",
            effect.kind, effect.id, effect.execution_id, outcome, error,
        )  # fmt: skip

    # --- webhooks ---------------------------------------------------------------------------

    def _webhook(self, effect: StoredEffect) -> None:
        url = str(effect.payload["url"])
        refusal = self.webhooks.refusal(url)
        if refusal is not None:
            raise Refused(f"The webhook URL {refusal}.")
        self._check_resolved(url)
        body = webhook_body(effect)
        headers = {"Content-Type": "application/json", DELIVERY: effect.key}
        secret = str(effect.payload.get("secret") or "")
        if secret:
            headers[SIGNATURE] = sign(secret, body)
        try:
            answer = self.http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:  # the message never carries the secret
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from None
        if not 200 <= answer.status_code < 300:
            raise ConnectionError(f"the webhook answered {answer.status_code}")

    def _check_resolved(self, url: str) -> None:
        """Refuse a name that resolves to loopback or private addresses unless allowed."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if self.webhooks.allow_all or {host, f"{host}:{parts.port}"} & self.webhooks.allowed_hosts:
            return
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            raise ConnectionError(f"cannot resolve {host}: {exc}") from None
        if any(not is_public_address(str(info[4][0])) for info in infos):
            raise Refused(
                f"The webhook host {host} resolves to a loopback or private address; allow it "
                "with BATCHSCORE_WEBHOOK_ALLOWED_HOSTS."
            )


def webhook_body(effect: StoredEffect) -> bytes:
    """The JSON body of a webhook call (no secret in it)."""
    fields = template_fields(effect, None)
    document: dict[str, Any] = {
        "delivery": effect.key,
        "jobId": fields.get("jobId"),
        "jobName": fields.get("jobName"),
        "jobExecutionNumber": fields.get("jobExecutionNumber"),
        "deviceId": effect.device,
        "rule": effect.rule,
        "count": fields.get("count"),
        "share": fields.get("share"),
        "records": fields.get("records"),
        "windowFrom": fields.get("windowFrom"),
        "windowTo": fields.get("windowTo"),
        "firstTime": fields.get("firstTime"),
        "lastTime": fields.get("lastTime"),
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def _kind_label(kind: str) -> str:
    return {"clear": "alarm", "measurements": "writeBack"}.get(kind, kind)


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:500]

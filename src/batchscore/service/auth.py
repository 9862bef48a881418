"""Authentication: Basic credentials to a Principal, with a verification cache and rate limiting."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import math
import secrets
import threading
from collections import deque
from dataclasses import dataclass

from batchscore.clock import Clock
from batchscore.domain.names import MAX_TENANT, fits
from batchscore.domain.roles import Principal
from batchscore.errors import RateLimited, Unauthorized
from batchscore.passwords import verify_password
from batchscore.store import users as users_repo
from batchscore.store.db import Database

log = logging.getLogger(__name__)

CACHE_SECONDS = 60.0
REVOCATION_CHECK_S = 1.0
"""How often a process reads the tenants' ``credentials_version``: a deleted user or a changed
password stops working everywhere within this time, whatever the login cache holds."""
MAX_CREDENTIAL_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class Credentials:
    tenant: str
    user: str
    password: str


def parse_basic(header: str | None, default_tenant: str) -> Credentials | None:
    """Decode ``Basic base64(tenant/user:password)`` or ``Basic base64(user:password)``."""
    if not header or len(header) > MAX_CREDENTIAL_LENGTH:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    login, sep, password = decoded.partition(":")
    if not sep or not login:
        return None
    tenant, slash, user = login.partition("/")
    if not slash:
        tenant, user = default_tenant, login
    if not tenant or not user or not fits(tenant, MAX_TENANT) or not fits(user):
        return None
    return Credentials(tenant, user, password)


class FailureLimiter:
    """Counts failed logins per (tenant/user, address) in a sliding window."""

    def __init__(self, allowed: int, window_s: float) -> None:
        self.allowed = allowed
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: tuple[str, str], now: float) -> None:
        with self._lock:
            times = self._failures.get(key)
            if not times:
                return
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if len(times) >= self.allowed:
                raise RateLimited(retry_after=max(1, int(times[0] + self.window_s - now) + 1))

    def record_failure(self, key: tuple[str, str], now: float) -> None:
        with self._lock:
            if len(self._failures) > 100_000:  # bound memory under a credential-stuffing flood
                self._failures.clear()
            self._failures.setdefault(key, deque()).append(now)

    def reset(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)


class Authenticator:
    """Checks Basic credentials against the users table.

    argon2 costs tens of milliseconds by design; successful verifications are cached for a
    minute under a keyed hash of the password, so API latency stays low for repeat clients.
    Each cached login remembers the tenant's ``credentials_version`` it was verified under;
    the process reads the versions at most every ``REVOCATION_CHECK_S`` (on a worker thread,
    never on the event loop), and a login verified under an older version is verified again.
    """

    def __init__(
        self, db: Database, clock: Clock, default_tenant: str, limiter: FailureLimiter
    ) -> None:
        self.db = db
        self.clock = clock
        self.default_tenant = default_tenant
        self.limiter = limiter
        self._key = secrets.token_bytes(32)
        self._cache: dict[tuple[str, str, bytes], tuple[Principal, float, int]] = {}
        self._verifications: dict[tuple[str, str, bytes], threading.Lock] = {}
        self._lock = threading.Lock()
        self._versions: dict[str, int] = {}
        self._versions_read_at = -math.inf
        self._versions_lock = threading.Lock()

    def cached(self, header: str | None) -> Principal | None:
        """The principal of ``header`` if its credentials were verified within the cache time:
        no I/O and no waiting, so the event loop may ask before handing a request to a thread."""
        creds = parse_basic(header, self.default_tenant)
        if creds is None:
            return None
        now = self.clock.now().timestamp()
        if now - self._versions_read_at >= REVOCATION_CHECK_S:
            return None  # revocations must be read first: that is I/O, for a worker thread
        return self._cached(self._cache_key(creds), now)

    def authenticate(self, header: str | None, address: str) -> Principal:
        creds = parse_basic(header, self.default_tenant)
        if creds is None:
            raise Unauthorized()
        now = self.clock.now().timestamp()
        self._read_versions(now)
        cache_key = self._cache_key(creds)
        hit = self._cached(cache_key, now)
        if hit is not None:
            return hit
        # One verification per credentials at a time: when a busy client's cache entry expires,
        # its concurrent requests wait for one argon2 run instead of each paying for their own.
        with self._verifying(cache_key):
            hit = self._cached(cache_key, now)
            if hit is not None:
                return hit
            return self._verify(creds, cache_key, address, now)

    def _cache_key(self, creds: Credentials) -> tuple[str, str, bytes]:
        digest = hmac.new(self._key, creds.password.encode(), hashlib.sha256).digest()
        return (creds.tenant, creds.user, digest)

    def _cached(self, cache_key: tuple[str, str, bytes], now: float) -> Principal | None:
        with self._lock:
            hit = self._cache.get(cache_key)
            current = self._versions.get(cache_key[0], 0)
        if hit is None or hit[1] <= now or hit[2] < current:
            return None
        return hit[0]

    def _read_versions(self, now: float) -> None:
        """Read the tenants' credentials versions if the last read is older than the check
        interval; cached logins verified under an older version are dropped."""
        if now - self._versions_read_at < REVOCATION_CHECK_S:
            return
        with self._versions_lock:
            if now - self._versions_read_at < REVOCATION_CHECK_S:
                return
            with self.db.read() as conn:
                versions = users_repo.credentials_versions(conn)
            with self._lock:
                self._versions = versions
                stale = [k for k, v in self._cache.items() if v[2] < versions.get(k[0], 0)]
                for key in stale:
                    del self._cache[key]
            self._versions_read_at = now

    def _verifying(self, cache_key: tuple[str, str, bytes]) -> threading.Lock:
        with self._lock:
            if len(self._verifications) > 10_000:
                self._verifications.clear()
            return self._verifications.setdefault(cache_key, threading.Lock())

    def _verify(
        self, creds: Credentials, cache_key: tuple[str, str, bytes], address: str, now: float
    ) -> Principal:
        limit_key = (f"{creds.tenant}/{creds.user}", address)
        self.limiter.check(limit_key, now)
        with self.db.read() as conn:
            # The version before the user: a change committed in between leaves this login
            # under the older version, which the next read of the versions drops.
            version = users_repo.credentials_version(conn, creds.tenant)
            record = users_repo.get_user(conn, creds.tenant, creds.user)
        if not verify_password(record.password_hash if record else None, creds.password):
            self.limiter.record_failure(limit_key, now)
            log.warning(
                "login failed", extra={"tenant": creds.tenant, "user": creds.user, "addr": address}
            )
            raise Unauthorized()
        assert record is not None
        self.limiter.reset(limit_key)
        principal = Principal(record.tenant, record.name, record.roles)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[cache_key] = (principal, now + CACHE_SECONDS, version)
        return principal

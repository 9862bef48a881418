"""Password hashing with argon2id; verification costs the same for known and unknown users."""

from __future__ import annotations

import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# "default" is argon2-cffi's RFC 9106 low-memory profile (~0.15 s per check on 2 cores);
# "fast" exists for test suites and must not be used in production.
PROFILES = ("default", "fast")

_lock = threading.Lock()
_hasher = PasswordHasher()
_dummy_hash: str | None = None


def configure_hashing(profile: str) -> None:
    """Choose the argon2 cost profile for new hashes (and the dummy used for unknown users)."""
    global _hasher, _dummy_hash
    with _lock:
        if profile not in PROFILES:
            raise ValueError(f"unknown password profile {profile!r}")
        fast = profile == "fast"
        _hasher = (
            PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
            if fast
            else PasswordHasher()
        )
        _dummy_hash = None


def _dummy() -> str:
    global _dummy_hash
    with _lock:
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
        return _dummy_hash


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; with ``stored_hash=None`` burn the same time and say False."""
    try:
        ok = _hasher.verify(stored_hash or _dummy(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and stored_hash is not None


def generate_password() -> str:
    return secrets.token_urlsafe(18)

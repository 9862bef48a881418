"""The console's login session: a signed, expiring cookie and its CSRF token.

The cookie carries who signed in, the session's secret and its CSRF token. The server keeps the
SHA-256 of the secret (``service/console_sessions.py``) and looks it up on every request, so
signing out, deleting the user or changing their password ends the session at once, in every
process; roles are read from the store on every request, so a changed role takes effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

log = logging.getLogger(__name__)

COOKIE = "batchscore_session"
LOGIN_CSRF_COOKIE = "batchscore_login_csrf"
MAX_AGE_S = 8 * 3600
KEY_FILE = "console-session.key"


@dataclass(frozen=True, slots=True)
class Session:
    tenant: str
    user: str
    secret: str
    csrf: str

    @property
    def id(self) -> str:
        """What the server keeps of the session: the SHA-256 of its secret."""
        return hashlib.sha256(self.secret.encode()).hexdigest()


def load_secret(var_dir: Path) -> bytes:
    """The signing key, kept in ``var_dir`` so sessions survive a restart.

    If the directory cannot be written the key lives in memory only (sessions end on restart).
    """
    path = var_dir / KEY_FILE
    try:
        if path.exists():
            data = path.read_bytes()
            if len(data) >= 32:
                return data
            path.unlink()  # a truncated key from an interrupted write
        var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        # Written under a temporary name and linked into place: of processes starting
        # together on one var_dir, the first key wins and every process reads that one.
        partial = var_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
        try:
            os.link(partial, path)
        except FileExistsError:
            key = path.read_bytes()
        finally:
            partial.unlink()
        return key
    except OSError as exc:
        log.warning("console session key not persisted (%s); sessions end on restart", exc)
        return secrets.token_bytes(32)


class SessionCodec:
    """Signs sessions into cookie values and reads them back within ``MAX_AGE_S``."""

    def __init__(self, secret: bytes) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="batchscore-console-session")

    def new(self, tenant: str, user: str) -> Session:
        return Session(tenant, user, secrets.token_urlsafe(32), secrets.token_urlsafe(24))

    def dumps(self, session: Session) -> str:
        payload = [session.tenant, session.user, session.secret, session.csrf]
        return self._serializer.dumps(payload)

    def loads(self, value: str | None) -> Session | None:
        if not value or len(value) > 4096:
            return None
        try:
            payload: Any = self._serializer.loads(value, max_age=MAX_AGE_S)
        except BadSignature:  # also covers SignatureExpired
            return None
        if not (isinstance(payload, list) and len(payload) == 4):
            return None
        if not all(isinstance(p, str) for p in payload):
            return None
        return Session(*payload)


def tokens_match(sent: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted CSRF token with the expected one."""
    return bool(sent) and hmac.compare_digest(str(sent).encode(), expected.encode())

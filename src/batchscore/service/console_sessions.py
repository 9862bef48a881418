"""Console sign-ins kept on the server: started at sign-in, looked up on every console request,
ended at sign-out (and by deleting the user or changing their password, in ``users.py``)."""

from __future__ import annotations

from datetime import timedelta

from batchscore.clock import Clock
from batchscore.domain.roles import Principal
from batchscore.store import sessions as repo
from batchscore.store import users as users_repo
from batchscore.store.db import Database


def start_session(
    db: Database, clock: Clock, tenant: str, user: str, session_id: str, lifetime: timedelta
) -> bool:
    """Record a sign-in of ``user``; False if the user no longer exists."""
    now = clock.now()
    with db.write() as conn:
        record = users_repo.get_user(conn, tenant, user)
        if record is None:
            return False
        repo.insert_session(conn, session_id, record.id, now, now + lifetime)
    return True


def session_principal(
    db: Database, clock: Clock, tenant: str, user: str, session_id: str
) -> Principal | None:
    """Who is signed in with ``session_id``, if that session is live and is ``user``'s."""
    with db.read() as conn:
        record = users_repo.get_user(conn, tenant, user)
        if record is None or repo.session_user(conn, session_id, clock.now()) != record.id:
            return None
    return Principal(record.tenant, record.name, record.roles)


def end_session(db: Database, session_id: str) -> None:
    with db.write() as conn:
        repo.delete_session(conn, session_id)

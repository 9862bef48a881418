"""Console sessions: which signed-in sessions are still valid, kept on the server."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from batchscore.store.tables import console_sessions

MAX_SESSIONS_PER_USER = 100
"""Live sessions kept per user; signing in once more ends the oldest."""


def insert_session(
    conn: Connection, session_id: str, user_id: int, now: datetime, expires: datetime
) -> None:
    # Expired sessions of the user go now, so the table holds only live ones (and a few).
    conn.execute(
        delete(console_sessions).where(
            console_sessions.c.user_id == user_id, console_sessions.c.expires_at <= now
        )
    )
    conn.execute(
        insert(console_sessions).values(
            id=session_id, user_id=user_id, created_at=now, expires_at=expires
        )
    )
    newest = (
        select(console_sessions.c.id)
        .where(console_sessions.c.user_id == user_id)
        .order_by(console_sessions.c.created_at.desc(), console_sessions.c.id)
        .limit(MAX_SESSIONS_PER_USER)
    )
    conn.execute(
        delete(console_sessions).where(
            console_sessions.c.user_id == user_id, console_sessions.c.id.not_in(newest)
        )
    )


def session_user(conn: Connection, session_id: str, now: datetime) -> int | None:
    """The user id of a live session, or None if it ended (signed out, expired, revoked)."""
    row = conn.execute(
        select(console_sessions.c.user_id).where(
            console_sessions.c.id == session_id, console_sessions.c.expires_at > now
        )
    ).first()
    return int(row.user_id) if row is not None else None


def delete_session(conn: Connection, session_id: str) -> None:
    conn.execute(delete(console_sessions).where(console_sessions.c.id == session_id))


def delete_user_sessions(conn: Connection, user_id: int) -> int:
    result = conn.execute(delete(console_sessions).where(console_sessions.c.user_id == user_id))
    return int(result.rowcount)

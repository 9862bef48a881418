"""Wire formats of instants and Basic credential parsing."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from batchscore.domain.roles import Principal, Role, parse_role
from batchscore.domain.timefmt import format_instant, format_millis_z, parse_instant
from batchscore.service.auth import FailureLimiter, parse_basic


def test_formats() -> None:
    t = datetime(2019, 9, 23, 15, 39, 19, 51_999, tzinfo=UTC)
    assert format_millis_z(t) == "2019-09-23T15:39:19.051Z"
    assert format_instant(t) == "2019-09-23T15:39:19.051Z"
    whole = t.replace(microsecond=0)
    assert format_instant(whole) == "2019-09-23T15:39:19Z"
    assert format_millis_z(whole) == "2019-09-23T15:39:19.000Z"
    ist = whole.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert format_instant(ist) == "2019-09-23T15:39:19Z"


@pytest.mark.parametrize("text", ["2026-01-01", "2026-01-01T00:00:00", "noon", "", "1" * 100])
def test_parse_instant_refuses_naive_or_junk(text: str) -> None:
    with pytest.raises(ValueError, match=r".+"):
        parse_instant(text)


def test_parse_instant_normalises_to_utc() -> None:
    assert parse_instant("2026-01-01T05:30:00+05:30") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_instant("2026-01-01T00:00:00Z") == datetime(2026, 1, 1, tzinfo=UTC)


def _basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_parse_basic_forms() -> None:
    creds = parse_basic(_basic("t1/alice:pa:ss"), "default")
    assert creds is not None
    assert (creds.tenant, creds.user, creds.password) == ("t1", "alice", "pa:ss")
    plain = parse_basic(_basic("bob:pw"), "default")
    assert plain is not None
    assert (plain.tenant, plain.user) == ("default", "bob")
    for bad in ("", "Basic", "Bearer x", _basic("nocolon"), _basic("/u:p"), _basic("t/:p")):
        assert parse_basic(bad, "default") is None


def test_limiter_window() -> None:
    limiter = FailureLimiter(allowed=2, window_s=10)
    key = ("t/u", "1.2.3.4")
    limiter.record_failure(key, 0)
    limiter.record_failure(key, 1)
    with pytest.raises(Exception, match="Too many") as info:
        limiter.check(key, 2)
    assert getattr(info.value, "retry_after", 0) == 9
    limiter.check(key, 11)  # the first failure has left the window


def test_roles() -> None:
    admin = Principal("t", "u", frozenset({Role.ML_ADMIN}))
    reader = Principal("t", "u", frozenset({parse_role("read")}))
    assert admin.has(Role.INVENTORY_ADMIN)
    assert reader.has(Role.INVENTORY_READ)
    assert not reader.has(Role.ML_ADMIN)
    with pytest.raises(ValueError, match="unknown role"):
        parse_role("superuser")

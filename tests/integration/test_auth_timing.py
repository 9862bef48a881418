"""Authentication beyond the route matrix of test_auth.py (issue 9): a wrong password takes as long
for an unknown user as for a known one (so timing does not enumerate users), repeated failures are
rate-limited alike for both, and every registered route demands credentials."""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from batchscore.domain.roles import Role
from batchscore.errors import Unauthorized
from batchscore.passwords import configure_hashing
from batchscore.service import auth as auth_module
from batchscore.service.container import Services
from batchscore.service.users import add_user
from batchscore.settings import Settings
from batchscore.testing import basic_auth
from tests.conftest import PASSWORD

BASE = "/service/zementis"
KNOWN = ["alice", "bob"]
UNKNOWN = ["mallory", "trent"]
ROUNDS = 5
# A leak (no dummy verification for unknown users) shows as a ratio of 50 or more; scheduling
# noise on a loaded 2-core machine stays far inside this band once medians are taken.
TOLERANCE = 1.6
OPEN_ROUTES = {"/health", "/health/ready"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The real argon2 cost, and no rate limiting in the way of repeated attempts.
    return Settings(
        password_profile="default",
        var_dir=tmp_path,
        login_failures_allowed=10_000,
    )


@pytest.fixture
def real_hashing(request: pytest.FixtureRequest, services: Services) -> Iterator[Services]:
    """Users hashed with the real profile; the fast profile is restored for the other tests."""
    if request.node.callspec.params.get("db") != "sqlite":
        # The code path does not depend on the backend; one run of ~0.4 s hashes is enough.
        pytest.skip("timing is measured on SQLite only")
    try:
        for user in KNOWN:
            add_user(services.db, services.clock, "t1", user, f"{user}-Passw0rd", frozenset())
        yield services
    finally:
        configure_hashing("fast")


def _median_ms(client: TestClient, user: str) -> float:
    return statistics.median(_attempts(client, user))


def _attempts(client: TestClient, user: str) -> list[float]:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        r = client.get(f"{BASE}/jobs", headers=basic_auth(user, "wrong-password", tenant="t1"))
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 401
    return times


@pytest.mark.slow
def test_wrong_password_timing_does_not_reveal_whether_the_user_exists(
    client: TestClient, real_hashing: Services
) -> None:
    _median_ms(client, "warm-up")  # the dummy hash for unknown users is made on first use
    known: list[float] = []
    unknown: list[float] = []
    # Interleaved, so a burst of load on the machine hits both sides alike.
    for known_user, unknown_user in zip(KNOWN, UNKNOWN, strict=True):
        known.append(_median_ms(client, known_user))
        unknown.append(_median_ms(client, unknown_user))
    known_ms, unknown_ms = statistics.median(known), statistics.median(unknown)
    assert known_ms > 5, f"argon2 default profile should cost milliseconds, got {known_ms:.2f}"
    ratio = unknown_ms / known_ms
    assert 1 / TOLERANCE < ratio < TOLERANCE, (known, unknown)


def test_unknown_users_are_rate_limited_like_known_ones(
    services: Services, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The limiter must not become an oracle: an unknown name is throttled the same way."""
    services.auth.limiter.allowed = 3
    with caplog.at_level(logging.DEBUG):
        for user in ("admin", "nobody-here"):
            wrong = basic_auth(user, "Hunter2-secret", tenant="t1")
            codes = [client.get(f"{BASE}/jobs", headers=wrong).status_code for _ in range(4)]
            assert codes == [401, 401, 401, 429], user
            r = client.get(f"{BASE}/jobs", headers=wrong)
            assert r.status_code == 429
            assert 1 <= int(r.headers["retry-after"]) <= 61
            assert set(r.json()) == {"error", "message", "info"}
    assert "Hunter2-secret" not in caplog.text
    token = basic_auth("admin", "Hunter2-secret", tenant="t1")["Authorization"].split()[1]
    assert token not in caplog.text  # nor the encoded header
    assert caplog.text.count("login failed") == 6


def test_rate_limit_is_per_source_address(services: Services) -> None:
    from batchscore.errors import RateLimited, Unauthorized

    services.auth.limiter.allowed = 2
    wrong = basic_auth("admin", "nope", tenant="t1")["Authorization"]
    for _ in range(2):
        with pytest.raises(Unauthorized):
            services.auth.authenticate(wrong, "10.0.0.1")
    with pytest.raises(RateLimited):
        services.auth.authenticate(wrong, "10.0.0.1")
    right = basic_auth("admin", "s3cret-Passw0rd", tenant="t1")["Authorization"]
    assert services.auth.authenticate(right, "10.0.0.2").has(Role.ML_ADMIN)


HIDDEN_ROUTES = [("GET", "/openapi.json"), ("GET", "/docs"), ("PUT", f"{BASE}/job/1/history")]


def test_every_published_route_needs_credentials(
    client: TestClient, reader: dict[str, str]
) -> None:
    """Derived from the OpenAPI document, so a route added later cannot forget its dependency."""
    spec = client.get("/openapi.json", headers=reader).json()
    routes = [
        (method.upper(), path.replace("{", "").replace("}", ""))
        for path, operations in spec["paths"].items()
        if path not in OPEN_ROUTES
        for method in operations
    ]
    assert len(routes) >= 30
    for method, path in routes + HIDDEN_ROUTES:
        r = client.request(method, path)
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.headers["www-authenticate"] == 'Basic realm="batchscore"'


def test_an_expired_login_is_verified_once_for_its_concurrent_requests(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a busy client's cached login expires, its concurrent requests share one argon2 run
    (a herd of verifications stalled the whole API for seconds in bench/load.py)."""
    calls: list[float] = []
    real = auth_module.verify_password

    def counted(stored: str | None, password: str) -> bool:
        calls.append(time.monotonic())
        time.sleep(0.05)  # long enough for every thread to miss the cache meanwhile
        return real(stored, password)

    monkeypatch.setattr(auth_module, "verify_password", counted)
    header = basic_auth("admin", PASSWORD, tenant="t1")["Authorization"]
    start = threading.Barrier(8)
    principals = []

    def request() -> None:
        start.wait()
        principals.append(services.auth.authenticate(header, "127.0.0.1"))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(principals) == 8
    assert {(p.tenant, p.user) for p in principals} == {("t1", "admin")}
    assert len(calls) == 1
    wrong = basic_auth("admin", "not-the-password", tenant="t1")["Authorization"]
    for _ in range(2):  # failures are not cached: each attempt is verified (and rate-limited)
        with pytest.raises(Unauthorized):
            services.auth.authenticate(wrong, "127.0.0.1")
    assert len(calls) == 3

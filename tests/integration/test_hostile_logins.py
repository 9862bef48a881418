"""Hostile input, round two (issue 20): logins.

- the failed-login limiter cannot be dodged with ``X-Forwarded-For`` (proxy headers are believed
  only from ``BATCHSCORE_TRUSTED_PROXIES``);
- ``batchscore user add|passwd|delete|list`` hold names and passwords to the policy of
  SECURITY.md;
- changing a password or deleting a user ends their console sessions and cached API logins in
  every ``serve`` process on the database; signing out ends the session on the server.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from batchscore.cli import app
from batchscore.clock import FakeClock
from batchscore.domain.roles import Role
from batchscore.service.auth import REVOCATION_CHECK_S
from batchscore.service.container import Services
from batchscore.service.users import add_user, delete_user, set_password
from batchscore.settings import Settings
from batchscore.store.db import Database
from batchscore.testing import basic_auth, scratch_postgres
from tests.conftest import PG_URL
from tests.integration.live_server import LiveServer, live_batchscore, wait_until

BASE = "/service/zementis"
CLI = Path(sys.executable).with_name("batchscore")
STRONG = "tidal-Marmot-42"
STRONGER = "quiet-Lantern-77"


# --- X-Forwarded-For and the failed-login limiter ---------------------------------------------


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"BATCHSCORE_LOGIN_FAILURES_ALLOWED": "3"}
    with live_batchscore(tmp_path_factory.mktemp("direct"), env) as server:
        yield server


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"BATCHSCORE_LOGIN_FAILURES_ALLOWED": "3", "BATCHSCORE_TRUSTED_PROXIES": "127.0.0.1"}
    with live_batchscore(tmp_path_factory.mktemp("proxied"), env) as server:
        yield server


def models_as(server: LiveServer, password: str, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    r = requests.get(
        f"{server.base_url}{BASE}/models",
        auth=(f"{server.tenant}/{server.user}", password),
        headers=headers,
        timeout=30,
    )
    return r.status_code


def test_forged_forwarded_for_does_not_reset_the_failed_login_count(direct: LiveServer) -> None:
    statuses = [models_as(direct, "wrong", f"203.0.113.{i}") for i in range(1, 6)]
    assert statuses == [401, 401, 401, 429, 429]
    # Every attempt counts against the real peer (127.0.0.1), the right password too.
    assert models_as(direct, direct.password, "198.51.100.7") == 429


def test_trusted_proxies_are_believed(proxied: LiveServer) -> None:
    """Behind a proxy the operator named, each client address is limited on its own."""
    statuses = [models_as(proxied, "wrong", "203.0.113.9") for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert models_as(proxied, proxied.password, "198.51.100.7") == 200


def test_trusted_proxies_must_be_addresses(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an IP address or network"):
        Settings(var_dir=tmp_path, trusted_proxies="127.0.0.1, proxy.example")
    settings = Settings(var_dir=tmp_path, trusted_proxies="10.0.0.0/8, ::1")
    assert settings.trusted_proxy_list() == ["10.0.0.0/8", "::1"]


# --- the user commands ------------------------------------------------------------------------


def url_of(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def cli(url: str, *args: str, password: str | None = None) -> Done:
    """``batchscore user ARGS`` in this process (the subprocess costs seconds to start)."""
    env = {"BATCHSCORE_DATABASE_URL": url, "BATCHSCORE_USER_PASSWORD": password or ""}
    result = CliRunner().invoke(app, ["user", *args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Done(result.exit_code, result.stdout, result.stderr)


def cli_process(url: str, *args: str, password: str | None = None) -> int:
    """``batchscore user ARGS`` as an operator runs it, in its own process."""
    env = {**os.environ, "BATCHSCORE_DATABASE_URL": url, "BATCHSCORE_PASSWORD_PROFILE": "fast"}
    env["BATCHSCORE_USER_PASSWORD"] = password or ""
    done = subprocess.run(
        [str(CLI), "user", *args],
        env=env,
        capture_output=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert b"Traceback" not in done.stderr
    return done.returncode


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["add", "a:b"], STRONG, "The user name must not contain ':'."),
        (["add", "eve", "--tenant", ""], STRONG, "The tenant must not be empty."),
        (["add", "eve", "--tenant", "a/b"], STRONG, "The tenant may hold only letters"),
        (["add", "eve", "--tenant", "t" * 65], STRONG, "at most 64 characters"),
        (["add", "u" * 256], STRONG, "The user name must be at most 255 characters long."),
        (["add", " eve"], STRONG, "surrounding spaces"),
        (["add", "eve"], "x", "The password must be at least 12 characters long."),
        (["add", "eve"], "Password1234!", "must not be a common word"),
        (["add", "evelyn"], "evelyn-evelyn-1", "must not be a common word, the user name"),
        (["add", "eve", "--tenant", "acme"], "acme2026acme!", "the tenant"),
        (["add", "eve"], "aaaaaaaaaaaaaaaa", "at least 5 different characters"),
        (["add", "eve"], "1234567890123", "run of keys or digits"),
        (["passwd", "eve"], "x", "The password must be at least 12 characters long."),
    ],
    ids=[
        "colon",
        "empty-tenant",
        "slash-tenant",
        "long-tenant",
        "long-name",
        "spaces",
        "x",
        "common-word",
        "own-name",
        "tenant-name",
        "one-character",
        "digit-run",
        "passwd-x",
    ],
)
def test_user_commands_refuse_bad_names_and_weak_passwords(
    db: Database, args: list[str], password: str, message: str
) -> None:
    done = cli(url_of(db), *args, password=password)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    listed = cli(url_of(db), "list").stdout
    assert "\teve\t" not in listed
    assert "\tevelyn\t" not in listed


def test_user_list_passwd_and_delete(db: Database) -> None:
    url = url_of(db)
    added = cli(url, "add", "frank", "--tenant", "acme", "--role", "read", password=STRONG)
    assert added.returncode == 0, added.stderr
    listed = cli(url, "list", "--tenant", "acme")
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    tenant, name, roles, created = line.split("\t")
    assert (tenant, name, roles) == ("acme", "frank", Role.ML_READ.value)
    assert created.startswith("20")
    assert STRONG not in listed.stdout
    assert "argon2" not in listed.stdout
    everyone = cli(url, "list").stdout
    assert "t1\tadmin\t" in everyone
    assert "acme\tfrank\t" in everyone

    changed = cli(url, "passwd", "frank", "--tenant", "acme", password=STRONGER)
    assert changed.returncode == 0, changed.stderr
    assert cli(url, "passwd", "nobody", "--tenant", "acme", password=STRONGER).returncode == 1
    deleted = cli(url, "delete", "frank", "--tenant", "acme")
    assert deleted.returncode == 0, deleted.stderr
    assert cli(url, "list", "--tenant", "acme").stdout == ""
    again = cli(url, "delete", "frank", "--tenant", "acme")
    assert again.returncode == 1
    assert "The user 'frank' of tenant 'acme' does not exist." in again.stderr


def test_a_weak_first_admin_password_stops_serve(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BATCHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'weak.db'}",
        "BATCHSCORE_ADMIN_PASSWORD": "admin",
        "BATCHSCORE_VAR_DIR": str(tmp_path),
        "BATCHSCORE_PORT": "0",
    }
    done = subprocess.run(
        [str(CLI), "serve"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2
    assert "first admin: The password must be at least 12 characters long." in done.stderr
    assert "Traceback" not in done.stderr


# --- revocation: the login cache of this process -----------------------------------------------


def test_a_changed_password_leaves_the_login_cache_within_the_check_interval(
    client: TestClient, services: Services, clock: FakeClock
) -> None:
    add_user(services.db, clock, "t1", "gina", STRONG, frozenset({Role.ML_READ}))
    old = basic_auth("gina", STRONG, tenant="t1")
    assert client.get(f"{BASE}/models", headers=old).status_code == 200  # now cached
    set_password(services.db, "t1", "gina", STRONGER)
    clock.advance(REVOCATION_CHECK_S)
    assert client.get(f"{BASE}/models", headers=old).status_code == 401
    new = basic_auth("gina", STRONGER, tenant="t1")
    assert client.get(f"{BASE}/models", headers=new).status_code == 200
    delete_user(services.db, "t1", "gina")
    clock.advance(REVOCATION_CHECK_S)
    assert client.get(f"{BASE}/models", headers=new).status_code == 401


# --- revocation across processes ----------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"] if PG_URL else ["sqlite"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database for two `serve` processes: a SQLite file, or a scratch PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        assert PG_URL is not None
        with scratch_postgres(PG_URL, "batchscore_revoke") as url:
            yield url


class Console:
    """A browser's view of one console: signs in, reads pages, signs out."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server

    def sign_in(self, password: str) -> str:
        """The session cookie of a fresh sign-in as carol."""
        with requests.Session() as browser:
            page = browser.get(f"{self.server.base_url}/login", timeout=30)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token is not None
            r = browser.post(
                f"{self.server.base_url}/login",
                data={"csrf_token": token.group(1), "login": "carol", "password": password},
                allow_redirects=False,
                timeout=30,
            )
            assert r.status_code == 303, r.text[:300]
            cookie = r.cookies.get("batchscore_session")
            assert cookie
            return str(cookie)

    def signed_in(self, cookie: str) -> bool:
        r = requests.get(
            f"{self.server.base_url}/",
            cookies={"batchscore_session": cookie},
            allow_redirects=False,
            timeout=30,
        )
        assert r.status_code in (200, 303), r.status_code
        return r.status_code == 200

    def sign_out(self, cookie: str) -> None:
        page = requests.get(
            f"{self.server.base_url}/", cookies={"batchscore_session": cookie}, timeout=30
        )
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        r = requests.post(
            f"{self.server.base_url}/logout",
            data={"csrf_token": token.group(1)},
            cookies={"batchscore_session": cookie},
            allow_redirects=False,
            timeout=30,
        )
        assert r.status_code == 303


def api_status(server: LiveServer, password: str) -> int:
    r = requests.get(f"{server.base_url}{BASE}/models", auth=("carol", password), timeout=30)
    return r.status_code


def refused_everywhere(servers: list[LiveServer], password: str) -> None:
    """Wait (at most a few check intervals) until every process refuses ``password``."""
    for server in servers:
        wait_until(
            lambda s=server: api_status(s, password) == 401,  # type: ignore[misc]
            f"{server.base_url} refusing the old login",
            timeout=5 * REVOCATION_CHECK_S + 5,
        )


def test_sign_out_password_change_and_deletion_reach_every_process(
    shared_url: str, tmp_path: Path
) -> None:
    env = {"BATCHSCORE_VAR_DIR": str(tmp_path / "var")}  # one session key for both processes
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        live_batchscore(tmp_path / "a", env, database_url=shared_url) as one,
        live_batchscore(tmp_path / "b", env, database_url=shared_url) as two,
    ):
        servers = [one, two]
        assert cli_process(shared_url, "add", "carol", "--role", "admin", password=STRONG) == 0
        assert [api_status(s, STRONG) for s in servers] == [200, 200]  # cached by each now
        consoles = [Console(one), Console(two)]

        cookie = consoles[0].sign_in(STRONG)
        assert [c.signed_in(cookie) for c in consoles] == [True, True]
        consoles[0].sign_out(cookie)
        assert [c.signed_in(cookie) for c in consoles] == [False, False]  # replayed cookie

        cookie = consoles[1].sign_in(STRONG)
        assert cli_process(shared_url, "passwd", "carol", password=STRONGER) == 0
        assert [c.signed_in(cookie) for c in consoles] == [False, False]
        refused_everywhere(servers, STRONG)
        assert [api_status(s, STRONGER) for s in servers] == [200, 200]

        cookie = consoles[0].sign_in(STRONGER)
        assert cli_process(shared_url, "delete", "carol") == 0
        assert [c.signed_in(cookie) for c in consoles] == [False, False]
        refused_everywhere(servers, STRONGER)

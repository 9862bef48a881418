"""Startup errors of the long-running commands (issue 16, design §3.7): one clear line on
stderr and exit code 2; the traceback only with BATCHSCORE_LOG_LEVEL=DEBUG. And `cron next`
refuses an expression that never fires."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(sys.executable).with_name("batchscore")


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BATCHSCORE_")},
        "BATCHSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "BATCHSCORE_PASSWORD_PROFILE": "fast",
        "BATCHSCORE_ADMIN_PASSWORD": "startup-Passw0rd",
        "BATCHSCORE_VAR_DIR": str(tmp_path / "var"),
        **env,
    }
    return subprocess.run(
        [str(CLI), *args], env=environ, capture_output=True, text=True, timeout=60, check=False
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return lines[0]


@pytest.mark.parametrize("command", ["serve", "scheduler", "db upgrade"])
def test_an_unreachable_database_is_one_line(command: str, tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql+psycopg://batchscore:s3cret@127.0.0.1:{port}/batchscore"
    line = one_line(run(command.split(), tmp_path, BATCHSCORE_DATABASE_URL=url))
    assert line.startswith(f"batchscore {command}: cannot start: cannot use the database at ")
    assert "Connection refused" in line
    assert "s3cret" not in line  # the password is not shown


def test_a_url_that_is_no_database_url(tmp_path: Path) -> None:
    line = one_line(run(["serve"], tmp_path, BATCHSCORE_DATABASE_URL="not a url"))
    assert "BATCHSCORE_DATABASE_URL is not a database URL" in line


def test_a_bad_setting_names_its_variable(tmp_path: Path) -> None:
    line = one_line(run(["serve"], tmp_path, BATCHSCORE_PORT="eighty"))
    assert line == (
        "batchscore serve: cannot start: BATCHSCORE_PORT: Input should be a valid integer, "
        "unable to parse string as an integer (got 'eighty')."
    )
    line = one_line(run(["scheduler"], tmp_path, BATCHSCORE_INSTANCE_DEAD_S="4"))
    assert "BATCHSCORE_INSTANCE_DEAD_S must be at least twice BATCHSCORE_HEARTBEAT_S" in line


def test_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run(["serve"], tmp_path, BATCHSCORE_PORT=str(port))
    # the first admin's line comes before it; the error is the last line, alone
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1] == (
        f"batchscore serve: cannot start: cannot listen on 127.0.0.1:{port}: "
        "Address already in use."
    )
    assert "Traceback" not in done.stderr


def test_debug_shows_the_traceback_too(tmp_path: Path) -> None:
    done = run(
        ["serve"], tmp_path, BATCHSCORE_DATABASE_URL="not a url", BATCHSCORE_LOG_LEVEL="DEBUG"
    )
    assert done.returncode == 2
    assert "Traceback" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("batchscore serve: cannot start:")


@pytest.mark.parametrize("expression", ["0 0 12 31 2 ?", "0 0 12 ? * * 2020"])
def test_cron_next_refuses_an_expression_that_never_fires(expression: str, tmp_path: Path) -> None:
    done = run(["cron", "next", expression], tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"cronExpression '{expression}' will never fire: ")

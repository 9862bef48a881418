"""Hostile input, round two (issue 20): `batchscore import` of a file with one enormous line.

A 2 GB line of a ``.csv.gz`` is a few megabytes on disk (gzip members repeat); it used to cost
4.3 GB of memory, and a raw traceback when it was the header. Lines are now read with a bound:
a clear error naming the line, exit 2, and the process's peak memory stays small.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from batchscore.service.container import Services
from batchscore.service.import_files import MAX_LINE_CHARS

CLI = Path(sys.executable).with_name("batchscore")
MB = 1024 * 1024
GIGABYTES = 2


def one_long_line(path: Path, head: bytes) -> None:
    """``head``, then 2 GB of one line without a newline, as one gzip stream (members
    concatenated decompress as one)."""
    member = gzip.compress(b"x" * (64 * MB), compresslevel=9)
    with path.open("wb") as out:
        if head:
            out.write(gzip.compress(head))
        for _ in range(GIGABYTES * 1024 // 64):
            out.write(member)
    assert path.stat().st_size < 10 * MB


# The peak memory of a child cannot be read from this process: a child forked from it starts
# with its resident size (the whole test session's), and Linux carries that into the child's
# maxrss across exec. A small Python process in between forks the command from a few MB.
MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024))
sys.exit(done.returncode)
"""


def run_import(path: Path, database_url: str, device: int) -> tuple[int, str, int]:
    """Exit code, stderr and peak resident memory (bytes) of `batchscore import measurements`."""
    env = {**os.environ, "BATCHSCORE_DATABASE_URL": database_url}
    peak = path.parent / "peak.txt"
    command = [str(CLI), "import", "measurements", str(path), "--device", str(device)]
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(peak), *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stderr, int(peak.read_text())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("head", "line"), [(b"", 1), (b"time,fragment,series,value\n", 2)], ids=["header", "data"]
)
def test_a_two_gigabyte_line_is_a_clear_error_in_bounded_memory(
    services: Services, tmp_path: Path, head: bytes, line: int
) -> None:
    device = services.inventory.create("default", {"name": "d", "c8y_IsDevice": {}}).id
    path = tmp_path / "one-line.csv.gz"
    one_long_line(path, head)
    url = services.db.engine.url.render_as_string(hide_password=False)
    code, stderr, peak = run_import(path, url, device)
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert f"one-line.csv.gz line {line}: longer than {MAX_LINE_CHARS:,} characters" in stderr
    assert peak < 400 * MB, f"peak memory {peak / MB:.0f} MB"

"""heap.settle freezes what is alive and raises the young generation's threshold (checked in a
subprocess: the garbage collector's settings are process-wide)."""

from __future__ import annotations

import subprocess
import sys

from batchscore import heap

SCRIPT = """
import gc
from batchscore import heap
before = gc.get_threshold()
heap.settle()
after = gc.get_threshold()
print(gc.get_freeze_count() > 0)
print(after[0])
print(after[1:] == before[1:])
"""


def test_settle_freezes_the_startup_heap_and_collects_less_often() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    )
    frozen, young, others_kept = done.stdout.split()
    assert frozen == "True"
    assert int(young) == heap.FIRST_GENERATION
    assert others_kept == "True"

"""The console's session key: made once per var_dir, the same for every process and thread
that starts together, kept across restarts, private to its owner."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from batchscore.web.session import KEY_FILE, load_secret


def test_starting_together_every_caller_gets_the_same_key(tmp_path: Path) -> None:
    keys: list[bytes] = []
    start = threading.Barrier(8)

    def load() -> None:
        start.wait()
        keys.append(load_secret(tmp_path))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8
    assert len(set(keys)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE]  # no partial files left
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert load_secret(tmp_path) == keys[0]  # a restart keeps sessions


def test_a_truncated_key_is_replaced(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_bytes(b"short")
    key = load_secret(tmp_path)
    assert len(key) == 32
    assert (tmp_path / KEY_FILE).read_bytes() == key

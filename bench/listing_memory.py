"""Peak memory of a server listing fat managed objects, before and after, side by side: the same
200 objects of just under 1 MB, the body limit (many small values, which is what amplifies when
parsed), posted to a `batchscore serve` of an older commit (``--baseline``) and of the working
tree, then one page of all of them read; the server's peak resident set (VmHWM, reset before
the listing) is reported.

Run: ``.venv/bin/python bench/listing_memory.py [--baseline REF] [--objects 200]`` (Linux).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx
from measurement_api import PASSWORD, database_url, default_baseline, export, serve


def fat_object(rng: random.Random, index: int) -> dict[str, object]:
    readings = [
        {"t": i, "v": rng.random(), "ok": bool(i % 2), "tag": f"s{i % 97}"} for i in range(15_000)
    ]
    return {"name": f"fat-{index}", "c8y_IsDevice": {}, "c8y_History": {"readings": readings}}


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def measure(base: str, pid: int, count: int) -> tuple[float, float, float]:
    """(peak before the listing, peak during it, in MB; seconds of the listing)."""
    rng = random.Random(17)
    body = json.dumps(fat_object(rng, 0)).encode()
    with httpx.Client(base_url=base, auth=("admin", PASSWORD), timeout=600) as http:
        for _ in range(count):
            r = http.post(
                "/inventory/managedObjects",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            r.raise_for_status()
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        before = peak_mb(pid)
        started = time.perf_counter()
        with http.stream("GET", "/inventory/managedObjects", params={"pageSize": count}) as r:
            r.raise_for_status()
            size = sum(len(chunk) for chunk in r.iter_bytes())
        took = time.perf_counter() - started
        assert size > count * 800_000, size  # each object in full (compact JSON)
    return before, peak_mb(pid), took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default=None)
    parser.add_argument("--objects", type=int, default=200)
    args = parser.parse_args()
    ref = args.baseline or default_baseline()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        sides = {"before": export(ref, scratch / "before"), "after": REPO_SRC}
        for side, src in sides.items():
            with database_url("sqlite", scratch) as url, serve(src, url, scratch) as live:
                rows.append((side, *measure(*live, args.objects)))
            print(f"{side}: done", file=sys.stderr)
    print(f"baseline {ref[:12]} vs. working tree: {args.objects} objects of ~1 MB, one page")
    print(f"{'':8}{'peak before, MB':>18}{'peak listing, MB':>18}{'listing, s':>12}")
    for side, before, peak, took in rows:
        print(f"{side:8}{before:>18.0f}{peak:>18.0f}{took:>12.1f}")


REPO_SRC = Path(__file__).resolve().parents[1] / "src"

if __name__ == "__main__":
    main()

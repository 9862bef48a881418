"""The measurement API before and after, side by side in one run: the same requests against a
`batchscore serve` of an older commit (``--baseline``, by default the merge base with main) and
one of the working tree, alternating, each on a fresh database.

Run: ``.venv/bin/python bench/measurement_api.py [--baseline REF] [--backend sqlite|postgres]
[--measurements 20000] [--rounds 3]``

Per server, over real HTTP on 127.0.0.1 with one httpx client:
- POST collections: ``--measurements`` measurements (1 fragment x 3 series each) in collections
  of 1,000;
- POST single: 500 measurements, one per request;
- GET pages: every page of pageSize 2000 of the device (``source=``), and 200 requests of the
  default page (5) of a 10-minute window;
- GET by id: 200 measurements by their ``self`` link (only the new side has it).
The older commit runs from ``git archive REF src`` in a temporary folder with this checkout's
virtualenv (``PYTHONPATH`` first), so both sides share every dependency.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import httpx
from fresh_db import PG_DEFAULT

from batchscore.testing import scratch_postgres

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "bench-Passw0rd"
T0 = datetime(2026, 1, 14, tzinfo=UTC)


def export(ref: str, into: Path) -> Path:
    """The ``src`` tree of ``ref``, extracted under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", ref, "src"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def database_url(backend: str, scratch: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{scratch / f'bench-{time.monotonic_ns()}.db'}"
        return
    base = os.environ.get("BATCHSCORE_TEST_POSTGRES_URL", PG_DEFAULT)
    with scratch_postgres(base, "batchscore_bench_api") as url:
        yield url


@contextmanager
def serve(src: Path, url: str, scratch: Path) -> Iterator[tuple[str, int]]:
    """`batchscore serve` from ``src`` on ``url``: its base URL and process id."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "BATCHSCORE_DATABASE_URL": url,
        "BATCHSCORE_PORT": str(port),
        "BATCHSCORE_ADMIN_PASSWORD": PASSWORD,
        "BATCHSCORE_PASSWORD_PROFILE": "fast",
        "BATCHSCORE_SCHEDULER": "false",
        "BATCHSCORE_LOG_LEVEL": "WARNING",
        "BATCHSCORE_VAR_DIR": str(scratch),
    }
    cmd = [sys.executable, "-c", "from batchscore.cli import app; app()", "serve"]
    log = (scratch / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)  # waiting for the server, bounded by the deadline
        else:
            raise RuntimeError(f"server on {src} did not start")
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def measurement(device: str, second: int) -> dict[str, object]:
    return {
        "source": {"id": device},
        "time": (T0 + timedelta(seconds=second)).isoformat(),
        "type": "c8y_Acceleration",
        "c8y_Acceleration": {
            axis: {"value": second * 0.1 + i, "unit": "m/s2"}
            for i, axis in enumerate(("accelerationX", "accelerationY", "accelerationZ"))
        },
    }


def timed(action: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    count = action()
    return time.perf_counter() - started, count


def run_one(base: str, count: int) -> dict[str, float]:
    """The requests of one side; rates per second."""
    out: dict[str, float] = {}
    with httpx.Client(base_url=base, auth=("admin", PASSWORD), timeout=300) as http:
        device = http.post(
            "/inventory/managedObjects", json={"name": "bench", "c8y_IsDevice": {}}
        ).json()["id"]

        def post_collections() -> int:
            for start in range(0, count, 1000):
                batch = [measurement(device, s) for s in range(start, min(start + 1000, count))]
                r = http.post("/measurement/measurements", json={"measurements": batch})
                r.raise_for_status()
            return count

        seconds, done = timed(post_collections)
        out["POST collections, measurements/s"] = done / seconds

        ids: list[str] = []

        def post_single() -> int:
            for s in range(500):
                r = http.post("/measurement/measurements", json=measurement(device, count + s))
                r.raise_for_status()
                ids.append(r.json()["id"])
            return 500

        seconds, done = timed(post_single)
        out["POST single, requests/s"] = done / seconds

        def get_pages() -> int:
            seen, page = 0, 1
            while True:
                r = http.get(
                    "/measurement/measurements",
                    params={"source": device, "pageSize": 2000, "currentPage": page},
                )
                r.raise_for_status()
                got = len(r.json()["measurements"])
                seen += got
                if got < 2000:
                    return seen
                page += 1

        seconds, done = timed(get_pages)
        out["GET pages of 2000, measurements/s"] = done / seconds

        def get_small() -> int:
            window = {
                "source": device,
                "dateFrom": (T0 + timedelta(minutes=30)).isoformat(),
                "dateTo": (T0 + timedelta(minutes=40)).isoformat(),
            }
            for _ in range(200):
                http.get("/measurement/measurements", params=window).raise_for_status()
            return 200

        seconds, done = timed(get_small)
        out["GET a 10-minute window (page of 5), requests/s"] = done / seconds

        def get_by_id() -> int:
            for measurement_id in ids[:200]:
                r = http.get(f"/measurement/measurements/{measurement_id}")
                if r.status_code != 200:
                    return 0
            return 200

        seconds, done = timed(get_by_id)
        out["GET by id, requests/s"] = done / seconds if done else float("nan")
    return out


def default_baseline() -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), "merge-base", "HEAD", "main"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default=None, help="git ref of the 'before' side")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--measurements", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ref = args.baseline or default_baseline()
    results: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        sides = {"before": export(ref, scratch / "before"), "after": REPO / "src"}
        for round_number in range(args.rounds):
            for side, src in sides.items():
                with database_url(args.backend, scratch) as url, serve(src, url, scratch) as live:
                    results[side].append(run_one(live[0], args.measurements))
                print(f"round {round_number + 1}, {side}: done", file=sys.stderr)
    print(
        f"baseline {ref[:12]} vs. working tree, {args.backend}, {args.measurements:,} "
        f"measurements, median of {args.rounds} rounds"
    )
    print(f"{'':52}{'before':>12}{'after':>12}{'after/before':>14}")
    for metric in results["after"][0]:
        before = statistics.median(r[metric] for r in results["before"])
        after = statistics.median(r[metric] for r in results["after"])
        known = before == before and before > 0  # NaN: the old server had no such route
        before_text = f"{before:,.0f}" if known else "n/a (404)"
        ratio_text = f"{after / before:.2f}x" if known else "n/a"
        print(f"{metric:52}{before_text:>12}{after:>12,.0f}{ratio_text:>14}")


if __name__ == "__main__":
    main()

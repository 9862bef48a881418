"""API load benchmark (design §4, issue 9): a live `batchscore serve` on 127.0.0.1 with 1,000 jobs,
50 concurrent clients mixing reads (list, get, history, inferences) with job creation while
executions run, side by side with a bare FastAPI endpoint served the same way.

    .venv/bin/python bench/load.py --seconds 20 --clients 50 [--profile py-spy.txt]
    .venv/bin/python bench/load.py --client wrk   # the C load generator (apt-get install wrk)

Prints p50/p99 per request kind, requests/s, errors, and the bare endpoint's requests/s.
The default client is one httpx.AsyncClient in this process; on a 2-core machine it competes
with the server for CPU, so ``--client wrk`` runs one ``wrk`` process per request kind instead
(connections split by the mix weights; job creations paced to about 10/s per connection).
wrk sends ``Accept-Encoding: gzip`` as common HTTP clients do (``--accept-encoding identity``
for uncompressed answers); httpx does so by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import defaultdict
from pathlib import Path

import httpx

PASSWORD = "load-Passw0rd"
AUTH = ("default/admin", PASSWORD)
BASE = "/service/zementis"
SENSORS = ["accelerationX", "accelerationY", "accelerationZ", "gyroX", "gyroY", "gyroZ"]
MAPPINGS = {
    s: f"c8y_{'Acceleration' if s.startswith('acc') else 'Gyroscope'}.{s}.value" for s in SENSORS
}
BARE_APP = textwrap.dedent(
    """
    from fastapi import FastAPI
    app = FastAPI()

    @app.get("/items")
    def items() -> list[dict[str, int]]:
        return [{"id": i} for i in range(10)]
    """
)
# Share of each request kind in the mix (weights).
MIX = [("list", 2), ("get", 5), ("history", 4), ("inferences", 4), ("create", 1)]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code in (200, 401):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def start_batchscore(workdir: Path, processes: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "BATCHSCORE_DATABASE_URL": f"sqlite:///{workdir / 'load.db'}",
        "BATCHSCORE_HOST": "127.0.0.1",
        "BATCHSCORE_PORT": str(port),
        "BATCHSCORE_ADMIN_PASSWORD": PASSWORD,
        "BATCHSCORE_LOG_LEVEL": "WARNING",
        "BATCHSCORE_SCHEDULER_INTERVAL_S": "0.5",
        "BATCHSCORE_API_PROCESSES": str(processes),
        "BATCHSCORE_VAR_DIR": str(workdir / "var"),
    }
    cli = Path(sys.executable).with_name("batchscore")
    log = (workdir / "serve.log").open("wb")
    proc = subprocess.Popen([str(cli), "serve"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(f"{base}/health", proc)
    return proc, base


def start_bare(workdir: Path, processes: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    (workdir / "bare_app.py").write_text(BARE_APP)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(processes),
        ],
        cwd=workdir,
    )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(f"{base}/items", proc)
    return proc, base


def job_body(device: int, name: str, cron: str = "0 0 0 1 1 ? 2099") -> dict[str, object]:
    return {
        "jobName": name,
        "associatedGroupOrDeviceId": device,
        "associatedModel": "M",
        "modelToDeviceMappings": MAPPINGS,
        "jobSchedule": {
            "frequency": "periodic",
            "cronExpression": cron,
            "timeZone": "UTC",
            "dataFromPreviousNSeconds": 10**8,
        },
    }


def seed(base: str, jobs: int) -> tuple[int, int]:
    """A model, a device with 2,000 records, ``jobs`` jobs, one of them with a finished run,
    and one that fires every 5 seconds so that executions run during the load."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from batchscore.testing import regression_pmml

    with httpx.Client(base_url=base, auth=AUTH, timeout=60) as http:
        assert http.post(f"{BASE}/model", content=regression_pmml("M", SENSORS)).status_code == 201
        device = int(
            http.post("/inventory/managedObjects", json={"name": "d", "c8y_IsDevice": {}}).json()[
                "id"
            ]
        )
        measurements = [
            {
                "source": {"id": str(device)},
                "time": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
                "type": "t",
                "c8y_Acceleration": {s: {"value": i * 0.1} for s in SENSORS[:3]},
                "c8y_Gyroscope": {s: {"value": i * 0.2} for s in SENSORS[3:]},
            }
            for i in range(2000)
        ]
        r = http.post("/measurement/measurements", json={"measurements": measurements})
        assert r.status_code == 201, r.text
        target = http.post(f"{BASE}/job", json=job_body(device, "target")).json()["jobId"]
        assert http.post(f"{BASE}/job/{target}/run").status_code == 201
        while http.get(f"{BASE}/job/{target}/history/1").json()["jobExecutionStatus"] == "Running":
            time.sleep(0.1)
        http.post(f"{BASE}/job", json=job_body(device, "ticker", "0/5 * * ? * *"))
        for i in range(jobs - 2):
            assert http.post(f"{BASE}/job", json=job_body(device, f"job-{i}")).status_code == 201
        return device, target


async def run_load(
    base: str, clients: int, seconds: float, kinds: list[str], device: int, target: int
) -> tuple[dict[str, list[float]], int, int, float]:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors = 0
    total = 0
    deadline = time.perf_counter() + seconds
    paths = {
        "list": f"{BASE}/jobs",
        "get": f"{BASE}/job/{target}",
        "history": f"{BASE}/job/{target}/history",
        "inferences": f"{BASE}/job/{target}/history/1/inferences",
        "bare": "/items",
    }

    async def worker(n: int, http: httpx.AsyncClient) -> None:
        nonlocal errors, total
        i = n
        while time.perf_counter() < deadline:
            kind = kinds[i % len(kinds)]
            i += 1
            started = time.perf_counter()
            try:
                if kind == "create":
                    r = await http.post(f"{BASE}/job", json=job_body(device, f"load-{n}-{i}"))
                    ok = r.status_code == 201
                else:
                    r = await http.get(paths[kind])
                    ok = r.status_code == 200
            except httpx.TransportError:
                ok = False
            latencies[kind].append((time.perf_counter() - started) * 1000)
            total += 1
            if not ok:
                errors += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, auth=AUTH, limits=limits, timeout=30) as http:
        await asyncio.gather(*(worker(n, http) for n in range(clients)))
    return latencies, errors, total, time.perf_counter() - started


WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
WrkResult = dict[str, tuple[int, int, float, float, float]]
"""kind -> (requests, errors, requests/s, p50 ms, p99 ms)."""


def wrk_script(kind: str, device: int, encoding: str) -> str:
    token = base64.b64encode(f"{AUTH[0]}:{AUTH[1]}".encode()).decode()
    lines = [
        f'wrk.headers["Authorization"] = "Basic {token}"',
        f'wrk.headers["Accept-Encoding"] = "{encoding}"',
    ]
    if kind == "create":
        body = json.dumps(job_body(device, "wrk-created")).replace("\\", "\\\\")
        lines += [
            'wrk.method = "POST"',
            f"wrk.body = [[{body}]]",
            'wrk.headers["Content-Type"] = "application/json"',
            "function delay() return 100 end",
        ]
    return "\n".join(lines) + "\n"


def run_wrk(
    base: str,
    groups: list[tuple[str, int]],
    seconds: float,
    device: int,
    target: int,
    encoding: str = "gzip",
) -> WrkResult:
    """One wrk process per (kind, connections), all at once; their reports parsed."""
    paths = {
        "list": f"{BASE}/jobs",
        "get": f"{BASE}/job/{target}",
        "history": f"{BASE}/job/{target}/history",
        "inferences": f"{BASE}/job/{target}/history/1/inferences",
        "create": f"{BASE}/job",
        "bare": "/items",
    }
    scripts = Path(tempfile.mkdtemp(prefix="batchscore-wrk-"))
    procs = []
    for kind, connections in groups:
        script = scripts / f"{kind}.lua"
        script.write_text(wrk_script(kind, device, encoding))
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--latency"]
        command += ["--timeout", "30s", "-s", str(script), base + paths[kind]]
        procs.append((kind, subprocess.Popen(command, stdout=subprocess.PIPE, text=True)))
    results: WrkResult = {}
    for kind, proc in procs:
        out, _ = proc.communicate(timeout=seconds + 60)
        results[kind] = parse_wrk(out)
    shutil.rmtree(scripts, ignore_errors=True)
    return results


def parse_wrk(out: str) -> tuple[int, int, float, float, float]:
    def latency(q: str) -> float:
        found = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(found.group(1)) * WRK_UNITS[found.group(2)] if found else math.nan

    requests = re.search(r"(\d+) requests in", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(x) for x in sockets.groups()) if sockets else 0
    return (
        int(requests.group(1)) if requests else 0,
        errors,
        float(rate.group(1)) if rate else 0.0,
        latency("50"),
        latency("99"),
    )


def report_wrk(title: str, results: WrkResult) -> float:
    total = sum(r[0] for r in results.values())
    errors = sum(r[1] for r in results.values())
    rate = sum(r[2] for r in results.values())
    print(f"\n{title} (wrk): {total} requests, {rate:.0f} req/s, errors {errors}")
    print(f"{'kind':<12}{'n':>7}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for kind, (n, _, kind_rate, p50, p99) in sorted(results.items()):
        print(f"{kind:<12}{n:>7}{kind_rate:>8.0f}{p50:>9.1f}{p99:>9.1f}")
    return rate


def wrk_groups(clients: int) -> list[tuple[str, int]]:
    total = sum(weight for _, weight in MIX)
    groups = [(kind, max(1, round(clients * weight / total))) for kind, weight in MIX]
    return [(kind, n) for kind, n in groups]


def pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]
        if len(values) > 1
        else values[0]
    )


def report(
    title: str, latencies: dict[str, list[float]], errors: int, total: int, wall: float
) -> None:
    print(
        f"\n{title}: {total} requests in {wall:.1f} s = {total / wall:.0f} req/s, errors {errors}"
    )
    print(f"{'kind':<12}{'n':>7}{'p50 ms':>9}{'p99 ms':>9}")
    for kind, values in sorted(latencies.items()):
        print(f"{kind:<12}{len(values):>7}{pct(values, 50):>9.1f}{pct(values, 99):>9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--profile", type=Path, help="py-spy top-functions output of the server")
    parser.add_argument("--client", choices=["httpx", "wrk"], default="httpx")
    parser.add_argument("--processes", type=int, default=1, help="BATCHSCORE_API_PROCESSES")
    parser.add_argument(
        "--accept-encoding",
        default="gzip",
        help="wrk's Accept-Encoding (gzip, as browsers, curl --compressed, httpx and requests "
        "send; 'identity' for uncompressed answers)",
    )
    args = parser.parse_args()
    if args.client == "wrk" and shutil.which("wrk") is None:
        raise SystemExit("--client wrk needs wrk on PATH (apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="batchscore-load-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        server, base = start_batchscore(workdir, args.processes)
        procs.append(server)
        bare, bare_base = start_bare(workdir, args.processes)
        procs.append(bare)
        t0 = time.perf_counter()
        device, target = seed(base, args.jobs)
        print(f"seeded {args.jobs} jobs in {time.perf_counter() - t0:.1f} s")
        if args.client == "wrk":
            load_with_wrk(args, base, bare_base, device, target)
            return
        kinds = [kind for kind, weight in MIX for _ in range(weight)]
        # Same client, same concurrency, same duration for the reference endpoint.
        bare_result = asyncio.run(run_load(bare_base, args.clients, args.seconds, ["bare"], 0, 0))
        report("bare FastAPI /items", *bare_result)
        for kind in ("list", "inferences"):
            report(
                f"only {kind}",
                *asyncio.run(
                    run_load(base, args.clients, args.seconds / 2, [kind], device, target)
                ),
            )
        spy = None
        if args.profile and shutil.which("py-spy", path=str(Path(sys.executable).parent)):
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("py-spy")),
                    "record",
                    "--pid",
                    str(server.pid),
                    "--duration",
                    str(int(args.seconds)),
                    "--format",
                    "raw",
                    "--output",
                    str(args.profile),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        mixed = asyncio.run(run_load(base, args.clients, args.seconds, kinds, device, target))
        report("batchscore mixed", *mixed)
        if spy is not None:
            spy.wait(timeout=120)
        with httpx.Client(base_url=base, auth=AUTH) as http:
            ticker = next(j for j in http.get(f"{BASE}/jobs").json() if j["jobName"] == "ticker")
            runs = http.get(f"{BASE}/job/{ticker['jobId']}/history").json()
        print(f"\nexecutions of the 5-second job during the run: {len(runs)}")
        mixed_rps = mixed[2] / mixed[3]
        bare_rps = bare_result[2] / bare_result[3]
        print(f"mixed / bare requests/s: {mixed_rps / bare_rps:.2f}")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
        shutil.rmtree(workdir, ignore_errors=True)


def load_with_wrk(
    args: argparse.Namespace, base: str, bare_base: str, device: int, target: int
) -> None:
    seconds, clients, encoding = args.seconds, args.clients, args.accept_encoding
    bare = report_wrk(
        "bare FastAPI /items", run_wrk(bare_base, [("bare", clients)], seconds, 0, 0, encoding)
    )
    for kind in ("list", "inferences"):
        report_wrk(
            f"only {kind}",
            run_wrk(base, [(kind, clients)], seconds / 2, device, target, encoding),
        )
    mixed = report_wrk(
        "batchscore mixed", run_wrk(base, wrk_groups(clients), seconds, device, target, encoding)
    )
    with httpx.Client(base_url=base, auth=AUTH) as http:
        ticker = next(j for j in http.get(f"{BASE}/jobs").json() if j["jobName"] == "ticker")
        runs = http.get(f"{BASE}/job/{ticker['jobId']}/history").json()
    print(f"\nexecutions of the 5-second job during the run: {len(runs)}")
    print(f"mixed / bare requests/s: {mixed / bare:.2f}")


if __name__ == "__main__":
    main()

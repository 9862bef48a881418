"""Inference codec benchmark: the typed chunk format vs the previous one (one zlib stream of
float64 and per-value JSON columns), on the bench IsolationForest's real outputs.

Run: ``.venv/bin/python bench/codec.py [--rows 100000]``. Scores the bench input with
``iforest_100`` (``bench/pmml_models.py``), cuts the outputs into chunks of 2,000 records as an
execution does, and times encoding and decoding all chunks with each format (best of 5), with
the bytes stored. Both decode to the same values (checked).
"""

from __future__ import annotations

import argparse
import json
import struct
import time
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
from pmml_models import COLUMNS, bench_models, load_input

from batchscore.execution.codec import Chunk, decode_chunk, encode_chunk
from batchscore.runtime.pmml import PmmlEngine


def encode_v1(chunk: Chunk) -> bytes:
    """The previous format, as it was written (for comparison only)."""
    parts, layout, offset = [], [], 0
    columns = {"\x00devices": chunk.devices, "\x00times": chunk.times_ns, **chunk.columns}
    for name, values in columns.items():
        if values.dtype != object:
            kind = "i8" if values.dtype == np.int64 else "f8"
            data = values.astype("<" + kind).tobytes()
        else:
            kind = "json"
            data = json.dumps(values.tolist(), allow_nan=False).encode()
        layout.append({"name": name, "kind": kind, "offset": offset, "length": len(data)})
        parts.append(data)
        offset += len(data)
    header = json.dumps({"rows": len(chunk), "layout": layout}).encode()
    return zlib.compress(struct.pack("<I", len(header)) + header + b"".join(parts), 1)


def best(fn: Callable[[], Any], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    frame = load_input()[: args.rows]
    (model,) = bench_models(load_input(), {"iforest_100"})
    compiled = PmmlEngine().load(model.pmml.read_bytes())
    outputs = compiled.score({k: frame[:, COLUMNS.index(k)].copy() for k in model.pmml_inputs})
    n = len(frame)
    times = np.arange(n, dtype=np.int64) * 1_000_000_000
    devices = np.repeat(np.arange(n // 3600 + 1, dtype=np.int64), 3600)[:n]
    chunks = [
        Chunk(
            devices[i : i + 2000],
            times[i : i + 2000],
            {k: v[i : i + 2000] for k, v in outputs.items()},
        )
        for i in range(0, n, 2000)
    ]
    print(f"{n} records, outputs {', '.join(f'{k}:{v.dtype}' for k, v in outputs.items())}")
    print(f"{'format':8s} {'encode ms':>10s} {'decode ms':>10s} {'bytes':>10s}")
    results = {}
    for name, encode in (("previous", encode_v1), ("typed", encode_chunk)):
        payloads = [encode(c) for c in chunks]
        enc = best(lambda encode=encode: [encode(c) for c in chunks])
        dec = best(lambda payloads=payloads: [decode_chunk(p) for p in payloads])
        size = sum(map(len, payloads))
        results[name] = (enc, dec, size, [decode_chunk(p) for p in payloads])
        print(f"{name:8s} {enc * 1e3:10.1f} {dec * 1e3:10.1f} {size:10d}")
    old, new = results["previous"][3], results["typed"][3]
    for a, b in zip(old, new, strict=True):
        for k in a.columns:
            x, y = a.columns[k], b.columns[k]
            ok = (
                np.array_equal(x, y, equal_nan=True)
                if x.dtype == np.float64
                else list(x) == list(y)
            )
            assert ok, k
    (e0, d0, s0, _), (e1, d1, s1, _) = results["previous"], results["typed"]
    print(
        f"typed vs previous: encode {e0 / e1:.1f}x faster, decode {d0 / d1:.1f}x faster, "
        f"{s1 / s0:.2f}x the bytes; values identical"
    )


if __name__ == "__main__":
    main()

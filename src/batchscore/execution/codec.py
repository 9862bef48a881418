"""The stored form of an inference chunk: columnar, compressed, never one SQL row per record.

A chunk holds a run of records of one execution (one or more devices, device order then time):
per record its device and time, and one column per model output. Float columns are stored as
raw float64 (NaN = missing); every other column (labels, booleans with missing) as JSON.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

_HEADER = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class Chunk:
    devices: npt.NDArray[np.int64]
    times_ns: npt.NDArray[np.int64]
    columns: dict[str, npt.NDArray[Any]]

    def __len__(self) -> int:
        return len(self.times_ns)

    def slice(self, start: int, stop: int) -> Chunk:
        return Chunk(
            self.devices[start:stop],
            self.times_ns[start:stop],
            {name: values[start:stop] for name, values in self.columns.items()},
        )

    @staticmethod
    def concat(parts: list[Chunk]) -> Chunk:
        if len(parts) == 1:
            return parts[0]
        names = list(parts[0].columns)
        return Chunk(
            np.concatenate([p.devices for p in parts]),
            np.concatenate([p.times_ns for p in parts]),
            {n: np.concatenate([p.columns[n] for p in parts]) for n in names},
        )


def encode_chunk(chunk: Chunk) -> bytes:
    parts: list[bytes] = []
    layout: list[dict[str, Any]] = []
    offset = 0

    def put(name: str, kind: str, data: bytes) -> None:
        nonlocal offset
        layout.append({"name": name, "kind": kind, "offset": offset, "length": len(data)})
        parts.append(data)
        offset += len(data)

    put("\x00devices", "i8", chunk.devices.astype("<i8").tobytes())
    put("\x00times", "i8", chunk.times_ns.astype("<i8").tobytes())
    for name, values in chunk.columns.items():
        if values.dtype == np.float64:
            put(name, "f8", values.astype("<f8").tobytes())
        else:
            put(name, "json", _json_column(values))
    header = json.dumps({"rows": len(chunk), "layout": layout}).encode()
    return zlib.compress(_HEADER.pack(len(header)) + header + b"".join(parts), 1)


def decode_chunk(payload: bytes) -> Chunk:
    raw = zlib.decompress(payload)
    (size,) = _HEADER.unpack_from(raw)
    header = json.loads(raw[_HEADER.size : _HEADER.size + size])
    body = memoryview(raw)[_HEADER.size + size :]
    arrays: dict[str, npt.NDArray[Any]] = {}
    for item in header["layout"]:
        data = body[item["offset"] : item["offset"] + item["length"]]
        if item["kind"] in ("f8", "i8"):
            arrays[item["name"]] = np.frombuffer(data, dtype="<" + item["kind"]).copy()
        else:
            arrays[item["name"]] = np.array(json.loads(bytes(data)), dtype=object)
    devices = arrays.pop("\x00devices")
    times = arrays.pop("\x00times")
    return Chunk(devices, times, arrays)


def _json_column(values: npt.NDArray[Any]) -> bytes:
    items = values.tolist()
    try:
        # Labels and booleans (with None) are plain JSON already: no per-value conversion.
        return json.dumps(items, allow_nan=False).encode()
    except (TypeError, ValueError):  # NaN or numpy scalars inside an object column
        return json.dumps([_plain(v) for v in items]).encode()


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN inside an object column
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value

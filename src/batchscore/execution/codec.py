"""The stored form of an inference chunk: columnar typed arrays, never one SQL row per record.

A chunk holds a run of records of one execution (one or more devices, device order then time):
per record its device and time, and one column per model output. Each column is stored in the
cheapest exact form for its values:

* ``f8``: float64 (NaN = missing), raw little-endian;
* ``bool``: one int8 per record, 1 / 0 / -1 for True / False / missing;
* ``dict``: labels as a JSON list of the distinct strings plus one int32 code per record
  (-1 = missing);
* ``json``: anything else (mixed or numeric objects), as a JSON list.

Each section is zlib-compressed only when that pays: device ids, times, booleans and codes
compress several times over, while model scores (float64 noise) hardly do, so compressing them
cost time for nothing. Floats are compressed when a sample of the column compresses below
:data:`FLOAT_GAIN` of its size (constant or rounded outputs do).

Payloads written before this format (one zlib stream of the whole chunk, floats and JSON only)
still decode: a version-2 payload starts with :data:`MAGIC`, which no zlib stream does.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

MAGIC = b"BSC2"
_HEADER = struct.Struct("<I")
FLOAT_SAMPLE_BYTES = 4096
FLOAT_GAIN = 0.8
"""A float column is compressed when its first :data:`FLOAT_SAMPLE_BYTES` shrink below this
share of their size."""


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

    def put(name: str, kind: str, data: bytes, *, compress: bool, **extra: Any) -> None:
        nonlocal offset
        packed = zlib.compress(data, 1) if compress else data
        zipped = compress and len(packed) < len(data)
        stored = packed if zipped else data
        item = {"name": name, "kind": kind, "offset": offset, "length": len(stored)}
        layout.append({**item, "z": zipped, **extra})
        parts.append(stored)
        offset += len(stored)

    put("\x00devices", "i8", chunk.devices.astype("<i8").tobytes(), compress=True)
    put("\x00times", "i8", chunk.times_ns.astype("<i8").tobytes(), compress=True)
    for name, values in chunk.columns.items():
        if values.dtype == np.float64:
            data = values.astype("<f8").tobytes()
            put(name, "f8", data, compress=_compresses(data))
            continue
        items = values.tolist()
        kind = _object_kind(items)
        if kind == "bool":
            missing = values == None  # noqa: E711 (elementwise on an object array)
            flags = np.where(missing, -1, values == True).astype(np.int8)  # noqa: E712
            put(name, "bool", flags.tobytes(), compress=True)
        elif kind == "dict":
            labels, codes = _dictionary(items)
            put(name, "dict", codes.astype("<i4").tobytes(), compress=True, labels=labels)
        else:
            put(name, "json", _json_column(items), compress=True)
    header = json.dumps({"rows": len(chunk), "layout": layout}).encode()
    return MAGIC + _HEADER.pack(len(header)) + header + b"".join(parts)


def decode_chunk(payload: bytes) -> Chunk:
    if not payload.startswith(MAGIC):
        return _decode_v1(payload)
    (size,) = _HEADER.unpack_from(payload, len(MAGIC))
    start = len(MAGIC) + _HEADER.size
    header = json.loads(payload[start : start + size])
    body = memoryview(payload)[start + size :]
    arrays: dict[str, npt.NDArray[Any]] = {}
    for item in header["layout"]:
        data = bytes(body[item["offset"] : item["offset"] + item["length"]])
        if item["z"]:
            data = zlib.decompress(data)
        arrays[item["name"]] = _column(item, data)
    devices = arrays.pop("\x00devices")
    times = arrays.pop("\x00times")
    return Chunk(devices, times, arrays)


def _column(item: dict[str, Any], data: bytes) -> npt.NDArray[Any]:
    kind = item["kind"]
    if kind in ("f8", "i8"):
        typed: npt.NDArray[Any] = np.frombuffer(data, dtype="<" + kind).copy()
        return typed
    if kind == "bool":
        table: npt.NDArray[Any] = np.array([False, True, None], dtype=object)
        return table[np.frombuffer(data, dtype=np.int8)]  # -1 indexes the last: None
    if kind == "dict":
        labels: npt.NDArray[Any] = np.array([*item["labels"], None], dtype=object)
        return labels[np.frombuffer(data, dtype=np.dtype("<i4"))]
    parsed: npt.NDArray[Any] = np.array(json.loads(data), dtype=object)
    return parsed


def _compresses(data: bytes) -> bool:
    sample = data[:FLOAT_SAMPLE_BYTES]
    return bool(sample) and len(zlib.compress(sample, 1)) < FLOAT_GAIN * len(sample)


def _object_kind(items: list[Any]) -> str:
    """``bool`` for True/False/None only, ``dict`` for str/None only, else ``json``."""
    kinds = set(map(type, items)) - {type(None)}
    if kinds == {bool}:
        return "bool"
    if kinds == {str}:
        return "dict"
    return "json"


def _dictionary(items: list[str | None]) -> tuple[list[str], npt.NDArray[np.int32]]:
    index: dict[str, int] = {}
    codes = np.fromiter(
        (-1 if v is None else index.setdefault(v, len(index)) for v in items),
        dtype=np.int32,
        count=len(items),
    )
    return list(index), codes


def _json_column(items: list[Any]) -> bytes:
    try:
        return json.dumps(items, allow_nan=False).encode()
    except (TypeError, ValueError):  # NaN or numpy scalars inside an object column
        return json.dumps([_plain(v) for v in items]).encode()


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN inside an object column
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode_v1(payload: bytes) -> Chunk:
    """A chunk written before the typed format: one zlib stream, float64 and JSON columns."""
    raw = zlib.decompress(payload)
    (size,) = _HEADER.unpack_from(raw)
    header = json.loads(raw[_HEADER.size : _HEADER.size + size])
    body = memoryview(raw)[_HEADER.size + size :]
    arrays = {
        item["name"]: _column(item, bytes(body[item["offset"] : item["offset"] + item["length"]]))
        for item in header["layout"]
    }
    devices = arrays.pop("\x00devices")
    times = arrays.pop("\x00times")
    return Chunk(devices, times, arrays)

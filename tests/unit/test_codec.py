"""The inference chunk codec: every column kind round-trips exactly, chunks written by the
previous format still decode to the same values, and float scores are not compressed for
nothing."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from batchscore.execution.codec import MAGIC, Chunk, decode_chunk, encode_chunk

NAN = float("nan")


def objects(*values: Any) -> npt.NDArray[Any]:
    return np.array(list(values), dtype=object)


def sample_chunk(rows: int = 2000, seed: int = 3) -> Chunk:
    rng = np.random.default_rng(seed)
    score = rng.normal(size=rows)
    score[::97] = NAN
    flags = rng.random(rows) < 0.1
    outlier = np.array(flags.tolist(), dtype=object)
    outlier[::101] = None
    labels = np.array(rng.choice(["idle", "walk", "run"], rows).tolist(), dtype=object)
    labels[::89] = None
    mixed = np.array([i if i % 3 else f"n{i}" for i in range(rows)], dtype=object)
    return Chunk(
        np.repeat(np.array([101, 102], dtype=np.int64), [rows // 2, rows - rows // 2]),
        np.arange(rows, dtype=np.int64) * 1_000_000_000 + 1_768_000_000_000_000_000,
        {"score": score, "outlier": outlier, "label": labels, "mixed": mixed},
    )


def same(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> bool:
    if a.dtype == np.float64:
        return b.dtype == np.float64 and np.array_equal(a, b, equal_nan=True)
    return b.dtype == object and [(type(x), x) for x in a] == [(type(y), y) for y in b]


def test_every_column_kind_round_trips_with_its_python_types() -> None:
    chunk = sample_chunk()
    back = decode_chunk(encode_chunk(chunk))
    assert np.array_equal(back.devices, chunk.devices)
    assert np.array_equal(back.times_ns, chunk.times_ns)
    assert list(back.columns) == list(chunk.columns)
    for name, values in chunk.columns.items():
        assert same(values, back.columns[name]), name


def old_format(chunk: Chunk) -> bytes:
    """The payload the codec wrote before typed columns (one zlib stream, f8 and JSON)."""
    parts, layout, offset = [], [], 0
    columns = {"\x00devices": chunk.devices, "\x00times": chunk.times_ns, **chunk.columns}
    for name, values in columns.items():
        if values.dtype != object:
            kind, data = values.dtype.str.lstrip("<"), values.astype("<" + values.dtype.str[1:])
            data = data.tobytes()
        else:
            kind = "json"
            data = json.dumps([None if v != v else v for v in values.tolist()]).encode()
        layout.append({"name": name, "kind": kind, "offset": offset, "length": len(data)})
        parts.append(data)
        offset += len(data)
    header = json.dumps({"rows": len(chunk), "layout": layout}).encode()
    return zlib.compress(struct.pack("<I", len(header)) + header + b"".join(parts), 1)


def test_chunks_of_the_previous_format_decode_to_the_same_values() -> None:
    chunk = sample_chunk(rows=500)
    old = decode_chunk(old_format(chunk))
    new = decode_chunk(encode_chunk(chunk))
    for name in chunk.columns:
        assert same(old.columns[name], new.columns[name]), name


def layout_of(payload: bytes) -> dict[str, dict[str, Any]]:
    (size,) = struct.unpack_from("<I", payload, len(MAGIC))
    start = len(MAGIC) + 4
    return {i["name"]: i for i in json.loads(payload[start : start + size])["layout"]}


def test_float_scores_are_stored_raw_and_regular_columns_compressed() -> None:
    chunk = sample_chunk()
    chunk.columns["constant"] = np.full(len(chunk), 0.5)
    layout = layout_of(encode_chunk(chunk))
    assert layout["score"]["z"] is False  # noise does not compress: stored raw
    assert layout["score"]["length"] == 8 * len(chunk)
    assert layout["constant"]["z"] is True
    assert layout["outlier"]["kind"] == "bool"
    assert layout["outlier"]["z"] is True
    assert layout["label"]["kind"] == "dict"
    assert layout["label"]["labels"] == sorted(
        layout["label"]["labels"], key=list(chunk.columns["label"]).index
    )
    assert layout["\x00times"]["z"] is True
    assert layout["\x00devices"]["z"] is True


def test_the_typed_payload_is_smaller_than_the_old_one() -> None:
    chunk = sample_chunk()
    del chunk.columns["mixed"]
    assert len(encode_chunk(chunk)) < len(old_format(chunk))


@pytest.mark.parametrize(
    "values",
    [
        objects(None, None),
        objects(True, None, False),
        objects("a", None, "a", "b"),
        objects(1, 2.5, None),
        objects(),
    ],
    ids=["all-missing", "bools", "labels", "numbers", "empty"],
)
def test_edge_columns_round_trip(values: npt.NDArray[Any]) -> None:
    n = len(values)
    chunk = Chunk(np.zeros(n, dtype=np.int64), np.arange(n, dtype=np.int64), {"v": values})
    assert same(values, decode_chunk(encode_chunk(chunk)).columns["v"])

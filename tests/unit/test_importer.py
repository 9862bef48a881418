"""Import validation and file reading: layouts, headers, cells, CSV and Parquet blocks."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batchscore.errors import Invalid
from batchscore.service.import_files import Block, open_blocks
from batchscore.service.importer import (
    Layout,
    check_header,
    detect_layout,
    long_values,
    wide_path,
    wide_values,
)
from batchscore.store.series import ValueRow

T0_NS = 1_768_348_800 * 10**9  # 2026-01-14T00:00:00Z


def block(columns: dict[str, list[object]]) -> Block:
    rows = len(next(iter(columns.values())))
    return Block(columns, [f"line {i + 2}" for i in range(rows)])


def test_layout_is_told_by_the_header() -> None:
    assert detect_layout(["time", "fragment", "series", "value"]) is Layout.LONG
    assert detect_layout(["value", "series", "time", "fragment", "unit"]) is Layout.LONG
    assert detect_layout(["time", "c8y_Acceleration.accelerationX"]) is Layout.WIDE


def test_wide_paths() -> None:
    assert wide_path("c8y_A.x") == ("c8y_A", "x")
    assert wide_path("c8y_A.x.value") == ("c8y_A", "x")
    for bad in ("c8y_A", "a.b.c", ".x", "a. x", "time"):
        assert wide_path(bad) is None


def test_header_problems_are_listed_together() -> None:
    check_header(Layout.LONG, ["time", "fragment", "series", "value", "unit", "type"])
    check_header(Layout.WIDE, ["time", "a.x", "b.y.value"])
    with pytest.raises(Invalid) as raised:
        check_header(Layout.LONG, ["time", "series", "value", "color"])
    assert raised.value.messages == (
        "The long layout needs the column(s) fragment.",
        "Unknown column(s) for the long layout: color (expected time, fragment, series, value "
        "and optionally unit, type, device).",
    )
    with pytest.raises(Invalid, match=r"'temperature' are not 'fragment\.series' names"):
        check_header(Layout.WIDE, ["time", "a.x", "temperature"])
    with pytest.raises(Invalid, match="needs a 'time' column"):
        check_header(Layout.WIDE, ["a.x"])
    with pytest.raises(Invalid, match="repeats the column"):
        check_header(Layout.WIDE, ["time", "a.x", "a.x"])


def test_long_rows_become_values() -> None:
    rows = long_values(
        block(
            {
                "time": ["2026-01-14T00:00:00Z", "2026-01-14T01:00:01.5+01:00", T0_NS + 7],
                "fragment": ["c8y_A", "c8y_A", "c8y_B"],
                "series": ["x", "x", "y"],
                "value": ["1.5", " -2e3 ", 4],
                "unit": ["m/s2", "", None],
                "type": ["", "custom", None],
            }
        ),
        device_id=9,
    )
    assert rows == [
        ValueRow(9, "c8y_A", "x", T0_NS, 1.5, "m/s2", "c8y_A"),
        ValueRow(9, "c8y_A", "x", T0_NS + 1_500_000_000, -2000.0, None, "custom"),
        ValueRow(9, "c8y_B", "y", T0_NS + 7, 4.0, None, "c8y_B"),
    ]
    typed = long_values(
        block({"time": [T0_NS], "fragment": ["f"], "series": ["s"], "value": [1]}), 1, "t"
    )
    assert typed[0].type == "t"


def test_bad_long_rows_are_all_named_by_line() -> None:
    with pytest.raises(Invalid) as raised:
        long_values(
            block(
                {
                    "time": ["2026-01-14T00:00:00", "2026-01-14T00:00:00Z", "1969-12-31T00:00:00Z"],
                    "fragment": ["f", "f.g", "f"],
                    "series": ["s", "s", "s"],
                    "value": ["1", "", "inf"],
                    "unit": ["", "u" * 33, ""],
                }
            ),
            1,
        )
    assert raised.value.messages == (
        "line 2: time '2026-01-14T00:00:00' is not ISO-8601 with a UTC offset.",
        "line 3: 'f.g'.'s' is not a fragment.series.",
        "line 3: the unit has more than 32 characters.",
        "line 4: time must lie in [1970-01-01, 2100-01-01) UTC.",
        "line 4: value must be a finite number.",
        "Rows before this block were imported; re-running after a fix is safe.",
    )
    with pytest.raises(Invalid, match="line 2: the value is missing"):
        long_values(block({"time": [T0_NS], "fragment": ["f"], "series": ["s"], "value": [""]}), 1)


def test_wide_rows_skip_gaps() -> None:
    rows = wide_values(
        block(
            {
                "time": ["2026-01-14T00:00:00Z", "2026-01-14T00:00:01Z"],
                "c8y_A.x": ["1", ""],
                "c8y_B.y.value": [None, float("nan")],
                "c8y_B.z": [2.5, "3"],
            }
        ),
        device_id=4,
    )
    assert rows == [
        ValueRow(4, "c8y_A", "x", T0_NS, 1.0, None, "c8y_A"),
        ValueRow(4, "c8y_B", "z", T0_NS, 2.5, None, "c8y_B"),
        ValueRow(4, "c8y_B", "z", T0_NS + 10**9, 3.0, None, "c8y_B"),
    ]
    with pytest.raises(Invalid) as raised:
        wide_values(block({"time": ["2026-01-14T00:00:00Z", "x"], "a.b": ["oops", "1"]}), 1)
    assert raised.value.messages[:2] == (
        "line 2: a.b 'oops' is not a number.",
        "line 3: time 'x' is not ISO-8601 with a UTC offset.",
    )


def read_all(path: Path, rows: int = 2) -> tuple[list[str], list[Block]]:
    with open_blocks(path) as (header, blocks):
        return header, list(blocks(rows))


def test_csv_blocks_track_lines_and_progress(tmp_path: Path) -> None:
    text = "\ufefftime;a.x;a.y\n2026-01-14T00:00:00Z;1;2\n\n2026-01-14T00:00:01Z;3;\n" + "".join(
        f"2026-01-14T00:01:{s:02d}Z;{s};{s}\n" for s in range(3)
    )
    path = tmp_path / "wide.csv"
    path.write_text(text, encoding="utf-8")
    header, blocks = read_all(path)
    assert header == ["time", "a.x", "a.y"]
    assert [len(b) for b in blocks] == [2, 2, 1]
    assert blocks[0].lines == ["line 2", "line 4"]
    assert blocks[0].columns["a.y"] == ["2", ""]
    assert blocks[-1].done == blocks[-1].total == path.stat().st_size

    zipped = tmp_path / "wide.csv.gz"
    zipped.write_bytes(gzip.compress(text.encode()))
    assert [b.columns for b in read_all(zipped)[1]] == [b.columns for b in blocks]


def test_csv_problems(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(Invalid, match=r"empty\.csv: the file is empty"):
        read_all(empty)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("time,a.x\n2026-01-14T00:00:00Z,1,2\n")
    with pytest.raises(Invalid, match=r"ragged\.csv line 2: 3 fields where the header has 2"):
        read_all(ragged)
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(Invalid, match="must be CSV"):
        read_all(tmp_path / "x.json")
    with pytest.raises(Invalid, match="is not a readable file"):
        read_all(tmp_path)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("time,a.x\n2026-01-14T00:00:00Z,\xe9\n".encode("latin-1"))
    with pytest.raises(Invalid, match=r"latin\.csv: cannot be read as UTF-8 CSV"):
        read_all(latin)


def test_parquet_blocks(tmp_path: Path) -> None:
    times = pa.array([T0_NS, T0_NS + 10**9, T0_NS + 2 * 10**9], pa.timestamp("ns", tz="UTC"))
    table = pa.table({"time": times, "a.x": [1.0, None, 3.0], "a.y": [1, 2, 3]})
    path = tmp_path / "wide.parquet"
    pq.write_table(table, path)
    header, blocks = read_all(path)
    assert header == ["time", "a.x", "a.y"]
    assert [b.lines for b in blocks] == [["row 1", "row 2"], ["row 3"]]
    assert blocks[0].columns["time"] == [T0_NS, T0_NS + 10**9]
    assert blocks[0].columns["a.x"] == [1.0, None]
    assert (blocks[-1].done, blocks[-1].total) == (3, 3)

    millis = pa.table({"time": pa.array([T0_NS // 10**6], pa.timestamp("ms", tz="Asia/Kolkata"))})
    pq.write_table(millis.append_column("a.x", pa.array([1.0])), tmp_path / "ms.parquet")
    assert read_all(tmp_path / "ms.parquet")[1][0].columns["time"] == [T0_NS]

    naive = pa.table({"time": pa.array([T0_NS], pa.timestamp("ns")), "a.x": [1.0]})
    pq.write_table(naive, tmp_path / "naive.parquet")
    with pytest.raises(Invalid, match="timestamps without a time zone"):
        read_all(tmp_path / "naive.parquet")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(Invalid, match="cannot be read as Parquet"):
        read_all(tmp_path / "broken.parquet")

"""Reading import files block by block: CSV (optionally gzipped) and Parquet.

A file becomes its header and an iterator of :class:`Block`, columns of cells in the file's own
terms; what the cells mean is checked by the importer.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from batchscore.errors import Invalid

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt")
_RESUME = "Rows before this block were imported; re-running after a fix is safe."
MAX_LINE_CHARS = 1024 * 1024
"""Longest line (and CSV record) of an import file, in characters."""


@dataclass(slots=True)
class Block:
    """Rows of a file as columns: time cells are ISO-8601 text or epoch nanoseconds, value
    cells text, numbers or None. ``lines[i]`` names row ``i`` in messages; ``done`` of ``total``
    tells how far into the file the block ends (bytes for CSV, rows for Parquet)."""

    columns: Mapping[str, Sequence[Any]]
    lines: Sequence[str]
    done: int = 0
    total: int = 0

    def __len__(self) -> int:
        return len(self.lines)


BlockReader = Callable[[int], Iterator[Block]]


@contextmanager
def open_blocks(path: Path) -> Iterator[tuple[list[str], BlockReader]]:
    """The file's header and a reader of its blocks (``reader(rows)`` yields blocks of at most
    ``rows`` rows); the file is closed when the context ends."""
    if not path.is_file():
        raise Invalid(f"{path} is not a readable file.")
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        with _parquet_blocks(path) as found:
            yield found
    elif name.endswith(CSV_SUFFIXES):
        with _csv_blocks(path) as found:
            yield found
    else:
        raise Invalid(f"{path.name}: the file must be CSV (.csv, .csv.gz) or Parquet (.parquet).")


class BoundedLines:
    """The lines of a text stream, each read with at most ``limit`` characters, so a file with
    one enormous line (a 2 GB line compresses to a few MB of gzip) costs ``limit``, not the
    line; a CSV record spanning several lines (quoted newlines) is bounded the same way once
    :meth:`record_done` marks where records end."""

    def __init__(self, text: io.TextIOBase, name: str, limit: int = MAX_LINE_CHARS) -> None:
        self.text = text
        self.name = name
        self.limit = limit
        self.line = 0
        self._record = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self.text.readline(self.limit + 1)
        if not line:
            raise StopIteration
        self.line += 1
        self._record += len(line)
        if self._record > self.limit:
            raise Invalid(
                f"{self.name} line {self.line}: longer than {self.limit:,} characters; "
                "is this a CSV file with one record per line?",
                _RESUME if self.line > 1 else "Nothing was imported.",
            )
        return line

    def record_done(self) -> None:
        self._record = 0


@contextmanager
def _csv_blocks(path: Path) -> Iterator[tuple[list[str], BlockReader]]:
    """A UTF-8 CSV file; the separator (comma, semicolon or tab) is the one the header uses
    most."""
    with path.open("rb") as raw:
        try:
            stream: BinaryIO | gzip.GzipFile = (
                gzip.GzipFile(fileobj=raw) if path.name.lower().endswith(".gz") else raw
            )
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
            lines = BoundedLines(text, path.name)
            first = next(lines, "")
            lines.record_done()
        except (OSError, UnicodeDecodeError, EOFError) as exc:
            raise Invalid(f"{path.name}: cannot be read as UTF-8 CSV ({exc}).") from None
        if not first.strip():
            raise Invalid(f"{path.name}: the file is empty; a header line is expected.")
        delimiter = max(",;\t", key=first.count)
        try:
            header = [c.strip() for c in next(csv.reader([first], delimiter=delimiter))]
        except csv.Error as exc:
            raise Invalid(f"{path.name}: the header line cannot be read as CSV ({exc}).") from None
        total = path.stat().st_size
        reader = csv.reader(lines, delimiter=delimiter)

        def blocks(rows_per_block: int) -> Iterator[Block]:
            while True:
                cells: list[list[str]] = []
                numbers: list[str] = []
                try:
                    for row in reader:
                        lines.record_done()
                        if not row or (len(row) == 1 and not row[0].strip()):
                            continue
                        line = reader.line_num + 1  # the header was read before the reader
                        if len(row) != len(header):
                            raise Invalid(
                                f"{path.name} line {line}: {len(row)} fields where the header "
                                f"has {len(header)}.",
                                _RESUME,
                            )
                        cells.append(row)
                        numbers.append(f"line {line}")
                        if len(cells) >= rows_per_block:
                            break
                except (csv.Error, UnicodeDecodeError, OSError, EOFError) as exc:
                    raise Invalid(f"{path.name}: cannot be read as CSV ({exc}).", _RESUME) from None
                if not cells:
                    return
                columns = {name: [row[i] for row in cells] for i, name in enumerate(header)}
                yield Block(columns, numbers, raw.tell(), total)

        yield header, blocks


@contextmanager
def _parquet_blocks(path: Path) -> Iterator[tuple[list[str], BlockReader]]:
    """A Parquet file; ``time`` must hold zone-aware timestamps or ISO-8601 text."""
    # pyarrow takes ~0.3 s to import: only Parquet imports pay for it, not every CLI start.
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise Invalid(f"{path.name}: cannot be read as Parquet ({exc}).") from None
    header = [str(n) for n in parquet.schema_arrow.names]
    total = int(parquet.metadata.num_rows)

    def blocks(rows_per_block: int) -> Iterator[Block]:
        done = 0
        try:
            for batch in parquet.iter_batches(batch_size=rows_per_block):
                columns = {
                    str(name): _parquet_cells(pa, path, str(name), batch.column(i))
                    for i, name in enumerate(batch.schema.names)
                }
                lines = [f"row {done + i + 1}" for i in range(batch.num_rows)]
                done += batch.num_rows
                yield Block(columns, lines, done, total)
        except (pa.ArrowException, OSError) as exc:
            raise Invalid(f"{path.name}: cannot be read as Parquet ({exc}).", _RESUME) from None

    try:
        yield header, blocks
    finally:
        parquet.close()


def _parquet_cells(pa: Any, path: Path, name: str, column: Any) -> list[Any]:
    kind = column.type
    if name != "time":
        return list(column.to_pylist())
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            raise Invalid(
                f"{path.name}: column 'time' holds timestamps without a time zone; write them "
                "with one (e.g. UTC) or as ISO-8601 text with an offset."
            )
        try:
            nanos = column.cast(pa.timestamp("ns", tz=kind.tz)).cast(pa.int64())
        except pa.ArrowInvalid:
            raise Invalid(
                f"{path.name}: column 'time' has instants outside [1970-01-01, 2100-01-01).",
                _RESUME,
            ) from None
        return list(nanos.to_pylist())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return list(column.to_pylist())
    raise Invalid(
        f"{path.name}: column 'time' has type {kind}; zone-aware timestamps or ISO-8601 text "
        "are expected."
    )

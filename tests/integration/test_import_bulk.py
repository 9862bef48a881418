"""Bulk import at the driver's pace: the columnar way of wide files stores exactly what the
value-by-value way stores (ids, documents, series values, skipped values), and folders of
files import one device per file, in parallel on PostgreSQL."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from batchscore.cli import app
from batchscore.domain.measurements import to_ns
from batchscore.errors import Invalid
from batchscore.service import importer
from batchscore.service.container import Services
from batchscore.service.import_folder import import_folder
from batchscore.service.importer import ImportProgress, import_measurements
from batchscore.store.db import Database
from batchscore.store.tables import measurement_values, measurements

TENANT = "t1"
T0 = datetime(2026, 1, 14, tzinfo=UTC)
HEADER = ["device", "time", "c8y_A.x", "c8y_A.y.value", "c8y_G.g"]


def devices(services: Services, count: int) -> list[int]:
    return [
        services.inventory.create(TENANT, {"name": f"d{i}", "c8y_IsDevice": {}}).id
        for i in range(count)
    ]


def cell(s: int, column: int) -> Any:
    """Values with gaps (empty, NaN) and awkward floats."""
    if (s + column) % 7 == 0:
        return ""
    if (s * column) % 11 == 5:
        return "nan"
    return repr(math.sin(s * 0.37 + column) * 10 ** (column - 1))


def write(path: Path, owners: list[int], seconds: range) -> Path:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for s in seconds:
            at = (T0 + timedelta(seconds=s)).isoformat()
            for rank, device in enumerate(owners):
                out.writerow([device, at, *(cell(s + rank, c) for c in range(3))])
    return path


def stored(db: Database, owners: list[int]) -> tuple[list[Any], list[Any]]:
    """The rows of ``owners`` with device ids and measurement ids made relative, so imports
    into different devices compare."""
    rank = {d: i for i, d in enumerate(owners)}
    with db.read() as conn:
        docs = conn.execute(
            select(measurements).where(measurements.c.device_id.in_(owners)).order_by("id")
        ).all()
        base = docs[0].id
        values = conn.execute(
            select(measurement_values).where(measurement_values.c.device_id.in_(owners))
        ).all()
    return (
        [(d.id - base, rank[d.device_id], d.time_ns, d.type, d.fragments) for d in docs],
        sorted(
            (rank[v.device_id], v.fragment, v.series, v.time_ns, v.measurement_id - base, v.value)
            for v in values
        ),
    )


@pytest.mark.parametrize("measurement_type", [None, "c8y_Mixed"])
def test_columnar_way_stores_what_the_exact_way_stores(
    services: Services,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    measurement_type: str | None,
) -> None:
    fast, exact = devices(services, 3), devices(services, 3)
    summaries = {}
    for name, owners in (("fast", fast), ("exact", exact)):
        with monkeypatch.context() as patch:
            if name == "exact":
                patch.setattr(importer, "wide_grid", lambda *_: None)
            first = import_measurements(
                services.db,
                TENANT,
                None,
                write(tmp_path / f"{name}1.csv", owners, range(0, 300)),
                measurement_type=measurement_type,
                batch_values=400,
            )
            # half of it again, half new: the stored half is skipped value by value
            again = import_measurements(
                services.db,
                TENANT,
                None,
                write(tmp_path / f"{name}2.csv", owners, range(150, 450)),
                measurement_type=measurement_type,
                batch_values=400,
            )
        summaries[name] = (first, again)
        assert again.kept > 0
    for one, other in zip(summaries["fast"], summaries["exact"], strict=True):
        assert (one.rows, one.values, one.kept, one.devices, one.series) == (
            other.rows,
            other.values,
            other.kept,
            other.devices,
            other.series,
        )
        assert (one.first_ns, one.last_ns) == (other.first_ns, other.last_ns)
    assert stored(services.db, fast) == stored(services.db, exact)


def test_odd_blocks_take_the_exact_way_with_its_messages(
    services: Services, tmp_path: Path
) -> None:
    (device,) = devices(services, 1)
    repeated = tmp_path / "repeated.csv"
    repeated.write_text(
        "time,c8y_A.x,c8y_A.y\n2026-01-14T00:00:00Z,1,\n2026-01-14T00:00:00Z,,3\n"
        "2026-01-14T00:00:01Z,4,5\n"
    )
    summary = import_measurements(services.db, TENANT, device, repeated)
    assert (summary.values, summary.kept) == (4, 0)
    bad = tmp_path / "bad.csv"
    bad.write_text("time,c8y_A.x\n2026-01-14T00:00:02Z,inf\n2026-01-14T00:00:03Z,x\n")
    with pytest.raises(Invalid) as raised:
        import_measurements(services.db, TENANT, device, bad)
    assert raised.value.messages[:2] == (
        "line 2: c8y_A.x must be a finite number.",
        "line 3: c8y_A.x 'x' is not a number.",
    )


def test_a_folder_imports_one_device_per_file(services: Services, tmp_path: Path) -> None:
    owners = devices(services, 4)
    folder = tmp_path / "history"
    folder.mkdir()
    for device in owners[:3]:
        (folder / f"{device}.csv").write_text(
            "time,c8y_A.x\n"
            + "".join(f"{(T0 + timedelta(seconds=s)).isoformat()},{s}\n" for s in range(50))
        )
    write(folder / "more.csv", owners[3:], range(10))
    (folder / "notes.md").write_text("not a measurement file")
    seen: list[ImportProgress] = []
    summary = import_folder(services.db, TENANT, folder, workers=2, on_progress=seen.append)
    assert summary.devices == 4
    assert (
        summary.values
        == 3 * 50 + import_measurements(services.db, TENANT, None, folder / "more.csv").kept
    )
    assert (summary.first_ns, summary.last_ns) == (to_ns(T0), to_ns(T0) + 49 * 10**9)
    assert sorted(p.done for p in seen) == [1, 2, 3, 4]
    assert {p.total for p in seen} == {4}

    (folder / "424242.csv").write_text("time,c8y_A.x\n2026-01-14T00:00:00Z,1\n")
    (folder / "nameless.csv").write_text("time,c8y_A.x\n2026-01-14T00:00:00Z,1\n")
    with pytest.raises(Invalid) as raised:
        import_folder(services.db, TENANT, folder)
    assert raised.value.messages == (
        "424242.csv: Managed object with id '424242' not found in tenant 't1'.",
        "nameless.csv: name the file by its device's managed object id (e.g. 12345.csv) or give "
        "it a 'device' column.",
        "4 of 6 files were imported whole; re-running after a fix is safe.",
    )


def test_cli_imports_a_folder(services: Services, tmp_path: Path) -> None:
    owners = devices(services, 2)
    folder = tmp_path / "history"
    folder.mkdir()
    for device in owners:
        (folder / f"{device}.csv").write_text("time,c8y_A.x\n2026-01-14T00:00:00Z,1\n")
    url = services.db.engine.url.render_as_string(hide_password=False)
    env = {"BATCHSCORE_DATABASE_URL": url, "COLUMNS": "120"}
    runner = CliRunner()
    args = ["import", "measurements", str(folder), "--tenant", TENANT]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Imported 2 values (2 wide-layout rows, 1 series) for 2 dev")
    named = runner.invoke(
        app,
        ["import", "measurements", str(folder), "--tenant", TENANT, "--device", str(owners[0])],
        env=env,
    )
    assert named.exit_code == 2
    assert "leave --device out" in named.stderr

"""`batchscore import measurements`: CSV and Parquet, long and wide, idempotent, on every
backend; the imported values read back through the store, the API and the CLI."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from batchscore.cli import app
from batchscore.domain.filters import MeasurementFilter
from batchscore.domain.jobs import MeasurementPath
from batchscore.domain.measurements import to_ns
from batchscore.errors import Invalid, NotFound
from batchscore.service.container import Services
from batchscore.service.importer import ImportProgress, Layout, import_measurements
from batchscore.sources.embedded import EmbeddedSource
from batchscore.store.db import Database

TENANT = "t1"
T0 = datetime(2026, 1, 14, tzinfo=UTC)
SECONDS = 600
X = MeasurementPath("c8y_Acceleration", "accelerationX")
Y = MeasurementPath("c8y_Acceleration", "accelerationY")
G = MeasurementPath("c8y_Gyroscope", "gyroX")


@pytest.fixture
def device(services: Services) -> int:
    return services.inventory.create(TENANT, {"name": "d", "c8y_IsDevice": {}}).id


def expected(path: MeasurementPath) -> tuple[np.ndarray, np.ndarray]:
    seconds = np.array([s for s in range(SECONDS) if path != G or s % 3], dtype=np.int64)
    scale = {X: 0.5, Y: -2.0, G: 0.25}[path]
    return seconds * 10**9 + to_ns(T0), seconds * scale


def write_wide_csv(path: Path) -> Path:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["time", str(X)[:-6], str(Y)[:-6], "c8y_Gyroscope.gyroX.value"])
        for s in range(SECONDS):
            at = (T0 + timedelta(seconds=s)).isoformat()
            out.writerow([at, s * 0.5, s * -2.0, s * 0.25 if s % 3 else ""])
    return path


def write_long_parquet(path: Path) -> Path:
    rows: list[tuple[int, str, str, float, str | None]] = []
    for p in (X, Y, G):
        times, values = expected(p)
        rows += [
            (int(t), p.fragment, p.series, float(v), "m/s2")
            for t, v in zip(times, values, strict=True)
        ]
    table = pa.table(
        {
            "time": pa.array([r[0] for r in rows], pa.timestamp("ns", tz="UTC")),
            "fragment": [r[1] for r in rows],
            "series": [r[2] for r in rows],
            "value": [r[3] for r in rows],
            "unit": [r[4] for r in rows],
        }
    )
    pq.write_table(table, path)
    return path


def assert_stored(services: Services, device: int) -> None:
    source = EmbeddedSource(services.db, services.inventory)
    (chunk,) = source.read(TENANT, device, [X, Y, G], T0, T0 + timedelta(hours=1))
    for path in (X, Y, G):
        times, values = expected(path)
        np.testing.assert_array_equal(chunk.series[path].times_ns, times)
        np.testing.assert_array_equal(chunk.series[path].values, values)


def stored_count(db: Database, device: int) -> int:
    source = EmbeddedSource(db, None)  # type: ignore[arg-type]
    (chunk,) = source.read(TENANT, device, [X, Y, G], T0, T0 + timedelta(hours=1))
    return sum(len(s) for s in chunk.series.values())


@pytest.mark.parametrize("kind", ["wide-csv", "long-parquet"])
def test_import_reads_back_exactly_and_again_changes_nothing(
    services: Services, device: int, tmp_path: Path, kind: str
) -> None:
    if kind == "wide-csv":
        file, layout = write_wide_csv(tmp_path / "h.csv"), Layout.WIDE
    else:
        file, layout = write_long_parquet(tmp_path / "h.parquet"), Layout.LONG
    seen: list[ImportProgress] = []
    summary = import_measurements(
        services.db, TENANT, device, file, batch_values=500, on_progress=seen.append
    )
    assert summary.layout is layout
    assert summary.values == SECONDS * 3 - SECONDS // 3
    assert summary.series == (str(X)[:-6], str(Y)[:-6], str(G)[:-6])
    assert (summary.first_ns, summary.last_ns) == (to_ns(T0), to_ns(T0) + (SECONDS - 1) * 10**9)
    assert len(seen) > 3
    assert seen[-1].done == seen[-1].total
    assert seen[-1].values == summary.values
    assert_stored(services, device)

    measurements = measurement_total(services, device)
    again = import_measurements(services.db, TENANT, device, file, layout=layout)
    assert (again.values, again.kept) == (summary.values, summary.values)
    assert stored_count(services.db, device) == summary.values
    assert_stored(services, device)
    # nothing new on the API either: an import skips values already stored
    assert measurement_total(services, device) == measurements


def test_imported_measurements_answer_on_the_api(
    services: Services, device: int, tmp_path: Path, client: TestClient, admin: dict[str, str]
) -> None:
    import_measurements(services.db, TENANT, device, write_long_parquet(tmp_path / "h.parquet"))
    r = client.get(
        "/measurement/measurements",
        params={"source": device, "valueFragmentType": "c8y_Gyroscope", "pageSize": 2},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    first = r.json()["measurements"][0]
    assert first["type"] == "c8y_Gyroscope"
    assert first["time"] == "2026-01-14T00:00:01.000Z"
    assert first["c8y_Gyroscope"] == {"gyroX": {"value": 0.25, "unit": "m/s2"}}


def test_bad_rows_stop_the_import_after_the_good_blocks(
    services: Services, device: int, tmp_path: Path
) -> None:
    lines = ["time,fragment,series,value"]
    lines += [f"{(T0 + timedelta(seconds=s)).isoformat()},c8y_Acceleration,x,{s}" for s in range(6)]
    lines += ["2026-01-14 00:00:07,c8y_Acceleration,x,7", "2026-01-14T00:00:08Z,c8y_A,x,eight"]
    file = tmp_path / "bad.csv"
    file.write_text("\n".join(lines) + "\n")
    with pytest.raises(Invalid) as raised:
        import_measurements(services.db, TENANT, device, file, batch_values=3)
    assert raised.value.messages == (
        "line 8: time '2026-01-14 00:00:07' is not ISO-8601 with a UTC offset.",
        "line 9: value 'eight' is not a number.",
        "Rows before this block were imported; re-running after a fix is safe.",
    )
    source = EmbeddedSource(services.db, services.inventory)
    path = MeasurementPath("c8y_Acceleration", "x")
    (chunk,) = source.read(TENANT, device, [path], T0, T0 + timedelta(hours=1))
    assert list(chunk.series[path].values) == [0, 1, 2, 3, 4, 5]


def test_unknown_device_and_other_tenants(services: Services, device: int, tmp_path: Path) -> None:
    file = write_wide_csv(tmp_path / "h.csv")
    with pytest.raises(NotFound, match="'424242' not found"):
        import_measurements(services.db, TENANT, 424242, file)
    with pytest.raises(NotFound):
        import_measurements(services.db, "t2", device, file)


def _env(db: Database) -> dict[str, str]:
    url = db.engine.url.render_as_string(hide_password=False)
    return {"BATCHSCORE_DATABASE_URL": url, "COLUMNS": "120"}


def test_cli_imports_with_a_summary(services: Services, device: int, tmp_path: Path) -> None:
    file = write_wide_csv(tmp_path / "h.csv")
    runner = CliRunner()
    args = ["import", "measurements", str(file), "--device", str(device), "--tenant", TENANT]
    result = runner.invoke(app, args, env=_env(services.db))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        f"Imported 1,600 values (600 wide-layout rows, 3 series) for device {device}, "
        "2026-01-14T00:00:00.000Z to 2026-01-14T00:09:59.000Z, in "
    )
    assert_stored(services, device)

    wrong = runner.invoke(app, [*args, "--format", "long"], env=_env(services.db))
    assert wrong.exit_code == 2
    assert "The long layout needs the column(s) fragment, series, value." in wrong.stderr
    assert "Traceback" not in wrong.output
    missing = runner.invoke(app, [*args[:3], "--device", "999999"], env=_env(services.db))
    assert missing.exit_code == 1
    assert "Managed object with id '999999' not found" in missing.stderr


def test_cli_entry_point_runs_as_a_process(services: Services, device: int, tmp_path: Path) -> None:
    if services.db.engine.dialect.name != "sqlite":
        pytest.skip("one process run is enough; the CliRunner test covers every backend")
    file = write_long_parquet(tmp_path / "h.parquet")
    cli = Path(sys.executable).with_name("batchscore")
    done = subprocess.run(
        [str(cli), "import", "measurements", str(file), "--device", str(device)],
        env={**os.environ, **_env(services.db), "BATCHSCORE_DEFAULT_TENANT": TENANT},
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert b"Imported 1,600 values (1,600 long-layout rows, 3 series)" in done.stdout
    assert_stored(services, device)


def test_a_device_column_imports_many_devices(services: Services, tmp_path: Path) -> None:
    """Many devices per file through a ``device`` column, in either layout (design §2.4)."""
    devices = [
        services.inventory.create(TENANT, {"name": f"d{i}", "c8y_IsDevice": {}}).id
        for i in range(3)
    ]
    wide = tmp_path / "wide.csv"
    with wide.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["device", "time", str(X)[:-6], str(Y)[:-6], "c8y_Gyroscope.gyroX"])
        for s in range(SECONDS):
            at = (T0 + timedelta(seconds=s)).isoformat()
            for device in devices:
                out.writerow([device, at, s * 0.5, s * -2.0, s * 0.25 if s % 3 else ""])
    summary = import_measurements(services.db, TENANT, None, wide, batch_values=700)
    assert (summary.devices, summary.values) == (3, 3 * (SECONDS * 3 - SECONDS // 3))
    for device in devices:
        assert_stored(services, device)

    rows = [(devices[i % 2], s) for s in range(10) for i in range(2)]
    long = tmp_path / "long.parquet"
    table = pa.table(
        {
            "time": pa.array(
                [to_ns(T0) + s * 10**9 for _, s in rows], pa.timestamp("ns", tz="UTC")
            ),
            "fragment": ["c8y_T"] * len(rows),
            "series": ["T"] * len(rows),
            "value": [float(s) for _, s in rows],
            "device": pa.array([d for d, _ in rows], pa.int64()),
        }
    )
    pq.write_table(table, long)
    again = import_measurements(services.db, TENANT, None, long)
    assert (again.layout, again.devices, again.values, again.kept) == (Layout.LONG, 2, 20, 0)


def test_device_column_errors(services: Services, device: int, tmp_path: Path) -> None:
    file = tmp_path / "d.csv"
    file.write_text(
        "time,fragment,series,value,device\n"
        f"2026-01-14T00:00:00Z,c8y_T,T,1,{device}\n"
        "2026-01-14T00:00:01Z,c8y_T,T,2,424242\n"
        "2026-01-14T00:00:02Z,c8y_T,T,3,abc\n"
    )
    with pytest.raises(Invalid) as raised:
        import_measurements(services.db, TENANT, None, file)
    assert raised.value.messages[0] == "line 4: device 'abc' is no managed object id."
    ok = tmp_path / "ok.csv"
    ok.write_text(
        "time,fragment,series,value,device\n"
        f"2026-01-14T00:00:00Z,c8y_T,T,1,{device}\n"
        "2026-01-14T00:00:01Z,c8y_T,T,2,424242\n"
    )
    with pytest.raises(Invalid) as raised:
        import_measurements(services.db, TENANT, None, ok)
    assert raised.value.messages[0] == "line 3: managed object '424242' not found in tenant 't1'."
    with pytest.raises(Invalid, match="leave --device out"):
        import_measurements(services.db, TENANT, device, ok)
    with pytest.raises(Invalid, match="Name the device"):
        import_measurements(services.db, TENANT, None, write_wide_csv(tmp_path / "h.csv"))
    result = CliRunner().invoke(
        app, ["import", "measurements", str(ok), "--tenant", TENANT], env=_env(services.db)
    )
    assert result.exit_code == 2
    assert "line 3: managed object '424242' not found" in result.stderr


def measurement_total(services: Services, device: int) -> int | None:
    """How many measurements of ``device`` the API lists (``withTotalElements``)."""
    found = services.measurements.read_page(
        TENANT,
        MeasurementFilter(device_id=device),
        page_size=1,
        current_page=1,
        descending=False,
        with_total=True,
    )
    list(found)
    return found.total

"""`batchscore import ...`: bulk import of history into the embedded store, with a progress bar."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from batchscore.composition.database import Database, migrated_database
from batchscore.domain.measurements import format_time
from batchscore.errors import BatchscoreError, Invalid
from batchscore.service.import_folder import import_folder
from batchscore.service.importer import ImportProgress, ImportSummary, Layout, import_measurements
from batchscore.settings import Settings

import_app = typer.Typer(help="Bulk import of history into the embedded store.")
console = Console(stderr=True)


@import_app.command("measurements")
def import_measurements_command(
    file: Path = typer.Argument(
        ...,
        help="CSV (.csv, .csv.gz) or Parquet (.parquet) file, or a folder of them: one file per "
        "device named by its id (12345.csv), or files with a 'device' column.",
    ),
    device: int = typer.Option(
        None,
        "--device",
        help="Managed object id of the device (unless a 'device' column names them).",
    ),
    layout: Layout = typer.Option(
        None,
        "--format",
        case_sensitive=False,
        help="long: time,fragment,series,value[,unit][,type][,device]; wide: time, [device,] "
        "and one fragment.series column per series. Default: told by the header.",
    ),
    tenant: str = typer.Option(None, "--tenant", help="Tenant (default: the default tenant)."),
    measurement_type: str = typer.Option(
        None, "--type", help="Measurement type (default: the fragment name)."
    ),
) -> None:
    """Import measurements of one device, of the devices a 'device' column names, or of a
    folder of files (one per device); values already stored are skipped, so re-importing the
    same rows changes nothing."""
    settings = Settings()
    try:
        with migrated_database(settings.database_url) as db:
            tenant = tenant or settings.default_tenant
            summary = _run(db, tenant, device, file, layout, measurement_type)
    except BatchscoreError as exc:
        for message in exc.messages:
            console.print(message, style="red", markup=False, highlight=False)
        raise typer.Exit(2 if isinstance(exc, Invalid) else 1) from None
    typer.echo(summary_text(summary, device))


def _run(
    db: Database,
    tenant: str,
    device: int | None,
    file: Path,
    layout: Layout | None,
    measurement_type: str | None,
) -> ImportSummary:
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[values]:,} values"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"importing {file.name}", total=None, values=0)

        def report(at: ImportProgress) -> None:
            progress.update(task, completed=at.done, total=at.total, values=at.values)

        if file.is_dir():
            if device is not None:
                raise Invalid("A folder names its devices by file name: leave --device out.")
            progress.update(task, description=f"importing {file.name}/ (files)")
            return import_folder(
                db,
                tenant,
                file,
                layout=layout,
                measurement_type=measurement_type,
                on_progress=report,
            )
        return import_measurements(
            db,
            tenant,
            device,
            file,
            layout=layout,
            measurement_type=measurement_type,
            on_progress=report,
        )


def summary_text(summary: ImportSummary, device: int | None) -> str:
    """One line a person reads after the import."""
    devices = f"device {device}" if device is not None else f"{summary.devices:,} devices"
    if summary.first_ns is None or summary.last_ns is None:
        return f"Imported nothing for {devices}: {summary.rows:,} rows held no values."
    rate = summary.values / summary.seconds if summary.seconds > 0 else 0.0
    return (
        f"Imported {summary.values:,} values ({summary.rows:,} {summary.layout.value}-layout rows, "
        f"{len(summary.series)} series) for {devices}, "
        f"{format_time(summary.first_ns)} to {format_time(summary.last_ns)}, in "
        f"{summary.seconds:.1f} s ({rate:,.0f} values/s); {summary.kept:,} of them were "
        "already stored and were kept as they were."
    )

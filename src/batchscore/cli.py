"""The `batchscore` command line."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from batchscore.cli_import import import_app
from batchscore.cli_job_lifecycle import register as register_job_lifecycle
from batchscore.cli_serve import run_scheduler, run_serve, run_worker
from batchscore.cli_startup import open_database, startup
from batchscore.cli_users import user_app
from batchscore.clock import SystemClock
from batchscore.errors import Invalid
from batchscore.logs import configure_logging
from batchscore.service.container import Services
from batchscore.settings import Settings

# No local variables in tracebacks: they may hold passwords and database URLs.
app = typer.Typer(
    help="batchscore: scheduled scoring of ML models on IoT measurement data.",
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database administration.")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(import_app, name="import")
console = Console(stderr=True)


@app.command()
def serve(
    host: str = typer.Option(None, help="Bind address (default: BATCHSCORE_HOST)."),
    port: int = typer.Option(None, help="HTTP port (default: BATCHSCORE_PORT)."),
) -> None:
    """Migrate the database and serve the API, the scheduler and the executor in one process."""
    with startup("serve"):
        settings = Settings()
    run_serve(settings, host, port)


@app.command()
def demo(
    host: str = typer.Option(None, help="Bind address (default: BATCHSCORE_HOST)."),
    port: int = typer.Option(None, help="HTTP port (default: BATCHSCORE_PORT)."),
) -> None:
    """`serve` with demo content: simulated machines, an anomaly model and a job every minute."""
    with startup("demo"):
        settings = Settings(demo=True)
    run_serve(settings, host, port)


@app.command()
def scheduler() -> None:
    """Run only the scheduler loop and its executor (for scale-out next to API instances)."""
    with startup("scheduler"):
        settings = Settings()
    run_scheduler(settings)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def worker(
    ctx: typer.Context,
    print_only: bool = typer.Option(
        False, "--print-only", help="Only print how to start the Dask scheduler and workers."
    ),
) -> None:
    """Start Dask workers for BATCHSCORE_EXECUTOR=dask://host:port and keep them connected
    (other options go to `dask worker`, e.g. --nworkers 2)."""
    with startup("worker"):
        settings = Settings()
    run_worker(settings, list(ctx.args), print_only)


job_app = typer.Typer(help="Jobs.")
app.add_typer(job_app, name="job")
register_job_lifecycle(job_app)


@job_app.command("run")
def job_run(
    job_id: str = typer.Argument(..., help="The job's id."),
    tenant: str = typer.Option(None, "--tenant", help="Tenant (default: the default tenant)."),
) -> None:
    """Fire a job now (its window rule anchored at now) and run it here, with a progress bar."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from batchscore.errors import BatchscoreError
    from batchscore.service.background import Background
    from batchscore.service.job_documents import execution_json

    with startup("job run"):
        settings = Settings()
        configure_logging("WARNING", settings.log_json)
        db = open_database(settings.database_url)
        services = Services.build(settings, db, SystemClock(), kind="cli")
    background = Background(services)
    background.start(scheduler=False)  # the heartbeat: this process holds the execution
    tenant = tenant or settings.default_tenant
    try:
        started = services.runs.fire(tenant, job_id)
        columns = (
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f} records"),
            TimeElapsedColumn(),
        )
        try:
            with Progress(*columns, console=console, transient=True) as bar:
                task = bar.add_task(f"job {started.job_id} execution {started.number}")
                run = services.runs.run_here(started, lambda done: bar.update(task, completed=done))
        except KeyboardInterrupt:
            console.print("[red]interrupted[/red]")
            raise typer.Exit(130) from None
    except BatchscoreError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        background.stop(grace=0)
        services.close()
        db.dispose()
    typer.echo(json.dumps(execution_json(run.job_id, run), indent=2))
    if run.status.value == "Failure":
        raise typer.Exit(1)


cron_app = typer.Typer(help="Quartz cron expressions.")
app.add_typer(cron_app, name="cron")


@cron_app.command("next")
def cron_next(
    expression: str = typer.Argument(..., help='Quartz cron, e.g. "0 0 5 ? * MON-FRI".'),
    tz: str = typer.Option("UTC", "--tz", help="IANA time zone."),
    start: str = typer.Option(None, "--from", help="ISO-8601 instant (default: now)."),
    count: int = typer.Option(5, "--count", help="How many fire times."),
    dst_policy: str = typer.Option("fireAfterGap", "--dst-policy", help="fireAfterGap|quartz."),
) -> None:
    """Print the next fire times, one ISO-8601 instant with offset per line."""
    from batchscore.scheduling.preview import preview_fire_times

    try:
        times = preview_fire_times(expression, tz, start, count, dst_policy, SystemClock().now())
    except Invalid as exc:
        for message in exc.messages:
            typer.echo(message, err=True)
        raise typer.Exit(2) from None
    for instant in times:
        typer.echo(instant)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations."""
    with startup("db upgrade"):
        open_database(Settings().database_url).dispose()
    console.print("database is up to date")


def main() -> None:  # pragma: no cover - console entry point
    Path("var").mkdir(exist_ok=True)
    app()

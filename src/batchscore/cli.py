"""The `batchscore` command line."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import typer
from rich.console import Console

from batchscore import heap
from batchscore.cli_import import import_app
from batchscore.cli_users import user_app
from batchscore.clock import SystemClock
from batchscore.errors import Invalid
from batchscore.logs import configure_logging
from batchscore.service.background import Background
from batchscore.service.container import Services
from batchscore.settings import Settings
from batchscore.store.db import Database
from batchscore.store.migrate import startup_lock, upgrade

app = typer.Typer(help="batchscore: scheduled scoring of ML models on IoT measurement data.")
db_app = typer.Typer(help="Database administration.")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(import_app, name="import")
console = Console(stderr=True)


@app.command()
def serve(
    host: str = typer.Option(None, envvar="BATCHSCORE_HOST", help="Bind address."),
    port: int = typer.Option(None, envvar="BATCHSCORE_PORT", help="HTTP port."),
) -> None:
    """Migrate the database and serve the API, the scheduler and the executor in one process."""
    _serve(Settings(), host, port)


@app.command()
def demo(
    host: str = typer.Option(None, envvar="BATCHSCORE_HOST", help="Bind address."),
    port: int = typer.Option(None, envvar="BATCHSCORE_PORT", help="HTTP port."),
) -> None:
    """`serve` with demo content: simulated machines, an anomaly model and a job every minute."""
    _serve(Settings(demo=True), host, port)


def _serve(settings: Settings, host: str | None, port: int | None) -> None:
    import uvicorn

    from batchscore.api.app import create_app
    from batchscore.api.server_options import server_options
    from batchscore.demo.seed import Simulator, seed_demo
    from batchscore.service.users import ensure_first_admin
    from batchscore.web.session import load_secret

    configure_logging(settings.log_level, settings.log_json)
    services = _services(settings)
    password = settings.admin_password.get_secret_value() if settings.admin_password else None
    try:
        with startup_lock(services.db.engine):  # instances starting together create one admin
            admin = ensure_first_admin(
                services.db, services.clock, settings.default_tenant, settings.admin_user, password
            )
            content = seed_demo(services, settings.default_tenant) if settings.demo else None
    except Invalid as exc:  # a first admin's name or password the policy refuses
        services.close()
        console.print(f"first admin: {exc}", style="red", markup=False, highlight=False)
        raise typer.Exit(2) from None
    if admin.password is not None:
        console.print(
            f"[bold]First admin created[/bold]: tenant [cyan]{admin.tenant}[/cyan], "
            f"user [cyan]{admin.user}[/cyan], password [cyan]{admin.password}[/cyan] "
            "(shown once; set BATCHSCORE_ADMIN_PASSWORD to choose it)",
            soft_wrap=True,
        )
    simulator = None
    if content is not None:
        simulator = Simulator(services, settings.default_tenant, content)
        simulator.start()
        bind = f"http://{host or settings.host}:{port if port is not None else settings.port}"
        console.print(
            f"[bold]Demo[/bold]: job {content.job} scores group {content.group} every minute; "
            f"try: curl -u {admin.user}:PASSWORD {bind}/service/zementis/job/{content.job}/history",
            soft_wrap=True,
        )
    bind_host = host or settings.host
    bind_port = port if port is not None else settings.port
    if settings.api_processes > 1:
        load_secret(settings.var_dir)  # made once here, not raced by the processes
        services.close()
        try:
            uvicorn.run(
                "batchscore.api.process:worker_app",
                factory=True,
                workers=settings.api_processes,
                host=bind_host,
                port=bind_port,
                log_config=None,
                access_log=False,
                **server_options(settings),
            )
        finally:
            if simulator is not None:
                simulator.stop()
        return
    background = Background(services)
    background.start(scheduler=settings.scheduler)
    api = create_app(services)
    heap.settle()
    try:
        uvicorn.run(
            api,
            host=bind_host,
            port=bind_port,
            log_config=None,
            access_log=False,
            **server_options(settings),
        )
    finally:
        if simulator is not None:
            simulator.stop()
        background.stop()
        services.close()


@app.command()
def scheduler() -> None:
    """Run only the scheduler loop and its executor (for scale-out next to API instances)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    services = _services(settings)
    background = Background(services)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    background.start()
    console.print("scheduler running; Ctrl-C to stop")
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        background.stop()
        services.close()


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def worker(
    ctx: typer.Context,
    print_only: bool = typer.Option(
        False, "--print-only", help="Only print how to start the Dask scheduler and workers."
    ),
) -> None:
    """Start a Dask worker for BATCHSCORE_EXECUTOR=dask://host:port (other options go to
    `dask worker`, e.g. --nworkers 2)."""
    # Deferred: `distributed` costs ~1 s to import; only this command needs it.
    from batchscore.execution.dask_backend import how_to_run, scheduler_address, start_worker

    settings = Settings()
    if settings.executor == "local":
        console.print(
            "BATCHSCORE_EXECUTOR is 'local': executions run inside `serve`/`scheduler`. "
            "Set BATCHSCORE_EXECUTOR=dask://host:port to score on a Dask cluster, then:\n"
            + how_to_run("tcp://SCHEDULER-HOST:8786"),
            soft_wrap=True,
        )
        raise typer.Exit(2)
    address = scheduler_address(settings.executor)
    console.print(how_to_run(address), soft_wrap=True)
    if not print_only:
        start_worker(address, ctx.args)


job_app = typer.Typer(help="Jobs.")
app.add_typer(job_app, name="job")


@job_app.command("run")
def job_run(
    job_id: str = typer.Argument(..., help="The job's id."),
    tenant: str = typer.Option(None, "--tenant", help="Tenant (default: the default tenant)."),
) -> None:
    """Fire a job now (its window rule anchored at now) and run it here, with a progress bar."""
    from datetime import timedelta

    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from batchscore.api.render import execution_json
    from batchscore.errors import BatchscoreError
    from batchscore.scheduling.manual import fire_now

    settings = Settings()
    configure_logging("WARNING", settings.log_json)
    services = _services(settings)
    tenant = tenant or settings.default_tenant
    try:
        job = services.jobs.get(tenant, job_id)
        started = fire_now(
            services.db,
            job,
            services.clock.now(),
            owner="cli",
            lease=timedelta(seconds=settings.lease_s),
        )
        columns = (
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f} records"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task(f"job {job.id} execution {started.number}", total=None)
            services.executor.run(started, lambda done: bar.update(task, completed=done))
        run = services.jobs.execution(tenant, str(job.id), str(started.number))
    except BatchscoreError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        services.close()
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
    from batchscore.errors import Invalid
    from batchscore.scheduling.preview import preview_fire_times

    try:
        times = preview_fire_times(expression, tz, start, count, dst_policy, SystemClock().now())
    except Invalid as exc:
        for message in exc.messages:
            typer.echo(message, err=True)
        raise typer.Exit(2) from None
    for instant in times:
        typer.echo(instant)


def _services(settings: Settings) -> Services:
    db = Database.from_url(settings.database_url)
    upgrade(db.engine)
    return Services.build(settings, db, SystemClock())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations."""
    settings = Settings()
    db = Database.from_url(settings.database_url)
    upgrade(db.engine)
    console.print("database is up to date")


def main() -> None:  # pragma: no cover - console entry point
    Path("var").mkdir(exist_ok=True)
    app()

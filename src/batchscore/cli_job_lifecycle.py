"""`batchscore job pause|resume|backfill` (design §2.8), on the database as `job run` is."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from batchscore.cli_startup import open_database, startup
from batchscore.clock import SystemClock
from batchscore.errors import BatchscoreError
from batchscore.logs import configure_logging
from batchscore.service.container import Services
from batchscore.settings import Settings

console = Console(stderr=True)


@contextmanager
def _services(command: str) -> Iterator[tuple[Services, Settings]]:
    with startup(command):
        settings = Settings()
        configure_logging("WARNING", settings.log_json)
        db = open_database(settings.database_url)
        services = Services.build(settings, db, SystemClock(), kind="cli")
    try:
        yield services, settings
    except BatchscoreError as exc:
        for message in exc.messages:
            console.print(f"[red]{message}[/red]")
        raise typer.Exit(1) from None
    finally:
        services.close()
        db.dispose()


def _job_command(
    name: str, action: Callable[[Services, str, str], object]
) -> Callable[[str, str | None], None]:
    def command(
        job_id: str = typer.Argument(..., help="The job's id."),
        tenant: str | None = typer.Option(
            None, "--tenant", help="Tenant (default: the default tenant)."
        ),
    ) -> None:
        from batchscore.domain.jobs import Job
        from batchscore.service.job_documents import job_json

        with _services(f"job {name}") as (services, settings):
            job = action(services, tenant or settings.default_tenant, job_id)
            assert isinstance(job, Job)
            typer.echo(json.dumps(job_json(job), indent=2))

    return command


def register(job_app: typer.Typer) -> None:
    """Add the lifecycle commands to `batchscore job`."""
    job_app.command("pause", help="Pause a job: it does not fire until resumed.")(
        _job_command("pause", lambda s, t, j: s.job_lifecycle.pause(t, j))
    )
    job_app.command("resume", help="Resume a paused job (missed instants: its misfirePolicy).")(
        _job_command("resume", lambda s, t, j: s.job_lifecycle.resume(t, j))
    )
    job_app.command("backfill")(backfill)


def backfill(
    job_id: str = typer.Argument(..., help="The job's id."),
    start: str = typer.Option(..., "--from", help="ISO-8601 instant with offset (included)."),
    end: str = typer.Option(..., "--to", help="ISO-8601 instant with offset (excluded)."),
    tenant: str = typer.Option(None, "--tenant", help="Tenant (default: the default tenant)."),
    wait: bool = typer.Option(
        True, "--wait/--no-wait", help="Take part in the backfill here, with a progress bar."
    ),
    cancel: bool = typer.Option(False, "--cancel", help="Cancel the job's backfill instead."),
) -> None:
    """Run a periodic job once for every instant of its schedule in [--from, --to) that has no
    execution yet, oldest first. With --wait (default) this process creates and runs them too
    (scheduler instances take part as well), showing a progress bar until the backfill ends."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from batchscore.service.background import Background

    with _services("job backfill") as (services, settings):
        tenant = tenant or settings.default_tenant
        lifecycle = services.job_lifecycle
        if cancel:
            typer.echo(json.dumps(lifecycle.cancel_backfill(tenant, job_id).as_json(), indent=2))
            return
        started = lifecycle.start_backfill(tenant, job_id, {"from": start, "to": end})
        typer.echo(json.dumps(started, indent=2))
        if not wait or not started["instants"]:
            return
        job = services.jobs.get(tenant, job_id)
        background = Background(services)
        background.start(scheduler=False)  # the heartbeat: this process holds executions
        driver = background.scheduler.backfills  # this process creates executions too
        stop = threading.Event()
        try:
            columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console, transient=True) as bar:
                task = bar.add_task("backfill", total=started["instants"])
                while not stop.wait(0.2):
                    driver.tick(services.clock.now())
                    progress = lifecycle.backfill_progress(tenant, job.id)
                    if progress is None:
                        break
                    done = progress.finished + progress.backfill.skipped
                    bar.update(task, completed=done)
                    if progress.state in ("done", "cancelled"):
                        break
        except KeyboardInterrupt:
            console.print("[yellow]stopped waiting; the backfill goes on[/yellow]")
        finally:
            background.stop(grace=0)
        final = lifecycle.backfill_progress(tenant, job.id)
        if final is not None:
            typer.echo(json.dumps(final.as_json(), indent=2))

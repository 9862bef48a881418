"""How the long-running commands run and stop: `serve`, `scheduler`, `worker` (design §3.7).

Each starts inside ``startup()`` (one line and exit code 2 on a startup error), then runs
until SIGTERM or SIGINT, then stops cleanly: stop claiming, hand back what was claimed and not
started, let running executions finish for up to ``BATCHSCORE_SHUTDOWN_GRACE_S`` or hand them
back, exit 0. A second signal during the stop ends the process at once.

uvicorn captures SIGTERM and SIGINT while it serves and raises them again when it returns;
the handlers installed here receive them then, so `serve` reaches its own stop either way.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from types import FrameType

from rich.console import Console

from batchscore import heap, metrics
from batchscore.cli_startup import open_database, startup
from batchscore.clock import SystemClock
from batchscore.composition.database import startup_work
from batchscore.errors import Invalid, StartupError
from batchscore.logs import configure_logging
from batchscore.service.background import Background
from batchscore.service.container import Services
from batchscore.settings import Settings

log = logging.getLogger("batchscore.process")
console = Console(stderr=True)


class StopSignals:
    """SIGTERM and SIGINT ask for a clean stop; a second one ends the process at once."""

    def __init__(self) -> None:
        self.requested = threading.Event()

    def install(self) -> StopSignals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.requested.is_set():
            sys.stderr.write("second signal: stopping at once\n")
            sys.stderr.flush()
            os._exit(0)
        log.info("received %s: stopping", signal.Signals(signum).name)
        self.requested.set()


def listen(host: str, port: int) -> socket.socket:
    """The server's listening socket (bound here, so a port in use is a startup error)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}.") from None
    sock.set_inheritable(True)
    return sock


def run_serve(settings: Settings, host: str | None, port: int | None) -> None:
    """`serve` (and `demo`): migrate, create the first admin (and the demo), serve."""
    import uvicorn

    from batchscore.composition.app import create_app
    from batchscore.demo.seed import Simulator, seed_demo
    from batchscore.server_options import server_options
    from batchscore.service.users import ensure_first_admin

    signals = StopSignals().install()
    bind_host = host or settings.host
    bind_port = port if port is not None else settings.port
    with startup("serve"):
        configure_logging(settings.log_level, settings.log_json)
        services = Services.build(settings, open_database(settings.database_url), SystemClock())
        password = settings.admin_password.get_secret_value() if settings.admin_password else None
        with startup_work(services.db):  # instances starting together create one admin
            try:
                admin = ensure_first_admin(
                    services.db,
                    services.clock,
                    settings.default_tenant,
                    settings.admin_user,
                    password,
                )
            except Invalid as exc:  # a first admin's name or password the policy refuses
                raise StartupError(f"first admin: {exc}") from None
            content = seed_demo(services, settings.default_tenant) if settings.demo else None
        sock = listen(bind_host, bind_port)
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
        console.print(
            f"[bold]Demo[/bold]: job {content.job} scores group {content.group} every minute; "
            f"try: curl -u {admin.user}:PASSWORD http://{bind_host}:{bind_port}"
            f"/service/zementis/job/{content.job}/history",
            soft_wrap=True,
        )
    try:
        if settings.api_processes > 1:
            sock.close()  # uvicorn binds the shared socket of its processes itself
            services.close()
            _serve_processes(settings, bind_host, bind_port)
            return
        background = Background(services)
        background.start(scheduler=settings.scheduler)
        try:
            api = create_app(services, background=background)
            heap.settle()
            config = uvicorn.Config(
                api,
                host=bind_host,
                port=bind_port,
                log_config=None,
                access_log=False,
                **server_options(settings),
            )
            if not signals.requested.is_set():
                uvicorn.Server(config).run(sockets=[sock])
        finally:
            background.stop()
            services.close()
            services.db.dispose()
    finally:
        if simulator is not None:
            simulator.stop()


def _serve_processes(settings: Settings, host: str, port: int) -> None:
    """``BATCHSCORE_API_PROCESSES`` > 1: uvicorn's processes share the port; each builds its
    own services (``composition.worker_app``) and reports its metrics into one shared directory."""
    import uvicorn

    from batchscore.composition.app import WORKER_APP, make_session_secret
    from batchscore.server_options import server_options

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    make_session_secret(settings.var_dir)  # made once here, not raced by the processes
    shared = tempfile.mkdtemp(prefix="metrics-", dir=settings.var_dir)
    os.environ[metrics.MULTIPROCESS_ENV] = shared
    try:
        uvicorn.run(
            WORKER_APP,
            factory=True,
            workers=settings.api_processes,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            **server_options(settings),
        )
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def run_scheduler(settings: Settings) -> None:
    """`scheduler`: the claim loop and the executor, without the API; with
    ``BATCHSCORE_OPS_PORT``, also /health, /health/ready and /metrics on that port."""
    signals = StopSignals().install()
    with startup("scheduler"):
        configure_logging(settings.log_level, settings.log_json)
        services = Services.build(
            settings, open_database(settings.database_url), SystemClock(), kind="scheduler"
        )
        background = Background(services)
        ops = _OpsServer(services, background, settings) if settings.ops_port is not None else None
    background.start()
    if ops is not None:
        ops.start()
    console.print(f"scheduler {services.lifecycle.owner} running; Ctrl-C or SIGTERM stops it")
    try:
        while not signals.requested.wait(1.0):
            pass
    finally:
        if ops is not None:
            ops.stop()
        background.stop()
        services.close()
        services.db.dispose()


class _OpsServer:
    """/health, /health/ready and /metrics of a process without the API, in a thread."""

    def __init__(self, services: Services, background: Background, settings: Settings) -> None:
        import uvicorn

        from batchscore.composition.app import create_ops_app

        assert settings.ops_port is not None
        self.sock = listen(settings.host, settings.ops_port)
        app = create_ops_app(services, background)
        config = uvicorn.Config(
            app, host=settings.host, port=settings.ops_port, log_config=None, access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="ops", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def run_worker(settings: Settings, args: list[str], print_only: bool) -> None:
    """`worker`: supervised Dask workers for ``BATCHSCORE_EXECUTOR=dask://...``."""
    # Deferred: `distributed` costs ~1 s to import; only this command needs it.
    from batchscore.execution.dask_backend import scheduler_address
    from batchscore.execution.dask_worker import WorkerSupervisor, how_to_run

    signals = StopSignals().install()
    configure_logging(settings.log_level, settings.log_json)
    with startup("worker"):
        if settings.executor == "local":
            raise StartupError(
                "BATCHSCORE_EXECUTOR is 'local': executions run inside `serve`/`scheduler`. Set "
                "BATCHSCORE_EXECUTOR=dask://host:port to score on a Dask cluster."
            )
        address = scheduler_address(settings.executor)
    console.print(how_to_run(address), soft_wrap=True)
    if print_only:
        return
    supervisor = WorkerSupervisor(address, args, grace=settings.shutdown_grace_s)
    supervisor.run(signals.requested)

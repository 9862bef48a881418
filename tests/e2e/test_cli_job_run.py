"""`batchscore job run ID` fires a job now and runs it in the CLI process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from batchscore.demo.seed import seed_demo
from batchscore.service.container import Services
from batchscore.settings import Settings
from batchscore.store.db import Database
from batchscore.store.migrate import upgrade


def test_job_run_prints_the_finished_execution(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db = Database.from_url(url)
    upgrade(db.engine)
    services = Services.build(Settings(password_profile="fast"), db)
    try:
        demo = seed_demo(services, "default", backfill=timedelta(minutes=3))
    finally:
        services.close()
        db.dispose()
    cli = Path(sys.executable).with_name("batchscore")
    env = {**os.environ, "BATCHSCORE_DATABASE_URL": url}
    done = subprocess.run(
        [str(cli), "job", "run", str(demo.job)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["jobExecutionNumber"] == 1
    assert run["jobExecutionStatus"] == "Warning"  # the offline demo machine
    assert "was not active" in run["jobExecutionStatusMessage"][0]
    missing = subprocess.run(
        [str(cli), "job", "run", "999"], env=env, capture_output=True, text=True, check=False
    )
    assert missing.returncode == 1
    assert "Zementis job ID '999' not found." in missing.stderr

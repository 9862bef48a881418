"""The one configuration object, read from `BATCHSCORE_*` environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Service configuration; frozen once read. Every field has a ``BATCHSCORE_<NAME>`` variable."""

    model_config = SettingsConfigDict(env_prefix="BATCHSCORE_", frozen=True, extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/batchscore.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db.",
    )
    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(default=8000, ge=0, le=65535, description="HTTP port.")
    api_processes: int = Field(
        default=1,
        ge=1,
        le=64,
        description="`serve` processes sharing the port (each with its own scheduler loop and "
        "executor); one per core serves the most requests.",
    )
    default_tenant: str = Field(
        default="default", description="Tenant of users who log in as plain `user`."
    )
    admin_user: str = Field(default="admin", description="Name of the first admin user.")
    admin_password: SecretStr | None = Field(
        default=None, description="Password of the first admin; generated and printed if unset."
    )
    max_body_bytes: int = Field(
        default=1_000_000, gt=0, description="Largest JSON request body accepted (bytes)."
    )
    max_model_bytes: int = Field(
        default=100 * 1024 * 1024, gt=0, description="Largest model upload accepted (bytes)."
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For/-Proto headers are believed; empty: those headers are ignored.",
    )
    public_url: str = Field(
        default="",
        description="The base URL clients reach the service under (e.g. "
        "https://scoring.example.com); links in answers are built from it.",
    )
    max_page_size: int = Field(default=2000, gt=0, description="Largest page of list routes.")
    login_failures_allowed: int = Field(
        default=10, gt=0, description="Failed logins per user and address before rate limiting."
    )
    login_failure_window_s: int = Field(
        default=60, gt=0, description="Window (seconds) for counting failed logins."
    )
    password_profile: Literal["default", "fast"] = Field(
        default="default", description="argon2 cost profile; 'fast' is for test suites only."
    )
    scheduler: bool = Field(
        default=True, description="Run the scheduler loop inside `serve` (off for API-only)."
    )
    scheduler_interval_s: float = Field(
        default=1.0, gt=0, le=60, description="Seconds between scheduler ticks."
    )
    scheduler_lookahead_s: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="Jobs are claimed this far ahead and handed off on their instant, so a "
        "large batch is written before it is due.",
    )
    backfill_concurrency: int = Field(
        default=1,
        gt=0,
        le=64,
        description="Executions of one job's backfill that run at once (design §2.8).",
    )
    misfire_threshold_s: int = Field(
        default=60, ge=0, description="A fire later than this many seconds is a misfire."
    )
    source: Literal["embedded", "cumulocity"] = Field(
        default="embedded",
        description="Where jobs read measurements: this service's store or a Cumulocity tenant "
        "(C8Y_BASEURL, C8Y_TENANT, C8Y_USER, C8Y_PASSWORD).",
    )
    webhook_allowed_hosts: str = Field(
        default="",
        description="Comma-separated hosts (or host:port) that job webhooks may call although "
        "they are loopback or private addresses (design §2.9); others on such networks are "
        "refused.",
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="Timeout of one webhook call (seconds)."
    )
    action_interval_s: float = Field(
        default=1.0, gt=0, le=60, description="Seconds between looks into the action outbox."
    )
    action_lease_s: float = Field(
        default=60.0,
        gt=0,
        description="How long an instance holds an action effect it delivers; one it does not "
        "mark within this time (it died) is delivered again, with the same delivery key.",
    )
    executor: str = Field(
        default="local",
        pattern=r"^(local|dask://\S+)$",
        description="Where executions score: `local` (a bounded in-process pool of `workers`) "
        "or `dask://host:port` (device partitions on that Dask scheduler's workers).",
    )
    dask_no_workers_s: float = Field(
        default=120.0,
        gt=0,
        description="An execution on Dask fails when the cluster has had no workers this long.",
    )
    workers: int = Field(
        default=2, gt=0, le=64, description="Executions run at once by the local executor."
    )
    scoring_threads: int | None = Field(
        default=None,
        gt=0,
        le=256,
        description="Threads that score one large batch in row blocks (local executor and "
        "apply); unset = the cores this process may use.",
    )
    executor_backlog: int = Field(
        default=200,
        gt=0,
        description="Executions an instance takes on at once (queued or running, claimed "
        "ahead included); the scheduler leaves the rest of a burst to other instances.",
    )
    retention_days: int | None = Field(
        default=None, gt=0, description="Delete executions (and inferences) older than this."
    )
    lease_s: int = Field(
        default=300,
        gt=0,
        description="Execution lease, the last resort: an execution whose lease expired is "
        "taken over (not started yet) or finished as interrupted (running).",
    )
    heartbeat_s: float = Field(
        default=5.0, gt=0, le=60, description="Seconds between an instance's heartbeats."
    )
    instance_dead_s: float = Field(
        default=20.0,
        gt=0,
        le=3600,
        description="An instance silent this long is dead: its claimed executions are taken "
        "over, its running ones finished as interrupted.",
    )
    shutdown_grace_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="On SIGTERM/SIGINT, how long running executions may take to finish before "
        "they are stopped and handed back to other instances.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token that may read GET /metrics (besides an admin login).",
    )
    ops_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port on which `batchscore scheduler` serves /health, /health/ready and "
        "/metrics (unset: none).",
    )
    demo: bool = Field(
        default=False, description="Create demo content and simulate its devices (make run)."
    )
    log_level: str = Field(default="INFO", description="Python logging level.")
    log_json: bool = Field(default=True, description="Log one JSON object per line.")
    var_dir: Path = Field(default=Path("./var"), description="Directory for local state.")
    console_refresh_s: float = Field(
        default=5.0,
        ge=0.5,
        le=3600,
        description="Seconds between refreshes of the console's live pages (jobs list, job).",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for item in (p.strip() for p in value.split(",")):
            if item and item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("must not carry a query, a fragment or credentials")
        return value.rstrip("/")

    def trusted_proxy_list(self) -> list[str]:
        """``trusted_proxies`` as a list; empty when proxy headers are to be ignored."""
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @model_validator(mode="after")
    def _dead_after_heartbeats(self) -> Settings:
        if self.instance_dead_s < 2 * self.heartbeat_s:
            raise ValueError(
                "BATCHSCORE_INSTANCE_DEAD_S must be at least twice BATCHSCORE_HEARTBEAT_S, or "
                "live instances are taken for dead between two heartbeats."
            )
        return self

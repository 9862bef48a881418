"""`batchscore user add|passwd|delete|list`: user administration from the command line.

Passwords come from an environment variable (``BATCHSCORE_USER_PASSWORD`` unless told otherwise)
or a prompt, never from an argument (it would show in the process list and the shell history),
and must meet the policy stated in SECURITY.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from batchscore.clock import SystemClock
from batchscore.composition.database import Database, migrated_database
from batchscore.domain.roles import parse_role
from batchscore.errors import BatchscoreError, Invalid
from batchscore.service import users
from batchscore.settings import Settings

user_app = typer.Typer(help="User administration.")
console = Console(stderr=True)

TENANT_HELP = "Tenant (default: the default tenant)."
PASSWORD_ENV = typer.Option(
    "BATCHSCORE_USER_PASSWORD", help="Environment variable holding the password."
)


@contextmanager
def _reported() -> Iterator[None]:
    """Service errors as their messages on stderr: exit 2 for invalid input, 1 otherwise."""
    try:
        yield
    except BatchscoreError as exc:
        for message in exc.messages:
            console.print(message, style="red", markup=False, highlight=False)
        raise typer.Exit(2 if isinstance(exc, Invalid) else 1) from None


@contextmanager
def _database(settings: Settings) -> Iterator[Database]:
    with migrated_database(settings.database_url) as db:
        yield db


def _password(env_name: str) -> str:
    password = os.environ.get(env_name)
    if password:
        return password
    if not sys.stdin.isatty():
        console.print(f"no password: set {env_name} or run interactively", style="red")
        raise typer.Exit(2)
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="User name."),
    tenant: str | None = typer.Option(None, "--tenant", help=TENANT_HELP),
    role: list[str] = typer.Option(["admin"], "--role", help="admin, read or a ROLE_* name."),
    password_env: str = PASSWORD_ENV,
) -> None:
    """Create a user or update its password and roles (password from env or prompt)."""
    settings = Settings()
    tenant = settings.default_tenant if tenant is None else tenant
    try:
        roles = frozenset(parse_role(r) for r in role)
    except ValueError as exc:
        console.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from None
    with _reported():
        users.check_names(tenant, name)
        password = _password(password_env)
        users.check_password(password, tenant, name)
        with _database(settings) as db:
            created = users.add_user(db, SystemClock(), tenant, name, password, roles)
    console.print(f"user {name} {'created' if created else 'updated'}")


@user_app.command("passwd")
def user_passwd(
    name: str = typer.Argument(..., help="User name."),
    tenant: str | None = typer.Option(None, "--tenant", help=TENANT_HELP),
    password_env: str = PASSWORD_ENV,
) -> None:
    """Set a user's password; their console sessions and cached logins end."""
    settings = Settings()
    tenant = settings.default_tenant if tenant is None else tenant
    with _reported():
        password = _password(password_env)
        users.check_password(password, tenant, name)
        with _database(settings) as db:
            users.set_password(db, tenant, name, password)
    console.print(f"password of {name} changed; their sessions are ended")


@user_app.command("delete")
def user_delete(
    name: str = typer.Argument(..., help="User name."),
    tenant: str | None = typer.Option(None, "--tenant", help=TENANT_HELP),
) -> None:
    """Delete a user; their console sessions and cached logins end."""
    settings = Settings()
    tenant = settings.default_tenant if tenant is None else tenant
    with _reported(), _database(settings) as db:
        users.delete_user(db, tenant, name)
    console.print(f"user {name} deleted")


@user_app.command("list")
def user_list(
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's users."),
) -> None:
    """Print one line per user: tenant, name, roles, creation time (tab-separated)."""
    settings = Settings()
    with _reported(), _database(settings) as db:
        found = users.list_users(db, tenant)
    for user in found:
        roles = ",".join(sorted(r.value for r in user.roles))
        created = user.created_at.isoformat(timespec="seconds")
        typer.echo(f"{user.tenant}\t{user.name}\t{roles}\t{created}")

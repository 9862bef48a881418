"""Roles and the authenticated principal."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    """Cumulocity role names understood by batchscore."""

    ML_READ = "ROLE_MACHINE_LEARNING_READ"
    ML_ADMIN = "ROLE_MACHINE_LEARNING_ADMIN"
    INVENTORY_READ = "ROLE_INVENTORY_READ"
    INVENTORY_ADMIN = "ROLE_INVENTORY_ADMIN"
    MEASUREMENT_READ = "ROLE_MEASUREMENT_READ"
    MEASUREMENT_ADMIN = "ROLE_MEASUREMENT_ADMIN"
    ALARM_READ = "ROLE_ALARM_READ"
    ALARM_ADMIN = "ROLE_ALARM_ADMIN"
    EVENT_READ = "ROLE_EVENT_READ"
    EVENT_ADMIN = "ROLE_EVENT_ADMIN"


# What each role implies: the ML admin may do everything, readers read.
IMPLIED: dict[Role, frozenset[Role]] = {
    Role.ML_ADMIN: frozenset(Role),
    Role.ML_READ: frozenset(
        {Role.ML_READ, Role.INVENTORY_READ, Role.MEASUREMENT_READ, Role.ALARM_READ, Role.EVENT_READ}
    ),
    Role.INVENTORY_ADMIN: frozenset({Role.INVENTORY_ADMIN, Role.INVENTORY_READ}),
    Role.MEASUREMENT_ADMIN: frozenset({Role.MEASUREMENT_ADMIN, Role.MEASUREMENT_READ}),
    Role.INVENTORY_READ: frozenset({Role.INVENTORY_READ}),
    Role.MEASUREMENT_READ: frozenset({Role.MEASUREMENT_READ}),
    Role.ALARM_ADMIN: frozenset({Role.ALARM_ADMIN, Role.ALARM_READ}),
    Role.ALARM_READ: frozenset({Role.ALARM_READ}),
    Role.EVENT_ADMIN: frozenset({Role.EVENT_ADMIN, Role.EVENT_READ}),
    Role.EVENT_READ: frozenset({Role.EVENT_READ}),
}


def parse_role(text: str) -> Role:
    """Accept the full name or a short one (``admin``, ``read``)."""
    short = {"admin": Role.ML_ADMIN, "read": Role.ML_READ}
    if text.lower() in short:
        return short[text.lower()]
    try:
        return Role(text.upper())
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {text!r}; one of: admin, read, {names}") from None


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user of one tenant."""

    tenant: str
    user: str
    roles: frozenset[Role]

    def effective(self) -> frozenset[Role]:
        out: set[Role] = set()
        for role in self.roles:
            out |= IMPLIED[role]
        return frozenset(out)

    def has(self, role: Role) -> bool:
        return role in self.effective()

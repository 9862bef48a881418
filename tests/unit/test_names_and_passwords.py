"""The bounds of names and the password policy (domain/names.py, domain/password_policy.py)."""

from __future__ import annotations

import pytest

from batchscore.domain.names import (
    MAX_NAME,
    fits,
    model_name_problem,
    tenant_problem,
    user_name_problem,
)
from batchscore.domain.password_policy import MIN_LENGTH, password_problems
from batchscore.store.tables import models, tenants, users


def test_the_columns_are_declared_from_the_bounds() -> None:
    assert models.c.name.type.length == MAX_NAME  # type: ignore[attr-defined]
    assert users.c.name.type.length == MAX_NAME  # type: ignore[attr-defined]
    assert tenants.c.id.type.length == 64  # type: ignore[attr-defined]


@pytest.mark.parametrize("tenant", ["t1", "acme-prod", "a.b_c", "T" * 64])
def test_good_tenants(tenant: str) -> None:
    assert tenant_problem(tenant) is None


@pytest.mark.parametrize("tenant", ["", "a/b", "a:b", "-lead", " t", "t" * 65, "ü"])
def test_bad_tenants(tenant: str) -> None:
    assert tenant_problem(tenant) is not None


@pytest.mark.parametrize("name", ["carol", "first.last@example.com", "a/b", "Zoë", "u" * 255])
def test_good_user_names(name: str) -> None:
    assert user_name_problem(name) is None


@pytest.mark.parametrize("name", ["", " ", "a:b", "tab\there", " lead", "u" * 256, "nul\x00"])
def test_bad_user_names(name: str) -> None:
    assert user_name_problem(name) is not None


@pytest.mark.parametrize("name", ["IsolationForest", "a?b", "100%", "m" * 255, "a.b", "..."])
def test_good_model_names(name: str) -> None:
    assert model_name_problem(name) is None


@pytest.mark.parametrize("name", ["", "a/b", ".", "..", "m" * 256, "bell\x07"])
def test_bad_model_names(name: str) -> None:
    assert model_name_problem(name) is not None


def test_names_that_cannot_be_stored_find_nothing() -> None:
    assert fits("m" * 255)
    assert not fits("m" * 256)
    assert not fits("a\x00b")
    assert fits("t" * 64, 64)
    assert not fits("t" * 65, 64)


@pytest.mark.parametrize(
    "password",
    ["s3cret-Passw0rd", "correct horse battery staple", "tidal-Marmot-42", "Zürich-北京-2026!"],
)
def test_acceptable_passwords(password: str) -> None:
    assert password_problems(password, "carol", "acme") == []


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("x", f"at least {MIN_LENGTH} characters"),
        ("y" * 257, "at most 256 characters"),
        ("abababababababab", "5 different characters"),
        ("Password1234!", "common word"),
        ("P4ssw0rd-2026!", "common word"),
        ("batchscore2026!", "common word"),
        ("AdminAdmin2026", "common word"),
        ("carol-carol-2026", "the user name"),
        ("acme!acme!2026", "the tenant"),
        ("123456789012", "run of keys or digits"),
        ("qwertyuiop12", "common word"),
        ("1qaz2wsx3edc", "run of keys or digits"),
    ],
)
def test_refused_passwords(password: str, fragment: str) -> None:
    problems = password_problems(password, "carol", "acme")
    assert any(fragment in p for p in problems), problems

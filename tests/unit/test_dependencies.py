"""Declared runtime dependencies and the imports of ``src/`` agree, both ways.

A dependency declared in ``pyproject.toml`` that nothing imports is weight every install pays
for (``croniter`` and ``httpx2`` were); a module imported from ``src/`` but not declared works
only while some other package happens to pull it in.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "batchscore"

INDIRECT: dict[str, tuple[str, str]] = {
    "httptools": ("uvicorn", "uvicorn's C HTTP parser, picked up by `http='auto'`"),
    "uvloop": ("uvicorn", "uvicorn's event loop, picked up by `loop='auto'`"),
    "tzdata": ("zoneinfo", "the IANA zones `zoneinfo` falls back to without system data"),
    "psycopg": ("sqlalchemy", "the driver of SQLAlchemy's `postgresql+psycopg` URLs"),
}
"""Declared packages that ``src/`` uses without importing them: the package that loads each
one, and what for."""


def normalized(name: str) -> str:
    """A distribution name in PEP 503 form (``cron_descriptor`` = ``cron-descriptor``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(spec) for spec in project["dependencies"]]


def declared() -> set[str]:
    """The runtime distributions as ``pyproject.toml`` names them."""
    return {normalized(requirement.name) for requirement in requirements()}


def declared_with_extras() -> set[str]:
    """:func:`declared`, with what a declared extra pulls in (``distributed`` of
    ``dask[distributed]``)."""
    names = declared()
    for requirement in requirements():
        for extra in requirement.extras:
            for line in requires(requirement.name) or []:
                pulled = Requirement(line)
                marker = pulled.marker
                by_extra = marker is not None and "extra" in str(marker)
                if by_extra and marker is not None and marker.evaluate({"extra": extra}):
                    names.add(normalized(pulled.name))
    return names


def imported_top_level() -> set[str]:
    names: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - {"batchscore"} - set(sys.stdlib_module_names)


def distributions_of(modules: set[str]) -> dict[str, set[str]]:
    """Module -> the (lower-case) distributions that provide it."""
    index = packages_distributions()
    return {m: {normalized(d) for d in index.get(m, [])} for m in modules}


def test_every_declared_dependency_is_imported_or_loaded_by_one_that_is() -> None:
    imports = imported_top_level()
    provided = set().union(*distributions_of(imports).values())
    unused = sorted(
        name
        for name in declared()
        if name not in provided
        and not (name in INDIRECT and INDIRECT[name][0] in imports | {"zoneinfo"})
    )
    assert not unused, f"declared in pyproject.toml but never imported from src/: {unused}"


def test_every_imported_package_is_declared() -> None:
    names = declared_with_extras()
    undeclared = sorted(
        module
        for module, dists in distributions_of(imported_top_level()).items()
        if not dists & names
    )
    assert not undeclared, f"imported from src/ but not declared in pyproject.toml: {undeclared}"


def test_indirect_dependencies_are_declared_and_installed() -> None:
    """Each entry of the table names a real declared package, so the table cannot go stale."""
    index = packages_distributions()
    installed = {normalized(d) for dists in index.values() for d in dists}
    assert set(INDIRECT) <= declared()
    assert set(INDIRECT) <= installed

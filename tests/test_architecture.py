"""The module map holds: ``core/`` does no I/O and imports nothing above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "patterdash"
CORE_MAY_IMPORT = ("patterdash.core",)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_imports_nothing_above_it(path: Path) -> None:
    own = {m for m in _imports(path) if m.startswith("patterdash")}
    above = {m for m in own if not m.startswith(CORE_MAY_IMPORT)}
    assert not above, f"{path.name} imports {sorted(above)}"
    io = {m for m in _imports(path) if m.split(".")[0] in {"sqlite3", "sqlite_utils", "aiohttp", "psycopg"}}
    assert not io, f"{path.name} does I/O through {sorted(io)}"


ROOT = PACKAGE.parent
BACKENDS = ("patterdash.store.sqlite", "patterdash.store.sqlite_files", "patterdash.store.postgres")
DRIVERS = {"sqlite3", "sqlite_utils", "psycopg", "psycopg_pool"}
OUTSIDE_STORE = sorted(
    p for p in [*PACKAGE.rglob("*.py"), *(ROOT / "cli").glob("*.py")] if (PACKAGE / "store") not in p.parents
)


@pytest.mark.parametrize("path", OUTSIDE_STORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_store_knows_a_backend_or_a_database_driver(path: Path) -> None:
    found = _imports(path)
    backends = {m for m in found if m.startswith(BACKENDS) or m.startswith("patterdash.store.migrations")}
    assert not backends, f"{path.name} imports a backend {sorted(backends)}: use patterdash.store (Store, open_store)"
    drivers = {m for m in found if m.split(".")[0] in DRIVERS}
    assert not drivers, f"{path.name} talks to a database through {sorted(drivers)}: that is patterdash/store/'s job"

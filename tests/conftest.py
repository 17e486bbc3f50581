"""Shared fixtures: real SQLite files in tmp dirs, real servers on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from patterdash.settings import Settings
from patterdash.web.app import create_app
from tests.pg import pg_server, pg_url  # noqa: F401  (fixtures: a real PostgreSQL server)

# Settings in tests come only from the code: no developer .env or PATTERDASH_* leaks in.
for _name in [n for n in os.environ if n.startswith("PATTERDASH_")]:
    del os.environ[_name]

TOKEN = "test-admin-token-0123456789"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh log file path (the file does not exist yet)."""
    return tmp_path / "patterdash.db"


# These suites also run against a server on a real PostgreSQL log (the same tests, parametrised).
BACKEND_SUITES = {"test_api", "test_sse"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise the backend suites over both stores."""
    if "log_url" in metafunc.fixturenames and metafunc.module.__name__.rsplit(".", 1)[-1] in BACKEND_SUITES:
        metafunc.parametrize("log_backend", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def log_backend(request: pytest.FixtureRequest) -> str:
    """Which store a test's server runs on (SQLite unless the suite is parametrised)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def log_url(log_backend: str, db_path: Path, request: pytest.FixtureRequest) -> str:
    """The test's own log: a fresh SQLite file, or a fresh PostgreSQL database."""
    if log_backend == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return str(db_path)


@pytest.fixture
def make_settings(log_url: str) -> Callable[..., Settings]:
    """Settings for a test, on the test's own log."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"db": log_url, "port": 0}
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


StartClient = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def start_client(make_settings: Callable[..., Settings]) -> AsyncIterator[StartClient]:
    """Start a real patterdash server on 127.0.0.1 and return a client for it.

    Call it again (after ``await client.close()``) to restart on the same file.
    """
    clients: list[TestClient[Any, Any]] = []

    async def start(**overrides: Any) -> TestClient[Any, Any]:
        app = create_app(make_settings(**overrides))
        client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


@pytest.fixture
async def client(start_client: StartClient) -> TestClient[Any, Any]:
    """An open server (no token) on a fresh log."""
    return await start_client()


@pytest.fixture
async def secured(start_client: StartClient) -> TestClient[Any, Any]:
    """A server that requires the admin token ``TOKEN``."""
    return await start_client(token=TOKEN)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under ``CI=true`` (set by ``.ci/run``) a skipped test fails the run: a test CI cannot run is a defect."""
    if os.environ.get("CI") != "true" or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        reporter.write_line(f"CI=true: {len(skipped)} test(s) skipped; every test must run in CI", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

"""A real PostgreSQL 15 server for tests: initdb + pg_ctl in a temp dir, on a free loopback port.

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user
(``runuser -u postgres --``) in a directory it owns. Each test gets its own database
(``fresh_database``). Under ``CI=true`` a missing server is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("PATTERDASH_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass
class PgServer:
    """A running PostgreSQL server: its port and data directory."""

    port: int
    root: Path
    durable: bool = False  # tests run with fsync off (speed); benches with PostgreSQL's defaults

    @property
    def admin_url(self) -> str:
        """The maintenance database, as the superuser."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def fresh_database(self) -> str:
        """An empty log of its own: a fresh schema in one shared database, named by the URL's
        search_path (CREATE SCHEMA is instant; a database per test took ~0.5 s each)."""
        import psycopg

        name = "pd_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return f"{self.admin_url}?options=-csearch_path%3D{name}"

    def ctl(self, *args: str) -> None:
        """Run ``pg_ctl`` on this server (stop, start, restart...)."""
        data = self.root / "data"
        cmd = [*_as_postgres(), str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(self.root / "log"), "-w"]
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            opts += " -c fsync=off"
        subprocess.run([*cmd, "-o", opts, *args], check=True, capture_output=True, timeout=60)


def start_server(*, durable: bool = False) -> PgServer:
    """initdb a cluster in a fresh temp dir (trust auth on loopback) and start it."""
    root = Path(tempfile.mkdtemp(prefix="patterdash-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    initdb = [*_as_postgres(), str(PG_BIN / "initdb"), "-D", str(root / "data"), "-U", "postgres"]
    subprocess.run([*initdb, "--auth=trust", "-E", "UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)
    server = PgServer(_free_port(), root, durable)
    server.ctl("start")
    return server


def stop_server(server: PgServer) -> None:
    """Stop the server (fast mode) and remove its files."""
    try:
        server.ctl("stop", "-m", "fast")
    finally:
        shutil.rmtree(server.root, ignore_errors=True)


def available() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL 15 is not installed ({PG_BIN}/initdb missing; scripts/test installs it)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    return None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One real PostgreSQL server for the whole test session."""
    why = available()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests must run in CI: {why}")
        pytest.skip(why)
    server = start_server()
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return pg_server.fresh_database()

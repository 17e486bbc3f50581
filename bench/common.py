"""Shared plumbing: server subprocesses (started and stopped by PID), client processes, statistics, RSS."""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "PYTHON",
    "Server",
    "closed_run",
    "collect",
    "free_port",
    "peer_available",
    "percentiles",
    "rss_kb",
    "run_client",
    "spawn_client",
    "start_bare",
    "start_patter",
    "start_patterdash",
    "summarise",
]

VENV_BIN = Path(sys.executable).parent
PYTHON = sys.executable
PATTERDASH = str(VENV_BIN / "patterdash")
ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for servers that cannot print theirs)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATTERDASH_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "PATTERDASH_LOG_LEVEL": "WARNING",  # no access log lines: they would cost every server the same
            "DO_NOT_TRACK": "1",
            "PATTER_TELEMETRY_DISABLED": "1",
        }
    )
    env.update(extra or {})
    return env


@dataclass
class Server:
    """A server subprocess on 127.0.0.1, stopped by PID with SIGTERM."""

    name: str
    proc: subprocess.Popen[bytes]
    url: str
    started: float
    ready_s: float = 0.0
    log: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def kill(self) -> None:
        """SIGKILL: no shutdown path runs, so what is in the log is what was committed before."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(20)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url}{path} answered")
        try:
            with urllib.request.urlopen(url + path, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{url}{path} not ready after {timeout} s")


def export_tree(rev: str, into: Path) -> Path:
    """``patterdash/`` and ``cli/`` (as ``patterdash_cli/``) of commit ``rev``, for a server of that commit."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, "patterdash", "cli"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / "cli").rename(into / "patterdash_cli")
    return into


def start_patterdash(
    db: Path, *, env: dict[str, str] | None = None, timeout: float = 120.0, tree: Path | None = None
) -> Server:
    """``patterdash serve --port 0 --db FILE``; reads the URL it prints, polls /healthz.

    ``tree``: a directory holding an older commit's packages (``export_tree``), served instead of this one.
    """
    logf = Path(tempfile.mkstemp(prefix="patterdash-bench-", suffix=".log")[1])
    started = time.perf_counter()
    extra = dict(env or {})
    # an older checkout, for before/after runs: every patterdash server of the run, or this one
    tree = tree or (Path(os.environ["BENCH_PATTERDASH_TREE"]) if os.environ.get("BENCH_PATTERDASH_TREE") else None)
    if tree:
        extra["PYTHONPATH"] = f"{tree}{os.pathsep}{ROOT}"
    proc = subprocess.Popen(
        [PATTERDASH, "serve", "--port", "0", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=logf.open("wb"),
        env=_env(extra),
    )
    assert proc.stdout is not None
    line = b""
    deadline = time.monotonic() + timeout
    while b"serving http://" not in line:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            raise RuntimeError(f"patterdash serve exited: {logf.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("patterdash serve did not announce its URL")
    url = line.split(b"serving ", 1)[1].split()[0].decode().rstrip("/")
    _wait_ready(url, proc, "/healthz", timeout)
    return Server("patterdash", proc, url, started, time.perf_counter() - started, logf, {"db": db})


def _start_module(name: str, module: str, port: int, health: str, args: Sequence[str] = ()) -> Server:
    logf = Path(tempfile.mkstemp(prefix=f"{name}-bench-", suffix=".log")[1])
    started = time.perf_counter()
    proc = subprocess.Popen(
        [PYTHON, "-m", module, "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=logf.open("wb"),
        env=_env(),
    )
    url = f"http://{HOST}:{port}"
    _wait_ready(url, proc, health, 60)
    return Server(name, proc, url, started, time.perf_counter() - started, logf)


def start_bare() -> Server:
    """The HTTP ceiling: an aiohttp handler that parses the JSON and answers 200."""
    return _start_module("bare-aiohttp", "bench.bare_server", free_port(), "/healthz")


def peer_available() -> bool:
    """Whether the Patter peer can run here (getpatter, FastAPI and uvicorn importable)."""
    return all(importlib.util.find_spec(m) is not None for m in ("getpatter", "fastapi", "uvicorn"))


def start_patter() -> Server:
    """The Patter SDK's standalone dashboard (FastAPI + uvicorn), ingest route fixed; see patter_peer."""
    return _start_module("patter", "bench.patter_peer", free_port(), "/health")


def rss_kb(pid: int) -> dict[str, int]:
    """Current and peak resident set size of a process, in KiB (from /proc)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    return {"rss_kb": out.get("VmRSS", 0), "peak_rss_kb": out.get("VmHWM", 0)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (from /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(values: Sequence[float], ps: Sequence[float] = (50, 90, 99)) -> dict[str, float]:
    """Nearest-rank percentiles, keyed ``p50`` etc.; empty input gives zeros."""
    if not values:
        return {f"p{p:g}": 0.0 for p in ps} | {"max": 0.0}
    s = sorted(values)
    out = {}
    for p in ps:
        rank = max(1, -(-len(s) * p // 100))
        out[f"p{p:g}"] = s[int(rank) - 1]
    out["max"] = s[-1]
    return out


def summarise(latencies_ms: Sequence[float], elapsed: float, *, errors: int = 0, units: int = 0) -> dict[str, Any]:
    """Throughput and latency summary of one load run."""
    n = len(latencies_ms)
    out: dict[str, Any] = {
        "requests": n,
        "errors": errors,
        "seconds": round(elapsed, 3),
        "rps": round(n / elapsed, 1) if elapsed else 0.0,
    }
    if units:
        out["units_per_s"] = round(units / elapsed, 1) if elapsed else 0.0
    out.update({f"{k}_ms": round(v, 3) for k, v in percentiles(latencies_ms).items()})
    return out


def spawn_client(spec: dict[str, Any], *, stdin: bool = False) -> subprocess.Popen[bytes]:
    """Start ``python -m bench.loadgen`` in its own process with ``spec`` (collect it with ``collect``)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({**spec, "result_file": f.name + ".out"}, f)
    proc = subprocess.Popen(
        [PYTHON, "-m", "bench.loadgen", f.name],
        stdin=subprocess.PIPE if stdin else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    _SPEC_FILES[proc.pid] = f.name
    return proc


_SPEC_FILES: dict[int, str] = {}


def collect(proc: subprocess.Popen[bytes], *, send: bytes | None = None, timeout: float = 900.0) -> dict[str, Any]:
    """Wait for a client process and return its JSON result."""
    spec_file = _SPEC_FILES.pop(proc.pid, "")
    try:
        _, err = proc.communicate(send, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"load generator failed: {err.decode()[-3000:]}")
        with open(spec_file + ".out", "rb") as f:
            return dict(json.loads(f.read()))
    finally:
        for path in (spec_file, spec_file + ".out"):
            with contextlib.suppress(OSError):
                os.unlink(path)


class _Worker:
    """One long-lived ``python -m bench.loadgen --worker`` process that runs specs one at a time."""

    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @classmethod
    def get(cls) -> subprocess.Popen[bytes]:
        if cls.proc is None or cls.proc.poll() is not None:
            cls.log = Path(tempfile.mkstemp(prefix="loadgen-worker-", suffix=".log")[1])
            cls.proc = subprocess.Popen(
                [PYTHON, "-m", "bench.loadgen", "--worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=cls.log.open("wb"),
                env=_env(),
            )
            atexit.register(cls.stop)
        return cls.proc

    @classmethod
    def stop(cls) -> None:
        proc, cls.proc = cls.proc, None
        if proc is not None and proc.poll() is None:
            assert proc.stdin is not None
            proc.stdin.close()  # end of input: the worker returns
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def run_client(spec: dict[str, Any], *, timeout: float = 900.0) -> dict[str, Any]:
    """Run one closed or paced client to completion in the shared worker process."""
    proc = _Worker.get()
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(spec).encode() + b"\n")
    proc.stdin.flush()
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else b""
    if not line:
        _Worker.stop()
        tail = _Worker.log.read_text()[-3000:] if _Worker.log else ""
        raise RuntimeError(f"load generator gave no result within {timeout} s: {tail}")
    result = dict(json.loads(line))
    if "__error__" in result:
        raise RuntimeError(f"load generator failed: {result['__error__']}")
    return result


def closed_run(server: Server, duration: float, **spec: Any) -> dict[str, Any]:
    """One closed-loop run, plus the server's CPU time per request (independent of the client's limits)."""
    cpu0 = cpu_seconds(server.pid)
    out = run_client({"mode": "closed", "url": server.url, "duration": duration, **spec})
    used = cpu_seconds(server.pid) - cpu0
    out["server_cpu_us_per_request"] = round(used / max(1, out["total_requests"]) * 1e6, 1)
    out["server_cpu_share"] = round(used / (duration + spec.get("warmup", 0.5)), 2)
    return out


@contextlib.contextmanager
def tmpdir(prefix: str = "patterdash-bench-") -> Iterator[Path]:
    """A temporary directory removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as d:
        yield Path(d)

"""Recordings beside the log: size cap, broken uploads, read scope, and where the files go."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

pytest.importorskip("livekit.api", reason="pip install 'patterdash[otel]'")

from livekit import api
from livekit.protocol import metrics as lk_metrics

from patterdash.recordings import recordings_dir, store_for
from patterdash.settings import Settings
from patterdash.sources.importer import import_path
from patterdash.store import open_store
from tests.calllogs import write_call, write_json
from tests.cli_helpers import invoke
from tests.conftest import TOKEN, StartClient

Client = TestClient[Any, Any]
KEY, SECRET = "APIpatterdash", "a-livekit-api-secret-of-32-chars!"


def _jwt() -> str:
    token = api.AccessToken(KEY, SECRET).with_observability_grants(api.ObservabilityGrants(write=True))
    return token.to_jwt()


def _multipart(audio: bytes, *, job: str = "AJ_rec") -> tuple[bytes, str]:
    """The body LiveKit's ``_upload_session_report`` sends: header.binpb, then recording.ogg."""
    header = lk_metrics.MetricsRecordingHeader(room_id="RM_1", job_id=job, duration=10_000).SerializeToString()
    boundary = "patterdash-test-boundary"
    parts = [
        ("header", "header.binpb", "application/protobuf", header),
        ("audio", "recording.ogg", "audio/ogg", audio),
    ]
    body = b""
    for name, filename, ctype, data in parts:
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {ctype}\r\nContent-Length: {len(data)}\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def _post(client: Client, body: bytes, content_type: str) -> Any:
    headers = {"Authorization": f"Bearer {_jwt()}", "Content-Type": content_type}
    return await client.post("/observability/recordings/v0", data=body, headers=headers)


async def _server(start_client: StartClient, tmp_path: Path, **kw: Any) -> Client:
    return await start_client(livekit_api_key=KEY, livekit_api_secret=SECRET, recordings_dir=tmp_path / "rec", **kw)


async def test_recording_over_the_cap_is_a_413_and_nothing_is_stored(start_client: StartClient, tmp_path: Path) -> None:
    client = await _server(start_client, tmp_path, max_recording_bytes=4096)
    body, ctype = _multipart(b"OggS" + b"\x00" * 8192)
    resp = await _post(client, body, ctype)
    assert resp.status == 413 and set(await resp.json()) == {"error", "detail"}
    assert (await (await client.get("/healthz")).json())["seq"] == 0
    assert not (tmp_path / "rec").exists() or not list((tmp_path / "rec").iterdir())


async def test_truncated_multipart_is_a_400_and_nothing_is_stored(start_client: StartClient, tmp_path: Path) -> None:
    client = await _server(start_client, tmp_path)
    body, ctype = _multipart(b"OggS" + b"\x01" * 2000)
    resp = await _post(client, body[: len(body) // 2], ctype)
    assert resp.status == 400, await resp.text()
    assert (await (await client.get("/healthz")).json())["seq"] == 0
    assert not (tmp_path / "rec").exists() or not list((tmp_path / "rec").iterdir())


async def test_recording_needs_read_scope_and_404s_without_audio(start_client: StartClient, tmp_path: Path) -> None:
    client = await _server(start_client, tmp_path, token=TOKEN)
    body, ctype = _multipart(b"OggS-audio")
    assert (await _post(client, body, ctype)).status == 200
    assert (await client.get("/api/dashboard/calls/AJ_rec/recording")).status == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    resp = await client.get("/api/dashboard/calls/AJ_rec/recording", headers=auth)
    assert resp.status == 200 and await resp.read() == b"OggS-audio"
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert (await client.get("/api/dashboard/calls/nope/recording", headers=auth)).status == 404


def test_recordings_live_beside_a_sqlite_log_unless_configured(tmp_path: Path) -> None:
    beside = Settings(_env_file=None, db=str(tmp_path / "calls.db"))  # type: ignore[call-arg]
    assert recordings_dir(beside) == tmp_path / "calls.db.recordings"
    chosen = Settings(_env_file=None, db="postgresql://x/y", recordings_dir=tmp_path / "r")  # type: ignore[call-arg]
    assert recordings_dir(chosen) == tmp_path / "r"
    assert recordings_dir(Settings(_env_file=None, db="postgresql://x/y")) is None  # type: ignore[call-arg]


async def test_a_patter_call_logs_recording_is_imported_beside_the_log(
    start_client: StartClient, db_path: Path, tmp_path: Path
) -> None:
    root = tmp_path / "calls"
    where = write_call(root, "CA-rec-1")
    (where / "recording.wav").write_bytes(b"RIFF" + b"\x02" * 3000)
    meta = json.loads((where / "metadata.json").read_text())
    write_json(where / "metadata.json", {**meta, "recording_path": "recording.wav"})
    settings = Settings(_env_file=None, db=str(db_path))  # type: ignore[call-arg]
    for _ in range(2):  # a second import adds nothing: same file name, same event id
        log = open_store(db_path)
        import_path(root, log, recordings=store_for(settings))
        log.close()
    assert [p.name.endswith(".wav") for p in (tmp_path / "patterdash.db.recordings").iterdir()] == [True]
    stats = invoke("stats", "--db", db_path, "--json")
    assert stats.exit_code == 0, stats.stderr
    assert json.loads(stats.stdout)["recordings"]["files"] == 1
    assert json.loads(stats.stdout)["recordings"]["bytes"] == 3004
    client = await start_client()
    call = await (await client.get("/api/dashboard/calls/CA-rec-1")).json()
    assert call["recording"]["content_type"] == "audio/x-wav" and call["recording"]["bytes"] == 3004
    part = await client.get("/api/dashboard/calls/CA-rec-1/recording", headers={"Range": "bytes=0-3"})
    assert part.status == 206 and await part.read() == b"RIFF"

"""Redaction at the door: numbers cut to their last 4 digits, cards/e-mails/SSNs/user patterns replaced,
before anything is stored or published; checked on the bytes of the database files (WAL included)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from patterdash.ops.redaction import Redactor, compile_patterns, luhn_valid
from patterdash.settings import Settings
from tests.calllogs import write_call
from tests.cli_helpers import invoke
from tests.conftest import StartClient
from tests.factories import event, metrics, turn

SAY = "call me at +1 (415) 555-0199, card 4111 1111 1111 1111, alice@example.com, ssn 123-45-6789, ACME-778899"
SECRETS = ["555-0199", "4155550199", "4111 1111", "4111111111111111", "alice@example", "123-45-6789", "ACME-778899"]
SECRETS += ["5550001111", "5550002222"]


@pytest.mark.parametrize(
    ("redactor", "text", "expected"),
    [
        (Redactor(numbers=True), "ring +1 (415) 555-0199 or 415.555.0100", "ring ***0199 or ***0100"),
        (Redactor(numbers=True), "on 2026-01-31 at 10:30, room 5550199", "on 2026-01-31 at 10:30, room 5550199"),
        (Redactor(patterns=True), "card 4111-1111-1111-1111 ok", "card [redacted:card] ok"),
        (Redactor(patterns=True), "order 4111 1111 1111 1112", "order 4111 1111 1111 1112"),  # fails Luhn
        (Redactor(patterns=True), "mail bob.smith+x@mail.example.co.uk now", "mail [redacted:email] now"),
        (Redactor(patterns=True), "ssn 123-45-6789, not 000-12-3456", "ssn [redacted:ssn], not 000-12-3456"),
        (Redactor(custom=tuple(compile_patterns([r"ACME-\d+"]))), "ref ACME-778899.", "ref [redacted:custom]."),
        (Redactor(numbers=True, patterns=True), "pay 4111111111111111", "pay [redacted:card]"),
    ],
)
def test_redacted_text(redactor: Redactor, text: str, expected: str) -> None:
    assert redactor.text(text) == expected


def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("79927398713") and not luhn_valid("79927398710")


def test_the_given_event_is_never_changed_and_the_result_is_stable() -> None:
    ev = event("call_start", "c", {"caller": "+15550001111", "callee": "+15550002222"})
    out = Redactor(numbers=True).event(ev)
    assert out["data"] == {"caller": "***1111", "callee": "***2222"}
    assert ev["data"]["caller"] == "+15550001111"
    assert Redactor(numbers=True).event(ev) == out  # the same id re-sent matches what is stored


def test_tool_call_details_are_redacted_at_any_depth_and_other_values_kept() -> None:
    detail = {"args": {"phone": "+1 415 555 0199", "n": 3}, "result": ["ok", {"to": "+14155550100"}], "ms": 12.5}
    out = Redactor(numbers=True).event(event("call_event", "c", {"kind": "tool_call", "name": "crm", "detail": detail}))
    expected = {"args": {"phone": "***0199", "n": 3}, "result": ["ok", {"to": "***0100"}], "ms": 12.5}
    assert out["data"]["detail"] == expected
    assert out["data"]["name"] == "crm" and detail["args"]["phone"] == "+1 415 555 0199"


def test_a_bad_user_regex_stops_the_settings() -> None:
    with pytest.raises(ValueError, match="redact regex"):
        Settings(_env_file=None, redact_regex=["(unclosed"])  # type: ignore[call-arg]


def _files_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name.startswith("patterdash.db"))


def _call(call_id: str) -> list[dict[str, Any]]:
    end = metrics(call_id, turns=1)
    end["turns"][0].update(user_text=SAY, agent_text="noted " + SAY)
    return [
        event("call_start", call_id, {"caller": "+15550001111", "callee": "+15550002222"}),
        event("transcript_line", call_id, {"turnIndex": 0, "role": "user", "text": SAY}),
        event("turn_complete", call_id, {"turn": turn(0, user=SAY, agent="got " + SAY)}),
        event("call_event", call_id, {"kind": "tool_call", "name": "crm", "detail": {"args": {"q": SAY}, "r": [SAY]}}),
        event("call_end", call_id, {"metrics": end, "transcript": [{"role": "user", "text": SAY}]}),
    ]


async def test_nothing_of_it_reaches_the_database_files_or_the_api(start_client: StartClient, db_path: Path) -> None:
    client = await start_client(redact_numbers=True, redact_patterns=True, redact_regex=[r"ACME-\d+"])
    assert (await client.post("/api/events", json=_call("c1"))).status == 200
    patter = {"call_id": "p1", "caller": "+15550001111", "callee": "+15550002222", "ended_at": 1_700_000_100}
    patter["transcript"] = [{"role": "user", "text": SAY}]
    assert (await client.post("/api/dashboard/ingest", json=patter)).status == 200
    record = await (await client.get("/api/dashboard/calls/c1")).json()
    assert (record["caller"], record["callee"]) == ("***1111", "***2222")
    expected = "call me at ***0199, card [redacted:card], [redacted:email], ssn [redacted:ssn], [redacted:custom]"
    assert record["transcript"][0]["text"] == expected
    stored = _files_bytes(db_path.parent)
    await client.close()
    stored += await asyncio.to_thread(_files_bytes, db_path.parent)
    assert b"[redacted:card]" in stored  # the grep looks at the right bytes
    for secret in SECRETS:
        assert secret.encode() not in stored, secret


async def test_without_settings_nothing_is_redacted(start_client: StartClient) -> None:
    client = await start_client()
    await client.post("/api/events", json=_call("c1"))
    record = await (await client.get("/api/dashboard/calls/c1")).json()
    assert record["caller"] == "+15550001111" and record["transcript"][0]["text"] == SAY


def test_import_redacts_at_the_door_too(tmp_path: Path, db_path: Path) -> None:
    write_call(tmp_path / "logs", "imported")
    result = invoke("import", tmp_path / "logs", "--db", db_path, env={"PATTERDASH_REDACT_NUMBERS": "1"})
    assert result.exit_code == 0, result.stderr
    stored = _files_bytes(db_path.parent)
    assert b"***1111" in stored
    assert b"5550001111" not in stored and b"5550002222" not in stored

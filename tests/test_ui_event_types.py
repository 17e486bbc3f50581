"""The UI's event-type list is generated from schemas/, and the live stream listens for all of it."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

from patterdash.core.events import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "ui" / "src" / "eventTypes.gen.ts"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_ui_event_types", ROOT / "scripts" / "gen_ui_event_types.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_event_types_are_fresh() -> None:
    gen = _generator()
    expected = gen.render(gen.event_types())
    assert GENERATED.read_text(encoding="utf-8") == expected, (
        "ui/src/eventTypes.gen.ts is stale: run `just schemas` (then `just ui`) and commit both"
    )


def test_generated_list_is_every_event_type_the_server_knows() -> None:
    listed = re.findall(r"^  '([a-z_]+)',$", GENERATED.read_text(encoding="utf-8"), flags=re.M)
    assert listed == list(EVENT_TYPES)


def test_a_new_schema_event_type_makes_the_committed_file_stale(tmp_path: Path) -> None:
    """The check would catch a type added to schemas/ but not to the UI."""
    gen = _generator()
    for path in (ROOT / "schemas").glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    envelope = json.loads((tmp_path / "envelope.json").read_text(encoding="utf-8"))
    envelope["properties"]["type"]["enum"].append("alert_fired")
    (tmp_path / "envelope.json").write_text(json.dumps(envelope), encoding="utf-8")
    (tmp_path / "event.alert_fired.json").write_text("{}", encoding="utf-8")
    assert gen.render(gen.event_types(tmp_path)) != GENERATED.read_text(encoding="utf-8")


def test_the_stream_registers_a_listener_for_every_generated_type() -> None:
    """No hand-written copy: stream.ts takes its list from the generated module."""
    stream = (ROOT / "ui" / "src" / "stream.ts").read_text(encoding="utf-8")
    assert re.search(r"import \{[^}]*\bEVENT_TYPES\b[^}]*\} from '\./eventTypes\.gen';", stream)
    assert re.search(r"for \(const \w+ of EVENT_TYPES\) es\.addEventListener\(", stream)
    copies = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "ui" / "src").rglob("*.ts*")
        if p != GENERATED and "'call_initiated',\n" in p.read_text(encoding="utf-8")
    ]
    assert not copies, f"a hand-written event-type list: {copies}"

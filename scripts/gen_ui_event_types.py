"""Write ui/src/eventTypes.gen.ts, the UI's event-type list, from schemas/ (the one source).

The SSE stream names each frame after its event type and the browser only delivers the types
the UI listens for, so the UI's list must be the schema's list. ``--check`` exits 1 when the
committed file is stale (``tests/test_ui_event_types.py`` runs the same comparison).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
TARGET = ROOT / "ui" / "src" / "eventTypes.gen.ts"


def event_types(schemas: Path = SCHEMAS) -> list[str]:
    """The envelope's ``type`` enum, in schema order; each type must have its event.<type>.json."""
    envelope = json.loads((schemas / "envelope.json").read_text(encoding="utf-8"))
    types = envelope["properties"]["type"]["enum"]
    if not types or not all(isinstance(t, str) and t.isidentifier() for t in types):
        raise ValueError(f"schemas/envelope.json: unexpected event type enum {types!r}")
    missing = [t for t in types if not (schemas / f"event.{t}.json").is_file()]
    if missing:
        raise ValueError(f"schemas/: no event.<type>.json for {missing} (run `just schemas`)")
    return list(types)


def render(types: list[str]) -> str:
    """The TypeScript module's text."""
    items = "".join(f"  '{t}',\n" for t in types)
    return (
        "// Generated from schemas/envelope.json by scripts/gen_ui_event_types.py: do not edit.\n"
        "// Regenerate with `just schemas`; tests/test_ui_event_types.py fails when this is stale.\n"
        "\n"
        "/** Every event type the server logs and streams (SSE `event:` names), in schema order. */\n"
        f"export const EVENT_TYPES = [\n{items}] as const;\n"
        "\n"
        "export type EventType = (typeof EVENT_TYPES)[number];\n"
    )


def main(argv: list[str]) -> int:
    """Write the file, or with ``--check`` only say whether it is current."""
    expected = render(event_types())
    current = TARGET.read_text(encoding="utf-8") if TARGET.is_file() else None
    if "--check" in argv:
        if current != expected:
            print(f"{TARGET.relative_to(ROOT)} is stale: run `just schemas`", file=sys.stderr)
            return 1
        return 0
    if current != expected:
        TARGET.write_text(expected, encoding="utf-8")
        print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

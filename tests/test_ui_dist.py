"""The committed ui_dist/ must be the build of the committed ui/ sources.

The build (ui/vite.config.ts, via ui/scripts/source-hash.mjs) writes
ui_dist/.source-hash. This test recomputes the same digest in Python:

- inputs: ui/index.html, package.json, package-lock.json, tsconfig.json,
  vite.config.ts, and every file under ui/src/ and ui/scripts/, skipping any
  node_modules/ folder and *.test.ts / *.test.tsx files;
- order: relative POSIX paths sorted by code point;
- digest: sha256 over ``<path>\\0<sha256 hex of content>\\n`` per input, with
  CRLF in contents normalised to LF.

When it fails, run ``just ui`` (or ``cd ui && npm ci && npm run build``) and
commit ui_dist/.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UI = ROOT / "ui"
DIST = ROOT / "ui_dist"
ROOT_FILES = ("index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts")
TREES = ("src", "scripts")


def _source_files() -> list[str]:
    files = [name for name in ROOT_FILES if (UI / name).is_file()]
    for tree in TREES:
        base = UI / tree
        if not base.is_dir():
            continue
        for path in base.rglob("*"):
            rel = path.relative_to(UI)
            if path.is_file() and "node_modules" not in rel.parts:
                files.append(rel.as_posix())
    kept = [f for f in files if not f.endswith((".test.ts", ".test.tsx"))]
    # Code-point order, as JavaScript's default string comparison.
    return sorted(kept, key=lambda p: [ord(ch) for ch in p])


def source_hash() -> str:
    """Mirror of ui/scripts/source-hash.mjs."""
    outer = hashlib.sha256()
    for rel in _source_files():
        content = (UI / rel).read_bytes().replace(b"\r\n", b"\n")
        inner = hashlib.sha256(content).hexdigest()
        outer.update(f"{rel}\0{inner}\n".encode())
    return outer.hexdigest()


def test_ui_dist_was_built_from_the_current_ui_sources() -> None:
    stamp = DIST / ".source-hash"
    assert stamp.is_file(), "ui_dist/.source-hash is missing: run `just ui` and commit ui_dist/"
    assert stamp.read_text().strip() == source_hash(), (
        "ui_dist/ is stale against ui/: run `just ui` (cd ui && npm ci && npm run build) and commit ui_dist/"
    )


def test_ui_dist_index_references_only_bundled_assets() -> None:
    html = (DIST / "index.html").read_text()
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assets = [r for r in refs if r.startswith("/assets/")]
    assert assets, "index.html references no bundled assets"
    for ref in assets:
        assert (DIST / ref.lstrip("/")).is_file(), f"{ref} is referenced by index.html but not in ui_dist/"
    external = [r for r in refs if r.startswith(("http:", "https:", "//"))]
    assert not external, f"index.html loads from outside the origin: {external}"


def test_ui_dist_index_has_no_inline_script() -> None:
    """The server's CSP is script-src 'self': every script must be a file."""
    html = (DIST / "index.html").read_text()
    for match in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S):
        attrs, body = match.groups()
        assert "src=" in attrs and not body.strip(), f"inline script in ui_dist/index.html: {match.group(0)[:80]}"


@pytest.mark.parametrize("suffix", [".woff2"])
def test_ui_dist_bundles_jetbrains_mono(suffix: str) -> None:
    fonts = list((DIST / "assets").glob(f"jetbrains-mono-*{suffix}"))
    assert fonts, "JetBrains Mono is not bundled into ui_dist/assets"

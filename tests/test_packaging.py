"""A non-editable wheel carries the CLI (as patterdash_cli), ui_dist and schemas."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_cli_ui_and_schemas_and_no_top_level_cli(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("patterdash-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "patterdash_cli/main.py" in names
    assert "patterdash/_ui_dist/index.html" in names
    assert any(n.startswith("patterdash/_ui_dist/assets/") for n in names)
    assert "patterdash/_schemas/openapi.json" in names
    assert not any(n.startswith("cli/") for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "patterdash = patterdash_cli.main:main" in zipfile.ZipFile(wheel).read(entry).decode()

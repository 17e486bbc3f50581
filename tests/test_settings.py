"""Settings chain: flags over PATTERDASH_* environment over .env."""

from __future__ import annotations

from pathlib import Path

import pytest

from patterdash.settings import load_settings


def test_defaults_are_loopback_port_8000_and_a_local_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert (settings.host, settings.port, settings.db, settings.ring_size) == (
        "127.0.0.1",
        8000,
        "patterdash.db",
        500,
    )
    assert settings.token is None


def test_the_log_may_be_a_path_or_a_store_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATTERDASH_DB", "postgresql://pd@127.0.0.1:5432/pd")
    assert load_settings().db == "postgresql://pd@127.0.0.1:5432/pd"  # not squashed like a Path would
    assert load_settings(db=tmp_path / "x.db").db == str(tmp_path / "x.db")


def test_flags_beat_environment_which_beats_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("PATTERDASH_PORT=9001\nPATTERDASH_RING_SIZE=7\nPATTERDASH_TOKEN=from-dotenv\n")
    monkeypatch.setenv("PATTERDASH_PORT", "9002")
    settings = load_settings()
    assert (settings.port, settings.ring_size) == (9002, 7)
    assert settings.token is not None and settings.token.get_secret_value() == "from-dotenv"
    assert "from-dotenv" not in repr(settings)  # secrets never printed
    assert load_settings(port=9003, ring_size=None).port == 9003


def test_a_bad_setting_is_one_clear_cli_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from patterdash_cli.main import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATTERDASH_RING_SIZE", "zero")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "invalid setting ring_size" in result.output

"""Settings: read once from the environment, with one-line errors for the operator."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings
from jaga.cli import main
from tests.conftest import make_settings


def test_missing_token_is_a_clear_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with pytest.raises(SettingsError, match="JAGA_TELEGRAM_TOKEN is not set"):
        settings.token()


def test_jaga_run_without_token_prints_one_line_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("JAGA_TELEGRAM_TOKEN", raising=False)
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("jaga: JAGA_TELEGRAM_TOKEN is not set")


def test_environment_and_admin_list_are_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAGA_ADMINS", "11, 22,33")
    monkeypatch.setenv("JAGA_REGION", "12.10")
    monkeypatch.setenv("JAGA_TELEGRAM_TOKEN", "123:abc")
    settings = load_settings()
    assert settings.admins == frozenset({11, 22, 33})
    assert settings.region == "12.10"
    assert settings.token() == "123:abc"
    assert "123:abc" not in repr(settings)


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JAGA_LANGUAGE", raising=False)
    (tmp_path / ".env").write_text("JAGA_LANGUAGE=en\n")
    assert load_settings().language == "en"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("JAGA_ADMINS", "abc", "JAGA_ADMINS"),
        ("JAGA_REGION", "Sumut", "JAGA_REGION"),
        ("JAGA_LANGUAGE", "fr", "JAGA_LANGUAGE"),
    ],
)
def test_bad_values_are_reported_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_secret_key_is_generated_private_and_stable(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, secret_key=None)
    first = settings.key
    path = tmp_path / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(_env_file=None, db=str(tmp_path / "jaga.sqlite3")).key == first  # type: ignore[call-arg]

"""core.settings: SESSIOND_DB_URL from the environment or .env, defaults, errors, redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import SettingsError
from core.settings import DEFAULT_DB_URL, get_settings, redact_url


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("SESSIOND_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    return tmp_path


def test_db_url_defaults_to_sqlite_under_var(clean_env: Path) -> None:
    assert get_settings().db_url == DEFAULT_DB_URL == "sqlite:///var/sessiond.db"


def test_db_url_comes_from_the_environment(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSIOND_DB_URL", "postgresql://postgres@127.0.0.1:5432/test")
    assert get_settings().db_url == "postgresql://postgres@127.0.0.1:5432/test"


def test_db_url_comes_from_dot_env_and_the_environment_wins(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / ".env").write_text(
        "SESSIOND_DB_URL=sqlite:///from_dotenv.db\nSSI_CONSUMER_SECRET=not-ours\n"
    )
    assert get_settings().db_url == "sqlite:///from_dotenv.db"
    monkeypatch.setenv("SESSIOND_DB_URL", "sqlite:///from_env.db")
    assert get_settings().db_url == "sqlite:///from_env.db"


def test_an_invalid_db_url_names_the_variable_without_echoing_it(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSIOND_DB_URL", "hunter2-not-a-url")
    with pytest.raises(SettingsError, match=r"^SESSIOND_DB_URL: is not a database URL") as info:
        get_settings()
    assert "hunter2" not in str(info.value)


def test_redacted_url_hides_the_password_only() -> None:
    assert redact_url("postgresql://bob:s3cret@db:5432/x") == "postgresql://bob:***@db:5432/x"
    assert redact_url("postgresql://bob@db/x") == "postgresql://bob@db/x"
    assert redact_url("sqlite:///var/sessiond.db") == "sqlite:///var/sessiond.db"

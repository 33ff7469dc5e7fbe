"""The ``alpaca`` source registers through the plugin manager and needs no secrets to list."""

from __future__ import annotations

import pytest

from core.errors import PluginError, SettingsError
from plugins.interfaces import DataSource, supports
from plugins.manager import load_plugins
from plugins.sources.alpaca.settings import load_alpaca_settings


def test_hook_register_data_sources_provides_alpaca_without_credentials(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ALPACA_API_KEY", raising=False)
    monkeypatch.delenv("ALPACA_SECRET_KEY", raising=False)
    host = load_plugins(entry_points=False)
    cls = host.data_sources["alpaca"]
    source = host.create_source("alpaca", exchange="XNYS", feed="iex", post_market=True)
    assert isinstance(source, DataSource)
    assert all(supports(source, m) for m in ("request_trades", "request_quotes", "subscribe"))
    assert cls.default_classifiers == ("lee_ready",)
    assert source.hours.kept_phases == {"continuous", "post_market"}
    with pytest.raises(PluginError, match=r"does not accept option\(s\) 'colour'"):
        host.create_source("alpaca", exchange="XNYS", colour="red")


def test_settings_name_missing_variables_and_invalid_feed(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ALPACA_API_KEY", raising=False)
    monkeypatch.setenv("ALPACA_SECRET_KEY", "s3cr3t-value")
    with pytest.raises(SettingsError) as caught:
        load_alpaca_settings().credentials()
    assert str(caught.value).startswith("Alpaca credentials missing: set ALPACA_API_KEY in")
    monkeypatch.setenv("ALPACA_FEED", "delayed")
    with pytest.raises(SettingsError, match=r"ALPACA_FEED must be one of iex, sip, was 'delayed'"):
        load_alpaca_settings()
    monkeypatch.setenv("ALPACA_FEED", "SIP")
    monkeypatch.setenv("ALPACA_DATA_URL", "http://127.0.0.1:8000/v2/")
    settings = load_alpaca_settings()
    assert settings.feed == "sip"
    assert settings.rest_base_url == "http://127.0.0.1:8000"
    assert settings.stream_endpoint == "wss://stream.data.alpaca.markets/v2/sip"
    assert "s3cr3t-value" not in repr(settings) + str(settings)


def test_settings_come_from_a_dotenv_file(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("ALPACA_API_KEY", "ALPACA_SECRET_KEY", "ALPACA_STREAM_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(
        "ALPACA_API_KEY=PKDOTENV\nALPACA_SECRET_KEY=dotenv-secret\n"
        "ALPACA_STREAM_URL=ws://127.0.0.1:9/v2/test\n"
    )
    settings = load_alpaca_settings()
    assert settings.credentials() == ("PKDOTENV", "dotenv-secret")
    assert settings.stream_endpoint == "ws://127.0.0.1:9/v2/test"

"""Alpaca credentials and endpoints, read from the environment (or ``.env``) on first use.

Variables (all optional until a request needs them):

- ``ALPACA_API_KEY``: API key id (kept as a ``SecretStr``: never printed).
- ``ALPACA_SECRET_KEY``: API secret key (``SecretStr``).
- ``ALPACA_DATA_URL``: base of the historical data REST API, default
  ``https://data.alpaca.markets`` (no ``/v2``: alpaca-py appends it; a trailing ``/v2`` is
  stripped).
- ``ALPACA_STREAM_URL``: the full stock stream URL, default
  ``wss://stream.data.alpaca.markets/v2/<feed>``.
- ``ALPACA_FEED``: ``iex`` (default, free) or ``sip`` (all US exchanges, paid).
- ``ALPACA_TRADING_URL``: base of the trading REST API used by the ``alpaca_paper`` broker,
  default ``https://paper-api.alpaca.markets`` (no ``/v2``; a trailing ``/v2`` is stripped).
- ``ALPACA_TRADING_STREAM_URL``: the trade-updates websocket, default
  ``wss://paper-api.alpaca.markets/stream``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import SettingsError

DEFAULT_DATA_URL = "https://data.alpaca.markets"
DEFAULT_STREAM_BASE = "wss://stream.data.alpaca.markets/v2/"
DEFAULT_TRADING_URL = "https://paper-api.alpaca.markets"
DEFAULT_TRADING_STREAM_URL = "wss://paper-api.alpaca.markets/stream"
FEEDS = ("iex", "sip")


class AlpacaSettings(BaseSettings):
    """Alpaca account settings; see the module docstring for the variables."""

    model_config = SettingsConfigDict(
        env_prefix="ALPACA_", env_file=".env", extra="ignore", case_sensitive=False
    )

    api_key: SecretStr | None = None
    """``ALPACA_API_KEY``: the key id; default none (required for any request)."""
    secret_key: SecretStr | None = None
    """``ALPACA_SECRET_KEY``: the secret; default none (required for any request)."""
    data_url: str | None = None
    """``ALPACA_DATA_URL``: REST base override; default the production data API."""
    stream_url: str | None = None
    """``ALPACA_STREAM_URL``: full stream URL override; default production for the feed."""
    feed: Literal["iex", "sip"] = "iex"
    """``ALPACA_FEED``: ``iex`` (default) or ``sip``."""
    trading_url: str | None = None
    """``ALPACA_TRADING_URL``: trading REST base override; default the paper-trading API."""
    trading_stream_url: str | None = None
    """``ALPACA_TRADING_STREAM_URL``: trade-updates stream override; default paper's."""

    @field_validator("feed", mode="before")
    @classmethod
    def _lower_feed(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("data_url", "stream_url", "trading_url", "trading_stream_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @property
    def rest_base_url(self) -> str:
        """The REST base alpaca-py expects: no trailing ``/`` and no ``/v2``."""
        url = (self.data_url or DEFAULT_DATA_URL).rstrip("/")
        if url.endswith("/v2"):
            url = url[: -len("/v2")]
        return url

    @property
    def trading_base_url(self) -> str:
        """The trading REST base alpaca-py expects: no trailing ``/`` and no ``/v2``."""
        url = (self.trading_url or DEFAULT_TRADING_URL).rstrip("/")
        return url[: -len("/v2")] if url.endswith("/v2") else url

    @property
    def trading_stream_endpoint(self) -> str:
        """The full websocket URL of the trade-updates stream."""
        return self.trading_stream_url or DEFAULT_TRADING_STREAM_URL

    @property
    def stream_endpoint(self) -> str:
        """The full websocket URL of the stock stream for the configured feed."""
        return self.stream_url or DEFAULT_STREAM_BASE + self.feed

    def credentials(self) -> tuple[str, str]:
        """``(key, secret)`` in clear for the alpaca-py clients; ``SettingsError`` if missing."""
        missing = [
            name
            for name, value in (
                ("ALPACA_API_KEY", self.api_key),
                ("ALPACA_SECRET_KEY", self.secret_key),
            )
            if value is None or not value.get_secret_value().strip()
        ]
        if missing:
            raise SettingsError(
                f"Alpaca credentials missing: set {' and '.join(missing)} in the environment "
                "or .env (keys from https://app.alpaca.markets, 'API Keys')"
            )
        assert self.api_key is not None and self.secret_key is not None
        return self.api_key.get_secret_value().strip(), self.secret_key.get_secret_value().strip()


def load_alpaca_settings(**overrides: object) -> AlpacaSettings:
    """Read the settings (``overrides`` win over the environment); ``SettingsError`` if invalid.

    The error names the variable and the allowed values, never a secret.
    """
    values = {key: value for key, value in overrides.items() if value is not None}
    try:
        return AlpacaSettings(**values)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else "?"
            variable = f"ALPACA_{field.upper()}"
            if field == "feed":
                problems.append(
                    f"{variable} must be one of {', '.join(FEEDS)}, was {item.get('input')!r}"
                )
            else:
                problems.append(f"{variable} is invalid: {item['msg']}")
        raise SettingsError("; ".join(problems)) from None

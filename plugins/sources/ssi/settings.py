"""SSI FastConnect settings from the environment or ``.env`` (pydantic-settings).

    SSI_CONSUMER_ID       consumer id issued by SSI (required for any network use)
    SSI_CONSUMER_SECRET   consumer secret (required; kept as SecretStr, never printed)
    SSI_URL               REST base, default https://fc-data.ssi.com.vn/ (must end with "/")
    SSI_STREAM_URL        stream base, default https://fc-datahub.ssi.com.vn/
    SSI_REQUEST_TIMEOUT_SECONDS, SSI_REQUEST_RETRIES, SSI_RETRY_BACKOFF_SECONDS
    SSI_CONNECT_TIMEOUT_SECONDS, SSI_KEEPALIVE_TIMEOUT_SECONDS, SSI_RECONNECT_*, ...

Reading settings never happens at import; ``load_ssi_settings()`` is called on first network use.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import SettingsError


class SsiSettings(BaseSettings):
    """Credentials, endpoints, timeouts and reconnect limits of the SSI source."""

    model_config = SettingsConfigDict(
        env_prefix="SSI_", env_file=".env", extra="ignore", populate_by_name=True
    )

    consumer_id: str = Field(min_length=1)
    """SSI_CONSUMER_ID (required)."""
    consumer_secret: SecretStr
    """SSI_CONSUMER_SECRET (required)."""
    url: str = "https://fc-data.ssi.com.vn/"
    """SSI_URL: REST base URL, ends with '/'."""
    stream_url: str = "https://fc-datahub.ssi.com.vn/"
    """SSI_STREAM_URL: SignalR base URL, ends with '/'."""
    request_timeout_seconds: float = Field(default=15.0, gt=0)
    """Deadline of one REST call (token fetch included), seconds. Default 15."""
    request_retries: int = Field(default=3, ge=0)
    """Retries of a REST call after a transient failure (timeout, network, HTML/garbage). Default 3."""
    retry_backoff_seconds: float = Field(default=0.5, ge=0)
    """First retry delay, doubled each retry, with jitter. Default 0.5 s."""
    connect_timeout_seconds: float = Field(default=15.0, gt=0)
    """Deadline for negotiate + websocket open + first frame, seconds. Default 15."""
    keepalive_timeout_seconds: float | None = Field(default=None, gt=0)
    """Reconnect when no frame (data or keep-alive) arrives for this long. Default: the
    server's negotiated KeepAliveTimeout (20 s at SSI)."""
    reconnect_initial_seconds: float = Field(default=1.0, ge=0)
    """First reconnect delay; doubles per consecutive failure, with jitter. Default 1 s."""
    reconnect_max_seconds: float = Field(default=60.0, gt=0)
    """Cap of the reconnect delay. Default 60 s."""
    reconnect_max_attempts: int = Field(default=0, ge=0)
    """Consecutive failed reconnects before the stream gives up (0 = never). Default 0."""
    token_refresh_margin_seconds: float = Field(default=300.0, ge=0)
    """Reconnect with a fresh token this long before the current one expires. Default 300 s."""
    token_lifetime_seconds: float = Field(default=3600.0, gt=0)
    """Assumed token lifetime when the JWT carries no ``iat``. Default 3600 s."""

    @field_validator("url", "stream_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL, was {value!r}")
        return value if value.endswith("/") else value + "/"


_ENV_NAMES = {"consumer_id": "SSI_CONSUMER_ID", "consumer_secret": "SSI_CONSUMER_SECRET"}


def load_ssi_settings(**overrides: Any) -> SsiSettings:
    """Read the settings (env, ``.env``, then ``overrides``); raise one ``SettingsError`` naming
    every missing or invalid variable (values of secrets are never echoed)."""
    try:
        return SsiSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        missing = []
        invalid = []
        for problem in error.errors():
            name = str(problem["loc"][0]) if problem["loc"] else "?"
            env = _ENV_NAMES.get(name, f"SSI_{name.upper()}")
            if problem["type"] == "missing" or (
                name in _ENV_NAMES and problem["type"] == "string_too_short"
            ):
                missing.append(env)
            else:
                invalid.append(f"{env} ({problem['msg']})")
        parts = []
        if missing:
            parts.append(
                f"missing SSI settings: {', '.join(missing)} "
                "(set them in the environment or .env; see docs/sources-ssi.md)"
            )
        if invalid:
            parts.append(f"invalid SSI settings: {'; '.join(invalid)}")
        raise SettingsError("; ".join(parts)) from None

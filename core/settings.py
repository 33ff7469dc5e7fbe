"""Process settings from the environment (and ``.env``): where the store lives.

Only settings every part of sessiond shares live here. SSI and Alpaca credentials and base URLs
live in their own settings classes inside their plugin packages, so a US-only user never needs
SSI variables. Settings are read when :func:`get_settings` is called, never at import.

=========================  ==============================  ==================================
variable                   default                         meaning
=========================  ==============================  ==================================
``SESSIOND_DB_URL``        ``sqlite:///var/sessiond.db``   SQLAlchemy URL of the store
``SESSIOND_CONFIG_DIR``    (none: ``session_configs/``)    folder of the session configs the
                                                           Dagster code location loads
=========================  ==============================  ==================================
"""

from __future__ import annotations

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import SettingsError

__all__ = ["DEFAULT_DB_URL", "Settings", "get_settings", "redact_url"]

DEFAULT_DB_URL = "sqlite:///var/sessiond.db"
"""The store used when ``SESSIOND_DB_URL`` is unset: a SQLite file under ``./var/``."""


class Settings(BaseSettings):
    """Shared settings, from ``SESSIOND_*`` environment variables or a ``.env`` file."""

    model_config = SettingsConfigDict(
        env_prefix="SESSIOND_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",  # .env also holds the plugins' variables (SSI_*, ALPACA_*)
        frozen=True,
    )

    db_url: str = Field(
        default=DEFAULT_DB_URL,
        description=(
            "SQLAlchemy URL of the store (env SESSIOND_DB_URL; default "
            f"{DEFAULT_DB_URL!r}): sqlite:///path or postgresql://user@host:port/db."
        ),
    )

    config_dir: str | None = Field(
        default=None,
        description=(
            "Folder of the session configs the Dagster code location loads (env "
            "SESSIOND_CONFIG_DIR; default: session_configs/ of the installed repository)."
        ),
    )

    @field_validator("db_url")
    @classmethod
    def _db_url_is_a_url(cls, value: str) -> str:
        value = value.strip()
        if "://" not in value:
            # the value is not echoed: a malformed URL may still carry a password
            raise ValueError(
                "is not a database URL (expected e.g. sqlite:///var/sessiond.db or "
                "postgresql://user@host:5432/db)"
            )
        return value

    @property
    def db_url_redacted(self) -> str:
        """``db_url`` with any password replaced by ``***`` (safe to print or log)."""
        return redact_url(self.db_url)


def redact_url(url: str) -> str:
    """Replace the password of ``scheme://user:password@host/...`` with ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    userinfo, _, hostpart = rest.partition("@")
    user, colon, _password = userinfo.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{hostpart}"


_ENV_NAMES = {"db_url": "SESSIOND_DB_URL", "config_dir": "SESSIOND_CONFIG_DIR"}


def get_settings() -> Settings:
    """Read the settings now (environment first, then ``.env``); SettingsError when invalid.

    Not cached: it is called at start-up and when opening a store, and tests change the
    environment between calls.
    """
    try:
        return Settings()
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else "?"
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{_ENV_NAMES.get(field, field)}: {message}")
        raise SettingsError("; ".join(problems)) from None

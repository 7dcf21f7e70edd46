"""The one settings object: JAGA_* environment variables, `.env` supported, read once."""

from __future__ import annotations

import logging
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = logging.getLogger(__name__)

Language = Literal["id", "en"]


class SettingsError(Exception):
    """A setting is missing or wrong; the message is meant for the operator."""


class Settings(BaseSettings):
    """Deployment configuration; see `.env.example` for every variable."""

    model_config = SettingsConfigDict(env_prefix="JAGA_", env_file=".env", extra="ignore")

    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    db: Path = Path("data/jaga.sqlite3")
    admins: Annotated[frozenset[int], NoDecode] = frozenset()
    secret_key: SecretStr | None = None
    region: str = "12"
    language: Language = "id"
    # Registration rules (domain.md §4: 65 is current practice, 15 the likely minimum).
    min_age: int = Field(default=15, ge=0, le=120)
    max_age: int = Field(default=65, ge=0, le=120)
    # Abandoned registration drafts: one reminder after this many hours idle, deletion after days.
    draft_reminder_hours: int = Field(default=24, ge=1)
    draft_retention_days: int = Field(default=14, ge=1)

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        """Accept `1,2,3` (the documented form) as well as a list."""
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError:
                raise ValueError(
                    "JAGA_ADMINS must be Telegram user ids separated by commas"
                ) from None
        return value

    @field_validator("region")
    @classmethod
    def _check_region(cls, value: str) -> str:
        """A province (`12`) or kabupaten (`12.10`) code."""
        import re

        if not re.fullmatch(r"\d{2}(\.\d{2})?", value):
            raise ValueError(
                "JAGA_REGION must be a province code like 12 or a kabupaten like 12.10"
            )
        return value

    def token(self) -> str:
        """The bot token, or a SettingsError that tells the operator what to set."""
        if self.telegram_token is None or not self.telegram_token.get_secret_value().strip():
            raise SettingsError(
                "JAGA_TELEGRAM_TOKEN is not set: put the token from @BotFather in the "
                "environment or in .env (or try the bot without one: jaga console)"
            )
        return self.telegram_token.get_secret_value().strip()

    @cached_property
    def key(self) -> bytes:
        """The secret key; generated into the data folder (mode 0600) on first use if unset."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value().encode()
        path = self.db.parent / "secret.key"
        if path.exists():
            return path.read_bytes().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48).encode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(value)
        log.warning(
            "event=secret_key_generated path=%s note=%s",
            path,
            "JAGA_SECRET_KEY is unset; keep this file with the database and back it up",
        )
        return value


def load_settings() -> Settings:
    """Read the settings once, turning validation errors into a short operator message."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        lines = [
            f"JAGA_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        ]
        raise SettingsError("; ".join(lines)) from None

"""The one settings object: JAGA_* environment variables, `.env` supported, read once."""

from __future__ import annotations

import logging
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from storage.db import DatabaseSettingError, Engine, engine_of

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
    # A SQLite file (the default) or postgresql://user:password@host:5432/name (storage/db.py).
    db: str = "data/jaga.sqlite3"
    # Where the secret key and other local files live; by default the SQLite file's folder, or
    # ./data when the database is PostgreSQL.
    data_dir: Path | None = None
    admins: Annotated[frozenset[int], NoDecode] = frozenset()
    secret_key: SecretStr | None = None
    region: str = "12"
    language: Language = "id"
    # Registration rules: 65 is current practice (Pemkab Mukomuko 2025), 15 the likely minimum.
    min_age: int = Field(default=15, ge=0, le=120)
    max_age: int = Field(default=65, ge=0, le=120)
    # Abandoned registration drafts: one reminder after this many hours idle, deletion after days.
    draft_reminder_hours: int = Field(default=24, ge=1)
    draft_retention_days: int = Field(default=14, ge=1)
    # Rejected submissions are deleted this many days after the rejection (UU 27/2022 Pasal 43).
    rejected_retention_days: int = Field(default=90, ge=1)
    # Per-user flood limit: a burst of this many updates, then this many a second on average.
    flood_burst: int = Field(default=30, ge=1)
    flood_rate: float = Field(default=1.0, gt=0)
    # Log lines as key=value (`kv`) or one JSON object per line (`json`); personal data masked.
    log_format: Literal["kv", "json"] = "kv"
    # The webhook's secret token (1-256 of A-Z a-z 0-9 _ -); derived from the secret key if unset.
    webhook_secret: SecretStr | None = None
    # Updates handled at once (different people concurrently, one person's in order).
    max_concurrent_updates: int = Field(default=64, ge=1, le=4096)
    # Messages a second to Telegram overall (AIORateLimiter); Telegram's bulk limit is about 30.
    max_messages_per_second: float = Field(default=30, gt=0)
    # An update still being handled after this many seconds is cancelled and the person is asked
    # to try again (bot/processing.py); other people are never held up by it.
    handler_timeout_seconds: float = Field(default=5, gt=0, le=600)
    # Where `jaga run` serves /health (bot/webhook.py); `--health-listen`/`--health-port` override,
    # port 0 turns it off.
    health_listen: str = "127.0.0.1"
    health_port: int = Field(default=8080, ge=0, le=65535)
    # Broadcasts and reminders (bot/outbox.py): the outbox's own pace, and how long a claimed
    # message may stay unanswered before another sender (after a crash) sends it again.
    outbox_messages_per_second: float = Field(default=25, gt=0, le=1000)
    outbox_lease_seconds: float = Field(default=60, gt=0)
    # Several webhook processes on PostgreSQL (bot/inbox.py): how long a process may hold an
    # update before another takes it over (after a crash); longer than the handler time bound.
    inbox_lease_seconds: float = Field(default=30, gt=0, le=3600)
    # WhatsApp Business Cloud API (handlers/whatsapp/): the token's presence turns the channel on.
    whatsapp_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_api_url: str = "https://graph.facebook.com/v23.0"
    whatsapp_listen: str = "0.0.0.0"  # Meta's servers call the webhook from outside
    whatsapp_port: int = Field(default=8090, ge=1, le=65535)
    # Outside the 24 hours after a person's last message WhatsApp takes only approved templates:
    # these carry reminders and broadcasts, with the text as their one body parameter.
    whatsapp_template_reminder: str = "jaga_pengingat"
    whatsapp_template_broadcast: str = "jaga_siaran"
    whatsapp_template_language: str = "id"
    whatsapp_messages_per_second: float = Field(default=20, gt=0, le=1000)
    # Cadre invite links stay valid this many days.
    cadre_invite_days: int = Field(default=7, ge=1, le=90)
    # Reminders (bot/reminders.py): scanned every N minutes, sent only between these WIB hours;
    # registrations to fix after N days; protection ending within N days; cadre summary weekday
    # (0 = Monday).
    reminder_scan_minutes: int = Field(default=30, ge=1)
    reminder_start_hour: int = Field(default=8, ge=0, le=23)
    reminder_end_hour: int = Field(default=20, ge=1, le=24)
    fix_reminder_days: int = Field(default=2, ge=1)
    protection_reminder_days: int = Field(default=7, ge=1)
    cadre_summary_weekday: int = Field(default=0, ge=0, le=6)
    # Potential workers per kabupaten for the coverage rate in /laporan: `12.10=181567,12.05=…`.
    potential_workers: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    # The district office workers are told to contact when a registration is rejected or sent
    # back, per kabupaten: `12.10=Disnaker Labuhanbatu, 0624-21234;12.07=…` or a JSON object.
    district_contacts: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    @field_validator("db", mode="before")
    @classmethod
    def _check_db(cls, value: object) -> object:
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if isinstance(value, str):
            try:
                engine_of(value)
            except DatabaseSettingError as exc:
                raise ValueError(str(exc).removeprefix("JAGA_DB: ")) from None
        return value

    @property
    def db_engine(self) -> Engine:
        """The engine JAGA_DB names."""
        return engine_of(self.db)

    @property
    def db_path(self) -> Path:
        """The SQLite file; commands that work on the file itself refuse a PostgreSQL URL."""
        if self.db_engine != "sqlite":
            raise SettingsError(
                "JAGA_DB is a PostgreSQL URL; this command works on a SQLite file "
                "(for PostgreSQL use its own tools, such as pg_dump)"
            )
        return Path(self.db)

    @property
    def db_display(self) -> str:
        """JAGA_DB as it may be printed: a URL without its password."""
        if self.db_engine == "sqlite":
            return self.db
        parts = urlsplit(self.db)
        host = f"{parts.hostname or ''}:{parts.port}" if parts.port else parts.hostname or ""
        user = f"{parts.username}@" if parts.username else ""
        return f"{parts.scheme}://{user}{host}{parts.path}"

    @property
    def data_folder(self) -> Path:
        """The folder for the secret key and other local files."""
        if self.data_dir is not None:
            return self.data_dir
        return Path(self.db).parent if self.db_engine == "sqlite" else Path("data")

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

    @field_validator("potential_workers", mode="before")
    @classmethod
    def _split_potential_workers(cls, value: object) -> object:
        """Accept `12.10=181567,12.05=250000` (the documented form) as well as a dict."""
        if not isinstance(value, str):
            return value
        result: dict[str, int] = {}
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            code, sep, count = part.partition("=")
            if not sep or not count.strip().isdigit() or not code.strip():
                raise ValueError("JAGA_POTENTIAL_WORKERS must look like 12.10=181567,12.05=250000")
            result[code.strip()] = int(count.strip())
        return result

    @field_validator("district_contacts", mode="before")
    @classmethod
    def _split_district_contacts(cls, value: object) -> object:
        """Accept `12.10=Disnaker Labuhanbatu, 0624-21234;12.07=…` or a JSON object."""
        if not isinstance(value, str):
            return value
        import json
        import re

        if value.strip().startswith("{"):
            value = json.loads(value)
            if not isinstance(value, dict):
                raise ValueError("JAGA_DISTRICT_CONTACTS must be a JSON object")
            items = [(str(k), str(v)) for k, v in value.items()]
        else:
            items = []
            for part in (p.strip() for p in value.split(";")):
                if not part:
                    continue
                code, sep, contact = part.partition("=")
                items.append((code, contact if sep else ""))
        result: dict[str, str] = {}
        for code, contact in items:
            if not re.fullmatch(r"\d{2}\.\d{2}", code.strip()) or not contact.strip():
                raise ValueError(
                    "JAGA_DISTRICT_CONTACTS must look like "
                    "12.10=Disnaker Labuhanbatu, 0624-21234;12.07=Disnaker Deli Serdang, 061-…"
                )
            result[code.strip()] = " ".join(contact.split())
        return result

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

    @property
    def whatsapp_enabled(self) -> bool:
        """Whether JAGA_WHATSAPP_TOKEN is set, which turns the WhatsApp channel on."""
        token = self.whatsapp_token
        return token is not None and bool(token.get_secret_value().strip())

    def whatsapp_secrets(self) -> tuple[str, str, str, str]:
        """Token, phone number id, app secret and verify token, or a SettingsError naming what
        is missing (all four are needed once the channel is on)."""
        values = {
            "JAGA_WHATSAPP_TOKEN": self.whatsapp_token,
            "JAGA_WHATSAPP_PHONE_NUMBER_ID": self.whatsapp_phone_number_id,
            "JAGA_WHATSAPP_APP_SECRET": self.whatsapp_app_secret,
            "JAGA_WHATSAPP_VERIFY_TOKEN": self.whatsapp_verify_token,
        }
        plain = {
            name: (v.get_secret_value() if isinstance(v, SecretStr) else v or "").strip()
            for name, v in values.items()
        }
        missing = [name for name, value in plain.items() if not value]
        if missing:
            raise SettingsError(
                f"{', '.join(missing)} not set: the WhatsApp channel needs its token, phone "
                "number id, app secret and verify token from Meta's app dashboard (README)"
            )
        token, number, secret, verify = plain.values()
        return token, number, secret, verify

    @cached_property
    def key(self) -> bytes:
        """The secret key; generated into the data folder (mode 0600) on first use if unset."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value().encode()
        path = self.data_folder / "secret.key"
        if path.exists():
            return path.read_bytes().strip()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48).encode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.fchmod(fd, 0o600)  # exactly owner-only, whatever the umask
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
            f"JAGA_{'_'.join(str(p) for p in err['loc']).upper()}: "
            + err["msg"].removeprefix("Value error, ")
            for err in exc.errors()
        ]
        raise SettingsError("; ".join(lines)) from None

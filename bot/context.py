"""The typed callback context: handlers reach settings and storage through it."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue

from bot.crypto import FieldCipher
from bot.settings import Settings
from storage.db import Database

if TYPE_CHECKING:
    from bot.flood import FloodLimiter
    from bot.leader import Leader
    from bot.limits import Shared
    from bot.outbox import OutboxSender


@dataclass(frozen=True)
class Flow:
    """A multi-step flow whose state lives in the database (see handlers/router.py)."""

    name: str
    # Answers a message sent while the flow is active.
    on_message: Callable[[Update, JagaContext], Coroutine[Any, Any, None]]
    # Leaves the flow when the user cancels (/batal): discards (or keeps, see cancel_text) its
    # unsent state and clears the active-flow pointer, in one commit.
    on_cancel: Callable[[JagaContext, int], Coroutine[Any, Any, None]]
    # What /batal says when it is more than "cancelled": answers kept, or a draft thrown away
    # (marked with N_).
    cancel_text: str | None = None
    # Asks the flow's current question again: the answer to the last one was stored, but the
    # process that stored it died before its next question went out (bot/inbox.py).
    resume: Callable[[Update, JagaContext], Coroutine[Any, Any, None]] | None = None


@dataclass(frozen=True)
class Command:
    """A Telegram command: its handler, its line in the command list and its menu button."""

    name: str
    callback: Callable[[Update, JagaContext], Coroutine[Any, Any, None]]
    description: str  # marked with N_; translated when the command list is set
    menu_label: str | None = None  # marked with N_; a button on the /start menu when set


class Services:
    """Long-lived resources shared by all handlers: the Application's `bot_data`."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._db: Database | None = None
        self._cipher: FieldCipher | None = None
        self.flows: dict[str, Flow] = {}
        self.commands: dict[str, Command] = {}
        # The paced sender of broadcasts and reminders, while the Application runs.
        self.outbox: OutboxSender | None = None
        # When the admins were last told of each kind of error (handlers/errors.py throttles).
        self.error_notices: dict[str, float] = {}
        # Several processes on PostgreSQL (bot/limits.py): the per-person flood limit, the
        # leader that alone runs the repeating jobs, and the limits kept in the database.
        self.flood: FloodLimiter | None = None
        self.leader: Leader | None = None
        self.shared: Shared | None = None
        # The WhatsApp channel (handlers/whatsapp/channel.py) when JAGA_WHATSAPP_TOKEN is set.
        self.whatsapp: Any = None

    @property
    def settings(self) -> Settings:
        """The deployment settings."""
        if self._settings is None:
            raise RuntimeError("settings are set by build_application")
        return self._settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._settings = value

    @property
    def db(self) -> Database:
        """The open database (opened in post_init, closed in post_shutdown)."""
        if self._db is None:
            raise RuntimeError("the database is opened in the Application's post_init")
        return self._db

    @db.setter
    def db(self, value: Database | None) -> None:
        self._db = value

    @property
    def cipher(self) -> FieldCipher:
        """Encryption and keyed hashes for NIK and phone numbers."""
        if self._cipher is None:
            raise RuntimeError("the cipher is set by build_application")
        return self._cipher

    @cipher.setter
    def cipher(self, value: FieldCipher) -> None:
        self._cipher = value

    @property
    def db_open(self) -> bool:
        """Whether post_init has opened the database."""
        return self._db is not None


class JagaContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], Services]):
    """CallbackContext with typed access to our services."""

    @property
    def services(self) -> Services:
        """Settings, database and flows."""
        return self.bot_data

    @property
    def db(self) -> Database:
        """The open database."""
        return self.bot_data.db

    @property
    def settings(self) -> Settings:
        """The deployment settings."""
        return self.bot_data.settings

    @property
    def cipher(self) -> FieldCipher:
        """Encryption and keyed hashes for NIK and phone numbers."""
        return self.bot_data.cipher


CONTEXT_TYPES = ContextTypes(context=JagaContext, bot_data=Services)


# The Application as built by the composition root (jaga/app.py), for code that receives it.
JagaApplication = Application[
    ExtBot[None], JagaContext, dict[Any, Any], dict[Any, Any], Services, JobQueue[JagaContext]
]

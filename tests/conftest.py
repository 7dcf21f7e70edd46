"""Fixtures: a fresh database per test and the real Application on the recording Bot API."""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.fakeapi import ApiCall, RecordingBotApi
from bot.i18n import catalog_compiled
from bot.settings import Settings
from jaga.app import JagaApplication, build_application, running
from jaga.console import UpdateFactory
from storage.db import Database
from tests import pg

ADMIN_ID = 9001


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to run against uncompiled catalogs: English tests would silently see Indonesian."""
    if not catalog_compiled("en"):
        raise pytest.UsageError("compile the catalogs first: make catalogs")
    if pg.ENGINE == "postgresql":
        pg.start()


_DATABASE_FIXTURES = {"settings", "harness", "harness_factory"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL run, only the tests that reach the database (the rest ran on SQLite)."""
    if pg.ENGINE != "postgresql":
        return
    keep: list[pytest.Item] = []
    skip: list[pytest.Item] = []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        function = getattr(item, "function", None)
        source = inspect.getsource(function) if function is not None else ""
        reaches = fixtures & _DATABASE_FIXTURES or "make_settings(" in source
        reaches = reaches and item.get_closest_marker("sqlite_only") is None
        (keep if reaches else skip).append(item)
    if skip:
        config.hook.pytest_deselected(items=skip)
        items[:] = keep


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop this worker's PostgreSQL server, if it started one."""
    pg.stop()


@pytest.fixture(scope="module")
def postgres_server() -> None:
    """PostgreSQL for a module that always needs it, also on the SQLite run (kept to the end)."""
    pytest.importorskip("pgserver", reason="pgserver (PostgreSQL for the tests) is not installed")
    pg.start()


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """Each test's PostgreSQL databases go when it ends (SQLite files go with tmp_path)."""
    yield
    pg.drop_created()


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test: its own database, a fixed key, nothing read from the environment."""
    values: dict[str, Any] = {
        "db": pg.new_database() if pg.ENGINE == "postgresql" else tmp_path / "jaga.sqlite3",
        "data_dir": tmp_path,
        "secret_key": "test-secret-key-of-enough-length-0123456789",
        "admins": str(ADMIN_ID),
        "telegram_token": None,
        # Tests send updates far faster than a person types; flood tests set their own limit.
        "flood_burst": 10_000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """`jaga` configures the root logger; put it back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Test settings with a fresh temporary database."""
    return make_settings(tmp_path)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    """The test's database (SQLite, or PostgreSQL on that run), migrated."""
    database = await Database.open(settings.db)
    try:
        yield database
    finally:
        await database.close()


class Harness:
    """The Application and what it said: send updates as users, read the recorded answers."""

    def __init__(self, app: JagaApplication, api: RecordingBotApi):
        self.app = app
        self.api = api
        self.updates = UpdateFactory(app.bot, api)

    @property
    def db(self) -> Any:
        """The Application's open database."""
        return self.app.bot_data.db

    async def _process(self, update: Any) -> list[ApiCall]:
        before = len(self.api.calls)
        await self.app.process_update(update)
        return self.api.calls[before:]

    async def send(self, user_id: int, text: str, *, chat_id: int | None = None) -> list[ApiCall]:
        """The user sends text (a /command gets its entity); returns the calls it caused."""
        return await self._process(self.updates.text(user_id, text, chat_id=chat_id))

    async def press(
        self, user_id: int, data: str, message: ApiCall | None = None
    ) -> list[ApiCall]:
        """The user presses the button with `data` (on `message`, default their last one)."""
        return await self._process(self.updates.press(user_id, data, message))

    async def tap(self, user_id: int, label: str) -> list[ApiCall]:
        """The user presses the newest button labelled `label` (inline, or a reply keyboard)."""
        for call in reversed(self.api.sent(user_id)):
            for text, data in call.buttons:
                if text == label:
                    if data:
                        return await self.press(user_id, data, call)
                    return await self.send(user_id, label)
        raise AssertionError(f"no button {label!r} in {self.labels(user_id)}")

    async def update(self, update: Any) -> list[ApiCall]:
        """Process any prepared update."""
        return await self._process(update)

    def last(self, user_id: int) -> ApiCall:
        """The last message sent to the user."""
        return self.api.last(user_id)

    def text(self, user_id: int) -> str:
        """The text of the last message sent to the user."""
        return self.api.last(user_id).text

    def labels(self, user_id: int) -> list[str]:
        """Button labels of the last message that had buttons."""
        for call in reversed(self.api.sent(user_id)):
            if call.buttons:
                return [label for label, _ in call.buttons]
        return []


# A person reads every message: none longer than this, none with our internal names in it.
MAX_MESSAGE_LENGTH = 600
_LINK = re.compile(r"https?://\S+")
_INTERNAL = (
    # snake_case keys (mother_name, kabupaten_code), but not commands such as /data_saya
    re.compile(r"(?<![/\w])[a-z]+(?:_[a-z]+)+\b"),
    re.compile(r"\{[a-z_]+\}"),  # a placeholder left unfilled
    re.compile(r"\bNone\b|\d{4}-\d{2}-\d{2}\.\d+"),  # a Python None; a consent version
    re.compile(r"\b\w+\.(?:py|toml|sql)\b"),  # our file names
)


def readability_problems(text: str) -> list[str]:
    """What in a message to a person is too long or internal (empty when it reads well)."""
    problems = [f"{len(text)} characters"] if len(text) > MAX_MESSAGE_LENGTH else []
    words = _LINK.sub(" ", text)  # a link's random token may look like a key: it is not one
    return problems + [m.group() for pattern in _INTERNAL for m in pattern.finditer(words)]


HarnessFactory = Callable[..., AbstractAsyncContextManager[Harness]]


@pytest.fixture
def harness_factory(settings: Settings) -> HarnessFactory:
    """Start an Application on the test database (call twice to simulate a restart)."""

    @asynccontextmanager
    async def start(settings_: Settings | None = None) -> AsyncIterator[Harness]:
        api = RecordingBotApi()
        app = build_application(settings_ or settings, request=api)
        async with running(app):
            api.clear()
            yield Harness(app, api)
        assert api.unexpected == [], "the bot called Bot API methods the stand-in does not know"
        for call in api.calls:
            assert not readability_problems(call.text), (readability_problems(call.text), call)

    return start


@pytest.fixture
async def harness(harness_factory: HarnessFactory) -> AsyncIterator[Harness]:
    """A running Application with a fresh database."""
    async with harness_factory() as h:
        yield h

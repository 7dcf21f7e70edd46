"""What a flow shows, independent of the channel that shows it.

A flow step produces one `Prompt`: the text (already translated) and its `Choices`: rows of
choices, each with a stable id, links, and what the person may send instead of typing (their
phone number, a photo, a location). A choice's id is the callback data the flow handles when it
is picked, so it must fit the one grammar of callback data (`bot.callbacks.parse`). Each channel
renders a prompt its own way (handlers/telegram/render.py: inline or reply keyboards;
handlers/whatsapp/render.py: reply buttons or lists, with the channel's own wire ids).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot import callbacks

Request = Literal["contact", "photo", "location"]
_LINK_SCHEMES = ("https://", "http://", "tg://")


@dataclass(frozen=True)
class Choice:
    """One answer a person can pick (its callback data as id), or a link (a url, no id)."""

    id: str
    label: str
    description: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if not self.label.strip():
            raise ValueError(f"empty label for choice {self.id or self.url!r}")
        if self.url is not None:
            if self.id or not self.url.startswith(_LINK_SCHEMES):
                raise ValueError(f"a link choice has a url and no id: {self.id!r} {self.url!r}")
        elif callbacks.parse(self.id) is None:
            raise ValueError(f"malformed choice id: {self.id!r}")

    @classmethod
    def link(cls, label: str, url: str) -> Choice:
        """A choice that opens `url`."""
        return cls("", label, url=url)

    @property
    def is_link(self) -> bool:
        """Whether the choice opens a url instead of answering the flow."""
        return self.url is not None


@dataclass(frozen=True)
class Choices:
    """What a prompt offers: rows of choices, or a request with ready typed answers, or a clear."""

    rows: tuple[tuple[Choice, ...], ...] = ()
    # Something the person sends instead of typing, and the label of its button (a contact
    # request needs one).
    request: Request | None = None
    request_label: str | None = None
    replies: tuple[str, ...] = ()  # texts a press sends as if typed, below the request's button
    clear: bool = False  # take away the reply keyboard an earlier contact request left

    def __post_init__(self) -> None:
        # Accept any sequences but keep the value immutable (and hashable).
        rows = tuple(tuple(row) for row in self.rows)
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "replies", tuple(self.replies))
        ids = [choice.id for row in rows for choice in row if not choice.is_link]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate choice ids: {ids}")
        if self.request == "contact" and not (self.request_label or "").strip():
            raise ValueError("a contact request needs the label of its button")
        if self.clear and (rows or self.request or self.replies):
            raise ValueError("a cleared keyboard offers nothing")
        if rows and (self.request in ("contact", "location") or self.replies):
            raise ValueError("choices and a request for a contact or location do not mix")

    @property
    def choices(self) -> tuple[Choice, ...]:
        """Every choice, row after row."""
        return tuple(choice for row in self.rows for choice in row)


NOTHING = Choices()


@dataclass(frozen=True)
class Prompt:
    """A text and what it offers."""

    text: str
    choices: Choices = NOTHING

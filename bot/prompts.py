"""What a flow asks, independent of the channel that shows it.

A flow step produces one `Prompt`: the question (already translated), the choices it offers, each
with a stable id, and what the person may send instead of typing (their phone number, a photo, a
location). Each channel renders it its own way (Telegram inline keyboards, WhatsApp reply buttons
or lists) and hands the chosen id back; `parse_choice_id` is the one check on such an id, since an
id comes back from the person's client and can be forged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.patterns import linear

# Short and plain: fits Telegram's 64-byte callback data and WhatsApp's row and button ids with
# room for a channel's own prefix, and cannot carry markup or control characters.
MAX_CHOICE_ID = 32
_CHOICE_ID = linear(r"[a-z0-9_:.\-]{1,32}")

Request = Literal["contact", "photo", "location"]


def parse_choice_id(raw: object) -> str | None:
    """The choice id if `raw` is a well-formed one (≤ 32 of a-z 0-9 _ : . -), else None."""
    if not isinstance(raw, str) or _CHOICE_ID.fullmatch(raw) is None:
        return None
    return raw


@dataclass(frozen=True)
class Choice:
    """One answer a person can pick: a stable id, the label shown, an optional line under it."""

    id: str
    label: str
    description: str | None = None

    def __post_init__(self) -> None:
        if parse_choice_id(self.id) is None:
            raise ValueError(f"malformed choice id: {self.id!r}")
        if not self.label.strip():
            raise ValueError(f"empty label for choice {self.id!r}")


@dataclass(frozen=True)
class Prompt:
    """A question with its choices (ids unique) and what may be sent instead of typing."""

    text: str
    choices: Sequence[Choice] = ()
    request: Request | None = None

    def __post_init__(self) -> None:
        # Accept any sequence of choices but keep the prompt immutable (and hashable).
        object.__setattr__(self, "choices", tuple(self.choices))
        ids = [choice.id for choice in self.choices]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate choice ids: {ids}")

    def choice(self, choice_id: str) -> Choice | None:
        """The choice with this id, if the prompt offers it."""
        return next((c for c in self.choices if c.id == choice_id), None)

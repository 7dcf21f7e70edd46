"""The flow kernel's writes: a flow's step and the person's active-flow pointer, as one unit.

A flow that takes an answer changes its own rows (the registration's answer and next step, a
broadcast draft, a status lookup's state …) and says which flow the person's next typed message
answers (`users.active_flow`). Both are built here as `Change`s and committed together by
`Database.apply`, before the next question is sent: a crash between them can leave neither an
answer without its next step nor a step the router does not send the person's message to.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from storage.db import Change, Database, now_text


class _Keep(Enum):
    KEEP = "keep"


# The pointer argument that leaves `users.active_flow` as it is.
KEEP: Final = _Keep.KEEP
Pointer = str | None | _Keep


def pointer(person: int, flow: str | None) -> Change:
    """The change that makes `flow` (None: no flow) the one the person's next message answers."""
    return (
        "INSERT INTO users(telegram_id, active_flow) VALUES (?, ?) ON CONFLICT(telegram_id) DO "
        "UPDATE SET active_flow = excluded.active_flow, updated_at = ?",
        (person, flow, now_text()),
    )


def leave(person: int, flow: str) -> Change:
    """The change that leaves `flow` if it is still the person's active one."""
    return (
        "UPDATE users SET active_flow = NULL, updated_at = ? "
        "WHERE telegram_id = ? AND active_flow = ?",
        (now_text(), person, flow),
    )


async def commit_step(
    db: Database, person: int, flow: Pointer, changes: list[Change]
) -> list[int]:
    """Commit a flow's changes and the person's pointer (unless KEEP) in one unit; the rows each
    of `changes` touched."""
    if flow is not KEEP:
        return (await db.apply([*changes, pointer(person, flow)]))[:-1]
    return await db.apply(changes) if changes else []

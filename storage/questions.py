"""Questions the bot could not answer, passed on to the asker's cadre or district."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from storage.db import Database, now_text
from storage.review import InTransaction


class QuestionStatus(StrEnum):
    """A question's life: kept for its asker, passed on, then answered."""

    DRAFT = "draft"
    OPEN = "open"
    ANSWERED = "answered"


class Question(BaseModel):
    """One row of `questions`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    asker_id: int
    text: str
    region_code: str | None = None  # desa (or kabupaten) of the asker, when known
    status: QuestionStatus = QuestionStatus.DRAFT
    answer: str | None = None
    answered_by: int | None = None
    created_at: str = ""
    forwarded_at: str | None = None
    answered_at: str | None = None


async def add_draft(db: Database, asker_id: int, text: str) -> int:
    """Keep an unanswered question so that the asker can choose to pass it on; returns its id."""
    return await db.insert(
        "INSERT INTO questions(asker_id, text) VALUES (?, ?) RETURNING id",
        (asker_id, _storable(text)[:1000]),
    )


def _storable(text: str) -> str:
    """Free text as any engine stores it: PostgreSQL's text refuses the NUL character."""
    return text.replace("\x00", "")


async def get(db: Database, question_id: int) -> Question | None:
    """One question."""
    row = await db.fetchone("SELECT * FROM questions WHERE id = ?", (question_id,))
    return None if row is None else Question.model_validate(dict(row))


async def forward(
    db: Database,
    question_id: int,
    asker_id: int,
    region_code: str | None,
    *,
    then: InTransaction | None = None,
) -> bool:
    """Pass a draft question on (only its asker can); False if it was already passed on.

    `then` runs in the same transaction, only when the question was passed on now (to queue
    the notes to the officials).
    """
    async with db.write() as conn:
        cursor = await conn.execute(
            "UPDATE questions SET status = 'open', region_code = ?, forwarded_at = ? "
            "WHERE id = ? AND asker_id = ? AND status = 'draft'",
            (region_code, now_text(), question_id, asker_id),
        )
        changed = cursor.rowcount > 0
        if changed and then is not None:
            await then(conn)
    return changed


async def open_questions(db: Database, *, limit: int = 200) -> list[Question]:
    """Questions waiting for an answer, oldest first (the caller filters by region)."""
    rows = await db.fetchall(
        "SELECT * FROM questions WHERE status = 'open' ORDER BY forwarded_at, id LIMIT ?",
        (limit,),
    )
    return [Question.model_validate(dict(r)) for r in rows]


async def answer(
    db: Database,
    question_id: int,
    answered_by: int,
    text: str,
    *,
    then: InTransaction | None = None,
) -> bool:
    """Store the answer of an open question; False if someone answered it first.

    `then` runs in the same transaction, only when this answer was stored (to queue it for the
    asker).
    """
    async with db.write() as conn:
        cursor = await conn.execute(
            "UPDATE questions SET status = 'answered', answer = ?, answered_by = ?, "
            "answered_at = ? WHERE id = ? AND status = 'open'",
            (_storable(text), answered_by, now_text(), question_id),
        )
        changed = cursor.rowcount > 0
        if changed and then is not None:
            await then(conn)
    return changed

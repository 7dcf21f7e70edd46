"""Text from users is untrusted: invisible and direction-changing characters, odd forms, length.

Right-to-left overrides (U+202E) can make a stored name display as something else; zero-width
characters make `1210​0115…` look like a NIK while not being one; fullwidth digits (`１２１０`) are
digits to a person, and so are Arabic-Indic ones (`١٢١٠`). `clean_text` normalises all of that
once, where text enters a flow; every validator starts from its result.
"""

from __future__ import annotations

import unicodedata

# Longer texts are refused where they arrive (handlers/privacy.py): no answer needs more.
MAX_TEXT_LENGTH = 1500

_KEEP_CONTROLS = {"\n"}
_DROPPED_CATEGORIES = {"Cc", "Cf", "Co", "Cs"}
# Direction marks, embeddings, overrides and isolates (Unicode Bidirectional Algorithm, UAX #9):
# they sit between words (`Budi\u200fSantoso`), so they become a space; other format characters
# (zero-width space and joiners) vanish, so `1210\u200b0115…` stays one number.
_DIRECTION_MARKS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def _plain(ch: str) -> str:
    """One character as kept: a digit of any script as 0-9, a direction mark as a space."""
    if ch in _DIRECTION_MARKS:
        return " "
    if ch in _KEEP_CONTROLS:
        return ch
    if unicodedata.category(ch) in _DROPPED_CATEGORIES:
        return ""
    if not ch.isascii() and ch.isdecimal():
        return str(unicodedata.decimal(ch))
    return ch


def clean_text(text: str) -> str:
    """NFKC-normalised, digits as 0-9, without control/format characters, trimmed.

    Every Unicode decimal digit (Arabic-Indic `١`, Devanagari `१`, fullwidth `１`) becomes its
    ASCII digit; NFKC alone leaves Arabic-Indic digits as they are. Direction marks become a
    space, zero-width characters vanish. Line breaks are kept; tabs become spaces; runs of spaces
    collapse to one. Emoji stay: they are not dangerous, and whether a name may contain them is
    the name rule's decision.
    """
    text = unicodedata.normalize("NFKC", text).replace("\t", " ").replace("\r\n", "\n")
    kept = "".join(_plain(ch) for ch in text)
    lines = (" ".join(line.split()) for line in kept.split("\n"))
    return "\n".join(lines).strip()


def has_emoji(text: str) -> bool:
    """Whether the text contains pictographs (So: symbols, other), e.g. in a name."""
    return any(unicodedata.category(ch) == "So" for ch in text)

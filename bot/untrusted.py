"""Text from users is untrusted: invisible and direction-changing characters, odd forms, length.

Right-to-left overrides (U+202E) can make a stored name display as something else; zero-width
characters make `1210​0115…` look like a NIK while not being one; fullwidth digits (`１２１０`) are
digits to a person. `clean_text` normalises all of that once, where text enters a flow.
"""

from __future__ import annotations

import unicodedata

# Longer texts are refused where they arrive (handlers/privacy.py): no answer needs more.
MAX_TEXT_LENGTH = 1500

_KEEP_CONTROLS = {"\n"}


def clean_text(text: str) -> str:
    """NFKC-normalised, without control/format characters (bidi marks, zero-width), trimmed.

    Line breaks are kept; tabs become spaces; runs of spaces collapse to one. Emoji stay: they are
    not dangerous, and whether a name may contain them is the name rule's decision.
    """
    text = unicodedata.normalize("NFKC", text).replace("\t", " ").replace("\r\n", "\n")
    kept = [
        ch
        for ch in text
        if ch in _KEEP_CONTROLS or unicodedata.category(ch) not in {"Cc", "Cf", "Co", "Cs"}
    ]
    lines = (" ".join(line.split()) for line in "".join(kept).split("\n"))
    return "\n".join(lines).strip()


def has_emoji(text: str) -> bool:
    """Whether the text contains pictographs (So: symbols, other), e.g. in a name."""
    return any(unicodedata.category(ch) == "So" for ch in text)

"""Every regular expression applied to text from people is compiled here, by RE2.

Python's `re` backtracks: a pattern with nested repetition such as `(?:[ .]+\\w*)*` takes time
exponential in the length of a crafted input, and one such message stops the whole bot. RE2
(Google's engine, the `google-re2` package) matches in time linear in the text for every pattern
it accepts, and refuses the features that need backtracking (backreferences, lookaround). So a
pattern either compiles here, at import time, and is safe on any input, or the module that
defines it fails to import.

RE2 differences to keep in mind: `\\d`, `\\s`, `\\w` and `\\b` are ASCII-only (text is cleaned by
`bot.untrusted.clean_text` first, which turns every digit into 0-9); use `\\pL` for any letter;
there is no lookbehind/lookahead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import re2  # type: ignore[import-untyped]

__all__ = ["LinearPattern", "Match", "PatternError", "linear"]


# The binding's compiled-object and anchor types (google-re2 is pinned in constraints.txt). Going
# to them directly, on UTF-8 bytes, costs a few microseconds a match; the package's `re`-like
# wrapper costs several times more, which matters for 1500-character messages full of matches.
_ANCHOR = re2._Anchor
_NO_SPAN = (-1, -1)


class PatternError(ValueError):
    """A pattern RE2 cannot compile (it would need backtracking, or it is malformed)."""


class Match(Protocol):
    """A successful match: its text and its groups (a group that took no part is '')."""

    def __getitem__(self, group: int, /) -> str: ...

    def group(self, group: int = 0, /) -> str: ...

    def groups(self) -> tuple[str, ...]: ...


class _Match:
    """A match over the UTF-8 bytes of the text."""

    __slots__ = ("_data", "_spans")

    def __init__(self, data: bytes, spans: Sequence[tuple[int, int]]) -> None:
        self._data = data
        self._spans = spans

    def group(self, group: int = 0, /) -> str:
        start, end = self._spans[group]
        return "" if start < 0 else self._data[start:end].decode()

    __getitem__ = group

    def groups(self) -> tuple[str, ...]:
        return tuple(self.group(i) for i in range(1, len(self._spans)))


class LinearPattern:
    """A compiled RE2 pattern; each method takes time linear in the text."""

    __slots__ = ("_groups", "_regexp", "pattern")

    def __init__(self, pattern: str) -> None:
        try:
            compiled = re2.compile(pattern)
        except re2.error as exc:
            raise PatternError(f"RE2 cannot compile {pattern!r}: {exc}") from None
        self._regexp = compiled._regexp
        self._groups = int(compiled.groups)
        self.pattern = pattern

    def __repr__(self) -> str:
        return f"linear({self.pattern!r})"

    def _one(self, anchor: Any, text: str) -> Match | None:
        data = text.encode("utf-8", "surrogatepass")
        spans = self._regexp.Match(anchor, data, 0, len(data))
        return None if spans[0] == _NO_SPAN else _Match(data, spans)

    def fullmatch(self, text: str) -> Match | None:
        """The match of the whole text, or None."""
        return self._one(_ANCHOR.ANCHOR_BOTH, text)

    def match(self, text: str) -> Match | None:
        """The match at the start of the text, or None."""
        return self._one(_ANCHOR.ANCHOR_START, text)

    def search(self, text: str) -> Match | None:
        """The first match anywhere in the text, or None."""
        return self._one(_ANCHOR.UNANCHORED, text)

    def _spans(self, data: bytes) -> Iterator[Sequence[tuple[int, int]]]:
        """The spans of every non-overlapping match, left to right (after an empty match, the
        search goes on one character later)."""
        pos, end = 0, len(data)
        while pos <= end:
            spans = self._regexp.Match(_ANCHOR.UNANCHORED, data, pos, end)
            if spans[0] == _NO_SPAN:
                return
            yield spans
            start, stop = spans[0]
            if stop > start:
                pos = stop
                continue
            pos = stop + 1
            while pos < end and data[pos] & 0xC0 == 0x80:  # not inside a UTF-8 sequence
                pos += 1

    def finditer(self, text: str) -> Iterator[Match]:
        """Every non-overlapping match, left to right."""
        data = text.encode("utf-8", "surrogatepass")
        return (_Match(data, spans) for spans in self._spans(data))

    def findall(self, text: str) -> list[str]:
        """The text of every match (of group 1 if the pattern has groups)."""
        data = text.encode("utf-8", "surrogatepass")
        index = 1 if self._groups else 0
        found = []
        for spans in self._spans(data):
            start, stop = spans[index]
            found.append("" if start < 0 else data[start:stop].decode())
        return found

    def sub(self, replacement: str | Callable[[Match], str], text: str) -> str:
        """The text with every match replaced by `replacement` (literal text, no `\\1`) or by
        what it returns for the match."""
        data = text.encode("utf-8", "surrogatepass")
        literal = replacement.encode() if isinstance(replacement, str) else None
        pieces: list[bytes] = []
        done = 0
        for spans in self._spans(data):
            start, stop = spans[0]
            pieces.append(data[done:start])
            if literal is not None:
                pieces.append(literal)
            else:
                assert callable(replacement)
                pieces.append(replacement(_Match(data, spans)).encode("utf-8", "surrogatepass"))
            done = stop
        if not pieces:
            return text
        pieces.append(data[done:])
        return b"".join(pieces).decode("utf-8", "surrogatepass")


def linear(pattern: str) -> LinearPattern:
    """Compile `pattern` with RE2; raises PatternError at once if RE2 cannot take it."""
    return LinearPattern(pattern)

"""Answers to free-text questions from a curated per-language knowledge base under locales/."""

from __future__ import annotations

import math
import re
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from lokal import parse_rupiah
from rapidfuzz import fuzz, process

__all__ = [
    "LOCALES_DIR",
    "KnowledgeBase",
    "Match",
    "Topic",
    "parse_contribution_question",
]

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"

# A topic must reach this score to be given as the answer; below it the caller says honestly
# that it does not know and offers the closest topics.
MIN_SCORE = 0.30
# Query words that are not in the vocabulary count this much (relative to the rarest word).
UNKNOWN_WEIGHT = 0.35
# Share of the score that comes from the topic's keywords (the rest from its best example).
KEYWORD_SHARE = 0.35
_FIGURE = re.compile(
    r"\bRp\s?\d|\d\s*(?:%|persen|percent|juta|million|kali|times|hari|days?|bulan|months?"
    r"|tahun|years?|jam|hours?)\b"
)
_WORD = re.compile(r"[a-z0-9]+")
_SPLIT_ALNUM = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")


_URL = re.compile(r",?\s*https?://\S+")


@dataclass(frozen=True, slots=True)
class Topic:
    """One curated answer with its source, certainty mark and related topics."""

    id: str
    title: str
    answer: str
    source: str
    mark: str
    related: tuple[str, ...]
    examples: tuple[str, ...]
    keywords: tuple[str, ...]

    @property
    def cited(self) -> str:
        """The source as a reader sees it: publications and dates, no file names or URLs."""
        public = self.source.split(" — ", 1)[-1]
        names = [_URL.sub("", part).strip(" ,") for part in public.split(" ; ")]
        return "; ".join(name for name in names if name) or self.source

    @property
    def has_figure(self) -> bool:
        """Whether the answer states an amount, share or multiple."""
        return bool(_FIGURE.search(self.answer))


@dataclass(frozen=True, slots=True)
class Match:
    """A topic chosen for a question and how well it fits (0..1)."""

    topic: Topic
    score: float


@dataclass(frozen=True, slots=True)
class _Personal:
    """Word lists that detect questions about the asker's own figures."""

    owner: frozenset[str]
    ask: frozenset[str]
    strong_ask: frozenset[str]
    subjects: frozenset[str]
    hard_subjects: frozenset[str]
    how: frozenset[str]
    general: frozenset[str]
    suggest: tuple[str, ...]
    allow: frozenset[str]


class _Normalizer:
    """Turns informal text into vocabulary stems: abbreviations, stemming, typos, joined words."""

    def __init__(
        self,
        phrases: Iterable[tuple[str, str]],
        abbreviations: Mapping[str, str],
        stopwords: Iterable[str],
        suffixes: Iterable[tuple[str, str]],
        stem: Callable[[str], str],
    ) -> None:
        self._suffixes = tuple(suffixes)
        self._phrases = [(re.compile(rf"\b(?:{p})\b"), r) for p, r in phrases]
        self._abbreviations = dict(abbreviations)
        self.stopwords = frozenset(stopwords)
        self._stem = stem
        self._stems: dict[str, str] = {}
        self.vocabulary: frozenset[str] = frozenset()
        self._surfaces: dict[str, str] = {}
        self._surface_list: list[str] = []
        self._corrections: dict[str, tuple[str, ...]] = {}

    def words(self, text: str) -> list[str]:
        """Lowercase words with phrases rewritten and abbreviations expanded."""
        lowered = text.lower()
        for pattern, replacement in self._phrases:
            lowered = pattern.sub(replacement, lowered)
        out: list[str] = []
        for raw in _WORD.findall(lowered):
            expanded = self._abbreviations.get(raw)
            if expanded is not None:
                out.extend(expanded.split())
                continue
            for part in _SPLIT_ALNUM.sub(" ", raw).split():
                out.extend(self._abbreviations.get(part, part).split())
        return out

    def stem(self, word: str) -> str:
        """Stem one word, cached."""
        stem = self._stems.get(word)
        if stem is None:
            stem = self._stem(word) or word
            self._stems[word] = stem
        return stem

    def stems(self, text: str) -> list[str]:
        """Stems of the content words of a text, without vocabulary correction."""
        return [self.stem(w) for w in self.words(text) if w not in self.stopwords]

    def freeze(self, vocabulary: Iterable[str], texts: Iterable[str]) -> None:
        """Fix the vocabulary (stems) and the written forms that typos are compared with."""
        self.vocabulary = frozenset(vocabulary)
        surfaces = {stem: stem for stem in self.vocabulary}
        for text in texts:
            for word in self.words(text):
                stem = self.stem(word)
                if word not in self.stopwords and stem in self.vocabulary:
                    surfaces.setdefault(word, stem)
        self._surfaces = surfaces
        self._surface_list = sorted(surfaces)
        self._corrections.clear()

    def query(self, text: str) -> list[str]:
        """Stems of a question, with typos and joined words mapped onto the vocabulary."""
        out: list[str] = []
        for word in self.words(text):
            if word in self.stopwords:
                continue
            corrected = self._corrections.get(word)
            if corrected is None:
                corrected = self._correct(word)
                if len(self._corrections) < 50_000:
                    self._corrections[word] = corrected
            out.extend(corrected)
        return out

    def _known(self, word: str) -> str | None:
        """The vocabulary stem of a word, if it has one."""
        if word in self.vocabulary:
            return word
        stem = self.stem(word)
        return stem if stem in self.vocabulary else None

    def _correct(self, word: str) -> tuple[str, ...]:
        """Map one word onto the vocabulary (exact, stem, split in two, or fuzzy)."""
        known = self._known(word)
        if known is not None:
            return (known,)
        if word.isdigit():
            return (word,)
        for suffix, replacement in self._suffixes:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                known = self._known(word[: len(word) - len(suffix)] + replacement)
                if known is not None:
                    return (known,)
        if len(word) >= 6:
            for i in range(3, len(word) - 2):
                parts: list[str] = []
                for part in (word[:i], word[i:]):
                    part = self._abbreviations.get(part, part)
                    known = None if part in self.stopwords else self._known(part)
                    if known is None and part not in self.stopwords:
                        break
                    if known is not None:
                        parts.append(known)
                else:
                    if parts:
                        return tuple(parts)
        if len(word) >= 4:
            cutoff = 80 if len(word) >= 6 else 75
            best = process.extractOne(
                word, self._surface_list, scorer=fuzz.ratio, score_cutoff=cutoff
            )
            stem = self.stem(word)
            if stem != word and len(stem) >= 4:
                by_stem = process.extractOne(
                    stem, self._surface_list, scorer=fuzz.ratio, score_cutoff=cutoff
                )
                if by_stem is not None and (best is None or by_stem[1] > best[1]):
                    best = by_stem
            if best is not None:
                return (self._surfaces[str(best[0])],)
        return (self.stem(word),)


@dataclass(slots=True)
class _Index:
    """Precomputed weighted example vectors and keyword sets."""

    weights: dict[str, float] = field(default_factory=dict)
    unknown_weight: float = 1.0
    postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    example_owner: list[str] = field(default_factory=list)
    example_norm: list[float] = field(default_factory=list)
    keywords: dict[str, frozenset[str]] = field(default_factory=dict)


def _identity(word: str) -> str:
    """Return the word unchanged (languages without a stemmer)."""
    return word


def _stemmer(language: str) -> Callable[[str], str]:
    """Return the stemming function for a language."""
    if language != "id":
        return _identity
    from Sastrawi.Stemmer.StemmerFactory import (  # type: ignore[import-untyped]
        StemmerFactory,
    )

    stemmer = StemmerFactory().create_stemmer()

    def stem(word: str) -> str:
        return str(stemmer.stem(word))

    return stem


class KnowledgeBase:
    """The topics of one language and the matcher that picks one for a question."""

    def __init__(self, language: str, raw: Mapping[str, Any]) -> None:
        self.language = language
        self.version = str(raw.get("version", ""))
        norm = raw.get("normalize", {})
        self._normalizer = _Normalizer(
            phrases=[(str(p), str(r)) for p, r in norm.get("phrases", [])],
            abbreviations=norm.get("abbreviations", {}),
            stopwords=norm.get("stopwords", []),
            suffixes=[(str(a), str(b)) for a, b in norm.get("suffixes", [])],
            stem=_stemmer(language),
        )
        self.topics: tuple[Topic, ...] = tuple(_topic(t) for t in raw["topics"])
        self._by_id = {t.id: t for t in self.topics}
        if len(self._by_id) != len(self.topics):
            raise ValueError(f"duplicate topic ids in {language} knowledge base")
        for topic in self.topics:
            missing = [r for r in topic.related if r not in self._by_id]
            if missing:
                raise ValueError(f"topic {topic.id} has unknown related topics {missing}")
        self.default_topics = tuple(raw.get("default_topics", ()))
        personal = raw.get("personal", {})
        self._personal = _Personal(
            owner=frozenset(personal.get("owner", ())),
            ask=frozenset(personal.get("ask", ())),
            strong_ask=frozenset(personal.get("strong_ask", ())),
            subjects=frozenset(personal.get("subjects", ())),
            hard_subjects=frozenset(personal.get("hard_subjects", ())),
            how=frozenset(personal.get("how", ())),
            general=frozenset(personal.get("general", ())),
            suggest=tuple(personal.get("suggest", ())),
            allow=frozenset(personal.get("allow", ())),
        )
        unanswerable = {
            f"!{u['id']}": [str(e) for e in u["examples"]] for u in raw.get("unanswerable", ())
        }
        self._index = self._build(unanswerable)

    def _build(self, unanswerable: Mapping[str, list[str]]) -> _Index:
        """Precompute stems, word weights and example vectors."""
        n = self._normalizer
        documents: dict[str, list[list[str]]] = {}
        keywords: dict[str, frozenset[str]] = {}
        texts: list[str] = []
        for topic in self.topics:
            texts.extend((topic.title, *topic.examples, *topic.keywords))
            docs = [n.stems(e) for e in (topic.title, *topic.examples)]
            keyword_stems = frozenset(s for k in topic.keywords for s in n.stems(k))
            documents[topic.id] = docs
            keywords[topic.id] = keyword_stems
        for owner, examples in unanswerable.items():
            texts.extend(examples)
            documents[owner] = [n.stems(e) for e in examples]
            keywords[owner] = frozenset()
        vocabulary: set[str] = set()
        df: dict[str, int] = defaultdict(int)
        for owner, docs in documents.items():
            terms = {s for d in docs for s in d} | keywords[owner]
            vocabulary |= terms
            for term in terms:
                df[term] += 1
        n.freeze(vocabulary, texts)
        total = len(documents)
        index = _Index(keywords=keywords)
        index.weights = {t: math.log(1 + total / c) for t, c in df.items()}
        index.unknown_weight = UNKNOWN_WEIGHT * max(index.weights.values())
        for owner, docs in documents.items():
            for doc in docs:
                terms = set(doc)
                if not terms:
                    continue
                position = len(index.example_owner)
                index.example_owner.append(owner)
                index.example_norm.append(math.sqrt(sum(index.weights[t] ** 2 for t in terms)))
                for term in terms:
                    index.postings[term].append(position)
        return index

    @classmethod
    def load(cls, language: str) -> KnowledgeBase:
        """Load (once) the knowledge base of a language from locales/<language>/knowledge.toml."""
        return _load(language)

    def topic(self, topic_id: str) -> Topic:
        """Return a topic by id (KeyError when unknown)."""
        return self._by_id[topic_id]

    def normalize(self, text: str) -> list[str]:
        """The vocabulary stems a question is matched with (for debugging and tests)."""
        return self._normalizer.query(text)

    def _scores(self, text: str) -> dict[str, float]:
        """Score every topic and unanswerable group for a question."""
        index = self._index
        terms = set(self._normalizer.query(text))
        if not terms:
            return {}
        weight = {t: index.weights.get(t, index.unknown_weight) for t in terms}
        query_sq = sum(w * w for w in weight.values())
        query_norm = math.sqrt(query_sq)
        dots: dict[int, float] = defaultdict(float)
        for term in terms:
            for position in index.postings.get(term, ()):
                dots[position] += weight[term] ** 2
        best: dict[str, float] = {}
        for position, dot in dots.items():
            owner = index.example_owner[position]
            cosine = dot / (query_norm * index.example_norm[position])
            if cosine > best.get(owner, 0.0):
                best[owner] = cosine
        scores: dict[str, float] = {}
        for owner, keyword_stems in index.keywords.items():
            covered = sum(weight[t] ** 2 for t in terms & keyword_stems) / query_sq
            score = (1 - KEYWORD_SHARE) * best.get(owner, 0.0) + KEYWORD_SHARE * covered
            if score > 0:
                scores[owner] = score
        return scores

    def rank(self, text: str) -> list[Match]:
        """All topics that share words with the question, best first."""
        scores = self._scores(text)
        matches = [Match(self._by_id[k], s) for k, s in scores.items() if k in self._by_id]
        return sorted(matches, key=lambda m: (-m.score, m.topic.id))

    def _personal_kind(self, text: str) -> str:
        """Classify a question about the asker's own case: "", "weak" or "strong"."""
        p = self._personal
        words = self._normalizer.words(text)
        present = set(words)
        owner = bool(present & p.owner) or any(
            w.endswith("ku") and len(w) > 4 and self.stem(w[:-2]) in self._normalizer.vocabulary
            for w in words
        )
        if not owner or not present & p.ask:
            return ""
        found = present | {self.stem(w) for w in words}
        strong = bool(present & p.strong_ask)
        if present & p.how and not strong:
            return ""
        if found & p.hard_subjects or (found & p.subjects and not found & p.general):
            return "strong" if strong else "weak"
        return ""

    def stem(self, word: str) -> str:
        """Stem one word with the language's stemmer."""
        return self._normalizer.stem(word)

    def is_personal_figure(self, text: str) -> bool:
        """Whether the question asks for the asker's own figure (balance, payout, own case)."""
        return self._personal_kind(text) != ""

    def answer(self, text: str) -> Match | None:
        """The best topic for a question, or None when no answer is good enough."""
        personal = self._personal_kind(text)
        if personal == "strong":
            return None
        scores = self._scores(text)
        if not scores:
            return None
        owner, score = max(scores.items(), key=lambda item: (item[1], item[0]))
        if owner not in self._by_id or score < MIN_SCORE:
            return None
        topic = self._by_id[owner]
        if personal and (topic.has_figure or topic.id not in self._personal.allow):
            return None
        return Match(topic, score)

    def closest(self, text: str, n: int = 3) -> list[Topic]:
        """Topics to offer as buttons when no answer was good enough."""
        chosen: list[Topic] = []
        if self.is_personal_figure(text):
            chosen.extend(self._by_id[t] for t in self._personal.suggest if t in self._by_id)
        chosen.extend(m.topic for m in self.rank(text))
        chosen.extend(self._by_id[t] for t in self.default_topics if t in self._by_id)
        unique = list(dict.fromkeys(chosen))
        return unique[:n]


def _topic(raw: Mapping[str, Any]) -> Topic:
    """Build a Topic from its TOML table, checking required fields."""
    topic_id = str(raw["id"])
    if not re.fullmatch(r"[a-z0-9_]+", topic_id):
        raise ValueError(f"topic id must be an ascii slug: {topic_id!r}")
    answer = str(raw["answer"]).strip()
    source = str(raw["source"]).strip()
    if not answer or not source:
        raise ValueError(f"topic {topic_id} needs an answer and a source")
    return Topic(
        id=topic_id,
        title=str(raw["title"]),
        answer=answer,
        source=source,
        mark=str(raw["mark"]),
        related=tuple(raw.get("related", ())),
        examples=tuple(raw.get("examples", ())),
        keywords=tuple(raw.get("keywords", ())),
    )


@cache
def _load(language: str) -> KnowledgeBase:
    """Read and index one language's knowledge file."""
    if not re.fullmatch(r"[a-z]{2,3}", language):
        raise ValueError(f"bad language code: {language!r}")
    path = LOCALES_DIR / language / "knowledge.toml"
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    return KnowledgeBase(language, raw)


# --- contribution questions ------------------------------------------------------------------

_INCOME_WORDS = (
    "penghasilan",
    "hasil",
    "gaji",
    "gajih",
    "pendapatan",
    "upah",
    "pemasukan",
    "omzet",
    "omset",
    "untung",
    "income",
    "salary",
    "earn",
    "earning",
)
_CONTRIBUTION_WORDS = ("iuran", "iur", "premi", "setoran", "contribution", "bayar", "byr")
_NOT_CONTRIBUTION = (
    "santunan",
    "saldo",
    "cair",
    "klaim",
    "beasiswa",
    "pemakaman",
    "rumah sakit",
    "jht saya",
    "benefit",
    "balance",
)
_AMOUNT_TOKEN = re.compile(r"[\w.,]+")
_NUMBER_WORDS = frozenset(
    {
        "satu",
        "dua",
        "tiga",
        "empat",
        "lima",
        "enam",
        "tujuh",
        "delapan",
        "sembilan",
        "sepuluh",
        "sebelas",
        "seratus",
        "sejuta",
        "setengah",
    }
)


def _amounts(text: str) -> list[int]:
    """Rupiah amounts written anywhere in a text, parsed with lokal.parse_rupiah."""
    tokens = [t.strip(".,") for t in _AMOUNT_TOKEN.findall(text.lower())]
    tokens = [t for t in tokens if t]
    found: list[int] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        starts_number = token[0].isdigit() or token in _NUMBER_WORDS
        if token.startswith("rp") and len(token) > 2 and token[2].isdigit():
            starts_number = True
        if not starts_number:
            i += 1
            continue
        best: tuple[int, float] | None = None
        for j in range(min(len(tokens), i + 6), i, -1):
            parsed = parse_rupiah(" ".join(tokens[i:j]))
            if parsed is not None:
                best = (j, float(parsed.amount))
                break
        if best is None:
            i += 1
            continue
        found.append(round(best[1]))
        i = best[0]
    return found


def parse_contribution_question(text: str) -> int | None:
    """The monthly income in a question asking for the contribution at that income, else None."""
    lowered = text.lower()
    words = re.findall(r"[a-z]+", lowered)
    has_income = any(marker in w for w in words for marker in _INCOME_WORDS)
    has_contribution = any(w.startswith(_CONTRIBUTION_WORDS) or "iuran" in w for w in words)
    if any(marker in lowered for marker in _NOT_CONTRIBUTION):
        return None
    if not (has_income or has_contribution):
        return None
    amounts = [a for a in _amounts(lowered) if a >= 100_000]
    if not amounts:
        return None
    income = max(amounts)
    if not has_income and income < 500_000:
        return None
    return income

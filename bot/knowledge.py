"""Answers to free-text questions from a curated per-language knowledge base under locales/."""

from __future__ import annotations

import math
import string
import threading
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from lokal import parse_rupiah
from rapidfuzz import fuzz, process

from bot.learned import Classifier, features, train, training_questions
from bot.patterns import linear

__all__ = [
    "LOCALES_DIR",
    "KnowledgeBase",
    "Match",
    "Topic",
    "answer_any",
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
# Weight factor of context words: who is asking ("nelayan", "petani") says little about what is
# asked, so an occupation does not pull "berapa iurannya untuk nelayan" to "who may join".
CONTEXT_WEIGHT = 0.5
# Least rapidfuzz ratio for correcting an unknown word of 6+ letters (and of 4-5 letters).
FUZZY_CUTOFF = 80
FUZZY_CUTOFF_SHORT = 80
# A message whose words are mostly known to another language's knowledge base (by this margin)
# is matched there, and the matching topic is answered in the user's language.
OTHER_LANGUAGE_MARGIN = 0.25
# Added to a topic that answers the kind of question asked (how to claim, when, how much, who):
# "luka kena dodos, klaim ke mana" asks for the claim procedure, not what the accident cover pays.
INTENT_BONUS = 0.08
# Factor on the score of a topic whose needed words (`needs`) are all missing from a question: an
# accident on the way to the field is not a death at work.
MISSING_NEED_FACTOR = 0.5
# The learned classifier (bot/learned.py) and the rules are blended: each topic's score is this
# share of the classifier's probability plus the rest of the rule score, and the best topic is
# given when the blend reaches LEARNED_MIN_SCORE (below it, or when the best is the "fallback"
# label, the bot says it does not know). Both were chosen by 5-fold cross-validation over the
# training questions (92.2% of 1,371; rules alone 87.5%, classifier alone 87.5%), in the middle
# of a flat optimum (shares 0.4-0.6: 91.9-92.2%; least scores 0.1-0.2), not at its edge.
# Re-measured (not re-tuned) after the claim-duration and register-someone-else topics, 70 more
# training questions and 15 old ones relabelled to those topics: 91.2% of 1,441 (91.6% on the
# 1,371 earlier ones, 82.9% on the 70 new ones).
# Again after 12 questions on ordinary sickness and on getting the card (the JKK and card
# topics): 91.2% of 1,453.
LEARNED_SHARE = 0.5
LEARNED_MIN_SCORE = 0.15
# Label of the training questions the bot must not answer (own figures, other programmes).
FALLBACK = "fallback"
# Patterns run on questions people type: RE2, linear in the text (bot/patterns.py).
_FIGURE = linear(
    r"\bRp\s?\d|\d\s*(?:%|persen|percent|juta|million|kali|times|hari|days?|bulan|months?"
    r"|tahun|years?|jam|hours?)\b"
)
_WORD = linear(r"[a-z0-9]+")
# A run of one repeated letter (`ooo`); RE2 has no backreference `([a-z])\1+`.
_REPEATS = linear("|".join(f"{c}{c}+" for c in string.ascii_lowercase))
# Three or more of one letter are emphasis ("brppp" = "brp"); two may be spelling ("saat").
_EMPHASIS = linear("|".join(f"{c}{c}{c}+" for c in string.ascii_lowercase))
# Reduplication written with a 2: "anak2" = "anak-anak", "langkah2nya", "dua2nya", "kecil2an".
_REDUPLICATED = linear(r"([a-z]{2,})2[a-z]*")
# Bounds on the work for one question (see _Normalizer.query): a question longer than this is
# answered from its first words; a "word" longer than any Indonesian word is not corrected.
MAX_QUESTION_LENGTH = 400
MAX_QUERY_WORDS = 40
MAX_NEW_WORDS = 6
MAX_WORD_LENGTH = 30
# Longer messages are questions even when every word is a greeting word.
SMALL_TALK_WORDS = 8
# The letter and digit runs of a word (`bpjs2024` -> `bpjs`, `2024`); RE2 has no lookaround.
_ALNUM_RUNS = linear(r"[a-z]+|[0-9]+")


_TOPIC_ID = linear(r"[a-z0-9_]+")
_LANGUAGE_CODE = linear(r"[a-z]{2,3}")
_URL = linear(r",?\s*https?://\S+")


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
    # "daftar" or "status": the answer carries a button that starts that command.
    action: str = ""
    # The longer part of an answer, shown behind a "more" button to keep messages short.
    details: str = ""
    # Answer variants chosen at answer time (see `render`); empty for fixed answers.
    variants: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    # Kinds of question the answer is for ("claim", "when", ...; see [normalize.intents]).
    intents: frozenset[str] = frozenset()
    # Words of which a question must have one to be about this topic (death for a death benefit).
    needs: tuple[str, ...] = ()

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

    def render(self, on: date, language: str) -> str:
        """The answer as it is true on a day (a time-limited rule is told only while it holds)."""
        if not self.variants:
            return self.answer
        return _render_discount(self, on, language)


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
    # "What does my family get when I die": a general question even with "saya" and "berapa".
    general_subjects: frozenset[str] = frozenset()


class _Normalizer:
    """Turns informal text into vocabulary stems: abbreviations, stemming, typos, joined words."""

    def __init__(
        self,
        phrases: Iterable[tuple[str, str]],
        abbreviations: Mapping[str, str],
        stopwords: Iterable[str],
        suffixes: Iterable[tuple[str, str]],
        stem: Callable[[str], str],
        protected: Iterable[str] = (),
        prefixes: Iterable[tuple[str, str]] = (),
    ) -> None:
        self._suffixes = tuple(suffixes)
        self._prefixes = tuple(prefixes)
        self._phrases = [(linear(rf"\b(?:{p})\b"), r) for p, r in phrases]
        self._abbreviations = dict(abbreviations)
        self.stopwords = frozenset(stopwords)
        self._stem = stem
        self._stems: dict[str, str] = {}
        self.vocabulary: frozenset[str] = frozenset()
        self._surfaces: dict[str, str] = {}
        self._surface_lists: dict[str, list[str]] = {}
        self._corrections: dict[str, tuple[str, ...]] = {}
        # Real words (local, work and dictionary words): never "corrected" into another word.
        self.protected = frozenset(protected) | self.stopwords | frozenset(self._abbreviations)
        self.protected |= {w for v in self._abbreviations.values() for w in v.split()}

    def words(self, text: str) -> list[str]:
        """Lowercase words with phrases rewritten and abbreviations expanded.

        Only the first MAX_QUESTION_LENGTH characters are read: bounded work for any message.
        """
        lowered = text[:MAX_QUESTION_LENGTH].lower()
        for pattern, replacement in self._phrases:
            lowered = pattern.sub(replacement, lowered)
        out: list[str] = []
        for raw in _WORD.findall(lowered):
            expanded = self._abbreviations.get(raw)
            if expanded is None:
                raw = _plain(raw)
                expanded = self._abbreviations.get(raw)
            if expanded is not None:
                out.extend(expanded.split())
                continue
            for part in [raw] if raw.isalpha() or raw.isdigit() else _ALNUM_RUNS.findall(raw):
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
        lists: dict[str, list[str]] = defaultdict(list)
        for surface in sorted(surfaces):
            lists[surface[0]].append(surface)
        self._surface_lists = dict(lists)
        self._corrections.clear()

    def query(self, text: str) -> list[str]:
        """Stems of a question, with typos and joined words mapped onto the vocabulary.

        Bounded work whatever is typed: the first MAX_QUERY_WORDS words count, and at most
        MAX_NEW_WORDS words not seen before are stemmed and corrected (the stemmer costs about a
        millisecond a word); the rest, and words too long to be one, are kept as typed.
        """
        out: list[str] = []
        new_words = 0
        for word in self.words(text)[:MAX_QUERY_WORDS]:
            if word in self.stopwords:
                continue
            corrected = self._corrections.get(word)
            if corrected is None:
                new_words += 1
                if len(word) > MAX_WORD_LENGTH or new_words > MAX_NEW_WORDS:
                    out.append(word)
                    continue
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

    def _colloquial(self, word: str) -> list[str]:
        """Standard forms of a chat word: "daftarin" -> "daftarkan", "ngadu" -> "mengadu"."""
        bases = [word]
        for prefix, replacement in self._prefixes:
            if word.startswith(prefix) and len(word) - len(prefix) >= 3:
                bases.append(replacement + word[len(prefix) :])
        forms = bases[1:]
        for base in bases:
            for suffix, replacement in self._suffixes:
                if base.endswith(suffix) and len(base) - len(suffix) >= 3:
                    forms.append(base[: len(base) - len(suffix)] + replacement)
        return forms

    def _correct(self, word: str) -> tuple[str, ...]:
        """Map one word onto the vocabulary (exact, stem, split in two, or fuzzy)."""
        known = self._known(word)
        if known is not None:
            return (known,)
        if word.isdigit():
            return (word,)
        if word in self.protected or self.stem(word) in self.protected:
            return (self.stem(word),)
        for form in self._colloquial(word):
            known = self._known(form)
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
            # Typos keep their first letter; a different first letter is another word.
            candidates = self._surface_lists.get(word[0], [])
            cutoff = FUZZY_CUTOFF if len(word) >= 6 else FUZZY_CUTOFF_SHORT
            best = process.extractOne(word, candidates, scorer=fuzz.ratio, score_cutoff=cutoff)
            stem = self.stem(word)
            if stem != word and len(stem) >= 4:
                by_stem = process.extractOne(
                    stem, candidates, scorer=fuzz.ratio, score_cutoff=cutoff
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


def _dictionary(language: str) -> frozenset[str]:
    """Root words of the language's stemmer dictionary (real words, never typos)."""
    if language != "id":
        return frozenset()
    from Sastrawi.Stemmer.StemmerFactory import (
        StemmerFactory,
    )

    return frozenset(str(w) for w in StemmerFactory().get_words())


class KnowledgeBase:
    """The topics of one language and the matcher that picks one for a question."""

    def __init__(
        self,
        language: str,
        raw: Mapping[str, Any],
        training: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Index a language's topics; with labelled `training` questions, train a classifier."""
        self.language = language
        self.version = str(raw.get("version", ""))
        norm = raw.get("normalize", {})
        self._normalizer = _Normalizer(
            phrases=[(str(p), str(r)) for p, r in norm.get("phrases", [])],
            abbreviations=norm.get("abbreviations", {}),
            stopwords=norm.get("stopwords", []),
            suffixes=[(str(a), str(b)) for a, b in norm.get("suffixes", [])],
            stem=_stemmer(language),
            protected=[*norm.get("known", ()), *_dictionary(language)],
            prefixes=[(str(a), str(b)) for a, b in norm.get("prefixes", [])],
        )
        # Words that together mean more: death at sea or at work is a work accident.
        self._concepts = [
            (
                frozenset(s for w in c["when"] for s in self._normalizer.stems(w)),
                frozenset(s for w in c["with"] for s in self._normalizer.stems(w)),
                frozenset(s for w in c["add"] for s in self._normalizer.stems(w)),
            )
            for c in norm.get("concepts", ())
        ]
        self._context = frozenset(
            s for w in norm.get("context", ()) for s in self._normalizer.stems(w)
        )
        # Words naming a programme this knowledge base does not cover (BPJS Kesehatan): a
        # question with one gets the honest fallback, however well its other words match.
        self._elsewhere = frozenset(str(w) for w in norm.get("elsewhere", ()))
        # The words that tell what kind of question is asked, as stems.
        self._intents = {
            str(kind): frozenset(s for w in words for s in self._normalizer.stems(w))
            for kind, words in norm.get("intents", {}).items()
        }
        self.topics: tuple[Topic, ...] = tuple(_topic(t) for t in raw["topics"])
        # On a tie the topic listed first (the more basic one) is chosen.
        self._order = {t.id: -i for i, t in enumerate(self.topics)}
        self._by_id = {t.id: t for t in self.topics}
        if len(self._by_id) != len(self.topics):
            raise ValueError(f"duplicate topic ids in {language} knowledge base")
        for topic in self.topics:
            missing = [r for r in topic.related if r not in self._by_id]
            if missing:
                raise ValueError(f"topic {topic.id} has unknown related topics {missing}")
            unknown = topic.intents - self._intents.keys()
            if unknown:
                raise ValueError(f"topic {topic.id} has unknown intents {sorted(unknown)}")
        self.default_topics = tuple(raw.get("default_topics", ()))
        self._needs = {
            t.id: frozenset(s for w in t.needs for s in self._normalizer.stems(w))
            for t in self.topics
            if t.needs
        }
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
            general_subjects=frozenset(personal.get("general_subjects", ())),
        )
        own = raw.get("own_status", {})
        self._own_status = {
            part: frozenset(str(w) for w in own.get(part, ()))
            for part in ("state", "record", "ask", "general")
        }
        talk = raw.get("smalltalk", {})
        self._smalltalk = {
            kind: frozenset(_squeeze(w) for w in talk.get(kind, ()))
            for kind in (
                "register",
                "thanks",
                "greeting",
                "never",
                "bot",
                "sorry",
                "ack",
                "filler",
            )
        }
        unanswerable = {
            f"!{u['id']}": [str(e) for e in u["examples"]] for u in raw.get("unanswerable", ())
        }
        unanswerable_keywords = {
            f"!{u['id']}": [str(k) for k in u.get("keywords", ())]
            for u in raw.get("unanswerable", ())
        }
        self._index = self._build(unanswerable, unanswerable_keywords)
        training = list(training)
        self._learned = self._train(unanswerable, training) if training else None

    def _build(
        self, unanswerable: Mapping[str, list[str]], unanswerable_keywords: Mapping[str, list[str]]
    ) -> _Index:
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
            words = unanswerable_keywords.get(owner, [])
            texts.extend((*examples, *words))
            documents[owner] = [n.stems(e) for e in examples]
            keywords[owner] = frozenset(s for k in words for s in n.stems(k))
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
        index.weights = {
            t: math.log(1 + total / c) * (CONTEXT_WEIGHT if t in self._context else 1.0)
            for t, c in df.items()
        }
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

    def _train(
        self, unanswerable: Mapping[str, list[str]], training: list[tuple[str, str]]
    ) -> Classifier:
        """Train the classifier on the topic examples and the labelled training questions."""
        labels = set(self._by_id) | {FALLBACK}
        unknown = sorted({label for _, label in training} - labels)
        if unknown:
            raise ValueError(f"training questions have unknown topics {unknown}")
        pairs = [(t.id, e) for t in self.topics for e in (t.title, *t.examples)]
        pairs += [(FALLBACK, e) for examples in unanswerable.values() for e in examples]
        pairs += [(label, text) for text, label in training]
        query = self._normalizer.query
        return train((query(text), label) for label, text in pairs)

    @property
    def learned(self) -> bool:
        """Whether answers blend a learned classifier with the rules."""
        return self._learned is not None

    def _blend(
        self, classifier: Classifier, text: str, rules: Mapping[str, float]
    ) -> tuple[str, float]:
        """The best label for a question by the blended score, and that score."""
        learned = classifier.scores(features(self._normalizer.query(text)))
        rule = {k: v for k, v in rules.items() if not k.startswith("!")}
        rule[FALLBACK] = max((v for k, v in rules.items() if k.startswith("!")), default=0.0)
        blended = {
            label: (1 - LEARNED_SHARE) * rule.get(label, 0.0) + LEARNED_SHARE * probability
            for label, probability in learned.items()
        }
        return max(blended.items(), key=lambda item: (item[1], self._order.get(item[0], 0)))

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
        asked = {kind for kind, words in self._intents.items() if terms & words}
        for when, together, add in self._concepts:
            if terms & when and terms & together:
                terms |= add
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
                topic = self._by_id.get(owner)
                needs = self._needs.get(owner)
                if needs and not terms & needs:
                    score *= MISSING_NEED_FACTOR
                if topic is not None and topic.intents & asked:
                    score = min(1.0, score + INTENT_BONUS)
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
        if found & p.general_subjects and not found & p.hard_subjects:
            return ""
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
        if personal == "strong" or not self._elsewhere.isdisjoint(self._normalizer.words(text)):
            return None
        scores = self._scores(text)
        if not scores:
            return None
        if self._learned is not None:
            owner, score = self._blend(self._learned, text, scores)
            least = LEARNED_MIN_SCORE
        else:
            owner, score = max(
                scores.items(), key=lambda item: (item[1], self._order.get(item[0], 0))
            )
            least = MIN_SCORE
        if owner not in self._by_id or score < least:
            return None
        topic = self._by_id[owner]
        if personal and (topic.has_figure or topic.id not in self._personal.allow):
            return None
        return Match(topic, score)

    def asks_own_status(self, text: str) -> bool:
        """Whether a question asks about the asker's own registration or membership state
        ("sy udh terdaftar blm", "nomor pendaftaran sy brp"), not about the rules."""
        own = self._own_status
        words = [_plain(w) for w in self._normalizer.words(text)]
        bare = [w[:-2] if w.endswith("ku") and len(w) > 4 else w for w in words]
        present = set(words) | set(bare)
        owner = bool(set(words) & self._personal.owner) or any(
            b != w for b, w in zip(bare, words, strict=True)
        )
        if not owner or present & own["general"]:
            return False
        if present & own["state"]:
            return True
        record = present & own["record"]
        return bool(record and (present & own["ask"] or "nomor" in present or "number" in present))

    def small_talk(self, text: str) -> str | None:
        """The kind of a message that is only small talk: register, thanks, greeting, never
        (never mind), bot (are you a bot?), sorry (an apology) or ack."""
        talk = self._smalltalk
        words = [_squeeze(w) for w in self._normalizer.words(text)]
        if not words or len(words) > SMALL_TALK_WORDS:
            return None
        known = frozenset().union(*talk.values())
        if any(w not in known for w in words):
            return None
        present = set(words)
        for kind in ("register", "thanks", "greeting", "never", "bot", "sorry", "ack"):
            if present & talk[kind]:
                return kind
        return None

    def coverage(self, text: str) -> float:
        """Share of a message's words this language knows (vocabulary, stop or known words)."""
        n = self._normalizer
        words = n.words(text)
        if not words:
            return 0.0
        known = sum(
            1 for w in words if w in n.protected or w.isdigit() or n.stem(w) in n.vocabulary
        )
        return known / len(words)

    def closest(self, text: str, n: int = 3) -> list[Topic]:
        """Topics to offer as buttons when no answer was good enough."""
        chosen: list[Topic] = []
        if self.is_personal_figure(text):
            chosen.extend(self._by_id[t] for t in self._personal.suggest if t in self._by_id)
        chosen.extend(m.topic for m in self.rank(text))
        chosen.extend(self._by_id[t] for t in self.default_topics if t in self._by_id)
        unique = list(dict.fromkeys(chosen))
        return unique[:n]


def answer_any(primary: KnowledgeBase, others: Iterable[KnowledgeBase], text: str) -> Match | None:
    """The best topic of `primary` for a question, also understood when typed in another language.

    A message whose words another knowledge base knows clearly better (English typed to an
    Indonesian user) is matched there; the same topic is then answered in `primary`'s language.
    """
    match = primary.answer(text)
    coverage = primary.coverage(text)
    for other in others:
        if other.language == primary.language:
            continue
        if other.coverage(text) < coverage + OTHER_LANGUAGE_MARGIN:
            continue
        found = other.answer(text)
        if found is None:
            return None
        try:
            return Match(primary.topic(found.topic.id), found.score)
        except KeyError:
            return None
    return match


def _plain(word: str) -> str:
    """A chat word in plain spelling, without emphasis or a reduplication "2" ("anak2")."""
    word = _EMPHASIS.sub(lambda run: run.group()[0], word)
    doubled = _REDUPLICATED.fullmatch(word)
    return doubled.group(1) if doubled else word


def _squeeze(word: str) -> str:
    """A word with repeated letters collapsed ("haloooo" -> "halo", "makasihh" -> "makasih")."""
    return _REPEATS.sub(lambda run: run.group()[0], word)


def _month(day: date, language: str) -> str:
    """A month and year in the language ("Maret 2027", "March 2027")."""
    return format_date(day, "MMMM y", locale=language)


def _render_discount(topic: Topic, on: date, language: str) -> str:
    """The discount answer for a day: open windows with their dates, or that it has ended."""
    from bot.contributions import load_table

    discount = load_table().discount
    windows = {"transport": discount.transport, "non_transport": discount.non_transport}
    lines: list[str] = []
    for sector, window in windows.items():
        template = topic.variants["open" if on <= window.end else "closed"][sector]
        lines.append(
            str(template).format(
                start=_month(window.start, language), end=_month(window.end, language)
            )
        )
    if all(on > w.end for w in windows.values()):
        last = max(w.end for w in windows.values())
        return str(topic.variants["ended"]).strip().format(end=_month(last, language))
    return topic.answer.format(windows="\n".join(lines), percent=discount.percent)


def _topic(raw: Mapping[str, Any]) -> Topic:
    """Build a Topic from its TOML table, checking required fields."""
    topic_id = str(raw["id"])
    if not _TOPIC_ID.fullmatch(topic_id):
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
        action=str(raw.get("action", "")),
        details=str(raw.get("details", "")).strip(),
        variants=dict(raw.get("variants", {})),
        intents=frozenset(str(i) for i in raw.get("intents", ())),
        needs=tuple(str(w) for w in raw.get("needs", ())),
    )


# One load at a time: `jaga run` warms the knowledge bases in a thread at start (`warm`), and a
# question arriving meanwhile waits for that load instead of training a second copy.
_LOADING = threading.Lock()


def warm() -> None:
    """Load every language's knowledge base (training the Indonesian classifier, about a
    second), so that the first question after a start is not the one that waits for it."""
    for language in ("id", "en"):
        _load(language)


def _load(language: str) -> KnowledgeBase:
    """Read and index one language's knowledge file, once."""
    with _LOADING:
        return _read(language)


@cache
def _read(language: str) -> KnowledgeBase:
    """Read and index one language's knowledge file."""
    if not _LANGUAGE_CODE.fullmatch(language):
        raise ValueError(f"bad language code: {language!r}")
    path = LOCALES_DIR / language / "knowledge.toml"
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    # Only Indonesian has enough labelled questions to learn from; English keeps the rules.
    return KnowledgeBase(language, raw, training_questions() if language == "id" else ())


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
_AMOUNT_TOKEN = linear(r"[\w.,]+")
_LETTERS = linear(r"[a-z]+")
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
    words = _LETTERS.findall(lowered)
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

"""A small learned question classifier: TF-IDF over character n-grams, words and word pairs.

It has two parts: nearest centroid and nearest question (`similarities`), and a softmax
regression (`scores`) started from the centroids and trained for a few full-batch steps, which
learns which features tell close topics apart. It is trained when first needed (about a second)
from the topic examples and the labelled questions the package carries in
bot/data/questions_train.toml; nothing binary is stored. The knowledge base blends the
regression's probabilities with the rule matcher's scores (see bot/knowledge.py).
"""

from __future__ import annotations

import math
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["TRAINING_FILE", "Classifier", "features", "training_questions"]

TRAINING_FILE = Path(__file__).resolve().parent / "data" / "questions_train.toml"
# Character n-grams of each word (padded with a space at both ends, so "jht" gives " j", "jh",
# "jht", "ht " ...): typos and spelling variants still share most of them.
MIN_GRAM = 2
MAX_GRAM = 5
# Words longer than this are not cut into n-grams (no Indonesian word is; bounded work).
MAX_GRAM_WORD = 30
# Feature kinds are kept apart by a prefix no n-gram can have (n-grams hold no inner space).
_WORD = "w "
_BIGRAM = "b "
# The softmax regression (Adam, full batch), chosen by 5-fold cross-validation over the training
# questions: with the rules 92.2%, against 89.9% for the nearest centroid, in the middle of a
# flat optimum (16-30 steps at rates 0.2-0.5: 91.5-92.1%; 12 steps: 90.8%). Features in fewer
# than REGRESSION_MIN_DF training questions are left out of it: they tell few questions apart,
# and leaving them out halves the work (3-8: 92.0-92.2%; 5: 92.2%). Re-measured, not re-tuned,
# after two more topics and 70 more training questions: 91.2% of 1,441; after 12 more on
# ordinary sickness and the card: 91.2% of 1,453.
REGRESSION_STEPS = 20
REGRESSION_RATE = 0.3
REGRESSION_L2 = 1e-4
REGRESSION_MIN_DF = 5
# The centroids (cosines, 0..1) times this are the starting logits.
REGRESSION_START = 5.0
_ADAM_BETAS = (0.9, 0.999)
_ADAM_EPSILON = 1e-8


def features(words: Sequence[str]) -> dict[str, float]:
    """Counts of the character n-grams, words and word pairs of a normalised question."""
    counts: dict[str, float] = defaultdict(float)
    for word in words:
        counts[_WORD + word] += 1
        if len(word) > MAX_GRAM_WORD:
            continue
        padded = f" {word} "
        for n in range(MIN_GRAM, MAX_GRAM + 1):
            for i in range(len(padded) - n + 1):
                counts[padded[i : i + n]] += 1
    for first, second in pairwise(words):
        counts[f"{_BIGRAM}{first} {second}"] += 1
    return counts


class Classifier:
    """Nearest centroid and nearest question over L2-normalised, sublinear TF-IDF vectors."""

    def __init__(self, labels: Sequence[str], documents: Sequence[dict[str, float]]) -> None:
        if len(labels) != len(documents) or not documents:
            raise ValueError("need one label per document and at least one document")
        self.labels: tuple[str, ...] = tuple(sorted(set(labels)))
        column = {label: i for i, label in enumerate(self.labels)}
        df: dict[str, int] = defaultdict(int)
        for document in documents:
            for feature in document:
                df[feature] += 1
        total = len(documents)
        self._row = {feature: i for i, feature in enumerate(sorted(df))}
        self._idf = np.array(
            [math.log((1 + total) / (1 + df[f])) + 1 for f in sorted(df)], dtype=np.float32
        )
        # Features never seen in training weigh as much as the rarest seen one.
        self._top_idf = float(self._idf.max()) if len(self._idf) else 1.0
        vectors = [self._vector(document) for document in documents]
        centroids = np.zeros((len(self._row), len(self.labels)), dtype=np.float32)
        for label, (rows, values) in zip(labels, vectors, strict=True):
            centroids[rows, column[label]] += values
        norms = np.linalg.norm(centroids, axis=0)
        norms[norms == 0] = 1.0
        self._centroids: NDArray[np.float32] = centroids / norms
        # Every training question too, for the nearest one of each label: a feature's postings
        # are the documents (grouped by label) that have it, with their weights.
        order = sorted(range(total), key=lambda i: column[labels[i]])
        grouped = [column[labels[i]] for i in order]
        self._starts = np.array([grouped.index(c) for c in range(len(self.labels))], dtype=np.intp)
        rows = np.concatenate([vectors[i][0] for i in order])
        docs = np.concatenate(
            [
                np.full(len(vectors[i][0]), position, dtype=np.intp)
                for position, i in enumerate(order)
            ]
        )
        values = np.concatenate([vectors[i][1] for i in order])
        by_row = np.argsort(rows, kind="stable")
        self._documents = total
        self._posting_docs: NDArray[np.intp] = docs[by_row]
        self._posting_values: NDArray[np.float32] = values[by_row]
        self._posting_start = np.searchsorted(rows[by_row], np.arange(len(self._row) + 1))
        self._fit(vectors, [column[label] for label in labels])

    def _fit(
        self, vectors: Sequence[tuple[NDArray[np.intp], NDArray[np.float32]]], truth: Sequence[int]
    ) -> None:
        """Train the softmax regression over the features most questions share."""
        df = np.zeros(len(self._row), dtype=np.intp)
        for rows, _ in vectors:
            df[rows] += 1
        kept = np.flatnonzero(df >= REGRESSION_MIN_DF)
        self._kept = np.full(len(self._row), -1, dtype=np.intp)
        self._kept[kept] = np.arange(len(kept))
        inputs = np.zeros((len(vectors), len(kept)), dtype=np.float32)
        for i, (rows, values) in enumerate(vectors):
            columns = self._kept[rows]
            present = columns >= 0
            inputs[i, columns[present]] = values[present]
        transposed = np.ascontiguousarray(inputs.T)
        targets = np.zeros((len(vectors), len(self.labels)), dtype=np.float32)
        targets[np.arange(len(vectors)), truth] = 1
        weights = (self._centroids[kept] * REGRESSION_START).astype(np.float32)
        bias = np.zeros(len(self.labels), dtype=np.float32)
        moments = [np.zeros_like(weights), np.zeros_like(weights)]
        bias_moments = [np.zeros_like(bias), np.zeros_like(bias)]
        first, second = _ADAM_BETAS
        for step in range(1, REGRESSION_STEPS + 1):
            errors = (_softmax(inputs @ weights + bias) - targets) / len(vectors)
            gradients = (transposed @ errors + REGRESSION_L2 * weights, errors.sum(axis=0))
            for value, gradient, (mean, square) in zip(
                (weights, bias), gradients, (moments, bias_moments), strict=True
            ):
                mean *= first
                mean += (1 - first) * gradient
                square *= second
                square += (1 - second) * gradient * gradient
                value -= (
                    REGRESSION_RATE
                    * (mean / (1 - first**step))
                    / (np.sqrt(square / (1 - second**step)) + _ADAM_EPSILON)
                )
        self._weights: NDArray[np.float32] = weights
        self._bias: NDArray[np.float32] = bias

    def _vector(self, document: dict[str, float]) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
        """Known feature rows and their unit-length TF-IDF values (unknown features count too)."""
        rows: list[int] = []
        values: list[float] = []
        norm_sq = 0.0
        for feature, count in document.items():
            tf = 1 + math.log(count)
            row = self._row.get(feature)
            weight = tf * (self._top_idf if row is None else float(self._idf[row]))
            norm_sq += weight * weight
            if row is not None:
                rows.append(row)
                values.append(weight)
        scale = 1 / math.sqrt(norm_sq) if norm_sq else 0.0
        return np.array(rows, dtype=np.intp), np.array(values, dtype=np.float32) * scale

    def similarities(self, document: dict[str, float]) -> dict[str, float]:
        """Per label, the mean of the cosine (0..1) to its centroid and to its nearest question."""
        rows, values = self._vector(document)
        if not len(rows):
            return dict.fromkeys(self.labels, 0.0)
        centroid = values @ self._centroids[rows]
        starts, ends = self._posting_start[rows], self._posting_start[rows + 1]
        docs = np.concatenate([self._posting_docs[a:b] for a, b in zip(starts, ends, strict=True)])
        weights = np.concatenate(
            [self._posting_values[a:b] * v for a, b, v in zip(starts, ends, values, strict=True)]
        )
        cosines = np.bincount(docs, weights=weights, minlength=self._documents)
        nearest = np.maximum.reduceat(cosines, self._starts)
        both = (centroid + nearest) / 2
        return {label: float(c) for label, c in zip(self.labels, both, strict=True)}

    def scores(self, document: dict[str, float]) -> dict[str, float]:
        """Per label, the softmax regression's probability (0..1, summing to 1)."""
        rows, values = self._vector(document)
        columns = self._kept[rows]
        present = columns >= 0
        logits = values[present] @ self._weights[columns[present]] + self._bias
        probabilities = _softmax(logits[np.newaxis, :])[0]
        return {label: float(p) for label, p in zip(self.labels, probabilities, strict=True)}

    def probabilities(self, document: dict[str, float], sharpness: float) -> dict[str, float]:
        """Softmax of the similarities, `sharpness` times the cosine as logits."""
        similarities = self.similarities(document)
        logits = np.array(list(similarities.values()), dtype=np.float64) * sharpness
        exp = np.exp(logits - logits.max())
        probabilities = exp / exp.sum()
        return {label: float(p) for label, p in zip(similarities, probabilities, strict=True)}

    @property
    def size(self) -> int:
        """Number of features the classifier knows."""
        return len(self._row)


def _softmax(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    """Row-wise softmax."""
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    result: NDArray[np.float32] = exp / exp.sum(axis=1, keepdims=True)
    return result


def training_questions(path: Path = TRAINING_FILE) -> list[tuple[str, str]]:
    """The labelled questions shipped with the package: (question, topic id or "fallback")."""
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    return [(str(text), str(label)) for text, label in raw["questions"]]


def train(pairs: Iterable[tuple[list[str], str]]) -> Classifier:
    """Train a classifier on (normalised words, label) pairs."""
    labels: list[str] = []
    documents: list[dict[str, float]] = []
    for words, label in pairs:
        labels.append(label)
        documents.append(features(words))
    return Classifier(labels, documents)

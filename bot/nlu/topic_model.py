"""The model behind ``TopicClassifier``: one flat classifier over every topic (Rasa-free).

Contract: ``TopicModel.fit(views, labels)`` learns from prepared views (the
``normalised_text`` and ``pinyin_text`` of ``bot.nlu.text_channels``) and a
label per example, where an FAQ answer is its full key (``faq/captcha_wrong``)
beside the plain intents.  ``probabilities(views)`` returns, per text, one
probability per label in ``labels`` (summing to 1).  ``save(directory)`` and
``TopicModel.load(directory)`` write and read JSON and NumPy arrays only
(no pickle).

Why flat: with FAQ answers as labels of their own, no class is six times the
size of a core problem, so the FAQ cannot swallow them (docs/understanding.md
has the measurements).  Features: TF-IDF of character n-grams of the
normalised text (typos, unsegmented Chinese, traditional characters already
converted) and of pinyin syllable n-grams (homophone typos, pinyin-only
messages); a multinomial logistic regression with balanced class weights,
fitted by SAG (``TopicModelSettings.solver``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import scipy.sparse as sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.nlu.text_channels import NORMALISED_TEXT, PINYIN_TEXT

Views = Dict[str, str]
FAQ_PREFIX = "faq/"
_META_FILE = "topic_model.json"
_ARRAYS_FILE = "topic_model.npz"


@dataclass(frozen=True)
class TopicModelSettings:
    char_ngrams: Tuple[int, int] = (1, 3)
    pinyin_ngrams: Tuple[int, int] = (1, 2)
    regularisation: float = 10.0  # LogisticRegression's C: larger fits the examples more closely
    # Class weights are balanced (each label weighs as much as any other), then
    # the FAQ answers' weights are multiplied by this: with 45 FAQ labels against
    # 8 core problems, full weight gives "some FAQ answer" a large prior.
    faq_weight: float = 1.0

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "TopicModelSettings":
        """The settings among a pipeline step's options (config.yml); others are ignored."""
        defaults = cls()
        return cls(
            char_ngrams=tuple(config.get("char_ngrams", defaults.char_ngrams)),
            pinyin_ngrams=tuple(config.get("pinyin_ngrams", defaults.pinyin_ngrams)),
            regularisation=float(config.get("regularisation", defaults.regularisation)),
            faq_weight=float(config.get("faq_weight", defaults.faq_weight)),
        )

    def as_config(self) -> Dict[str, Any]:
        return {
            "char_ngrams": list(self.char_ngrams),
            "pinyin_ngrams": list(self.pinyin_ngrams),
            "regularisation": self.regularisation,
            "faq_weight": self.faq_weight,
        }

    # The solver: stochastic average gradient, in float32, stopped when no weight moves by more
    # than `tolerance` of the largest weight in an epoch. Measured against the lbfgs fit it
    # replaced (docs/understanding.md, "Training time"): the same top label for 99.8 % of 1,930
    # evaluation messages, probabilities within 0.033, a sixth of the time (110 s against 659 s) —
    # L-BFGS-B spent two thirds of its time in its own bookkeeping over 12 million weights.
    solver: str = "sag"
    tolerance: float = 3e-3
    max_iterations: int = 1000


def _char_vectoriser(settings: TopicModelSettings) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=tuple(settings.char_ngrams),
        sublinear_tf=True,
        lowercase=False,
        dtype=np.float32,
    )


def _pinyin_vectoriser(settings: TopicModelSettings) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="word",
        token_pattern=r"\S+",
        ngram_range=tuple(settings.pinyin_ngrams),
        sublinear_tf=True,
        lowercase=False,
        dtype=np.float32,
    )


def _class_weights(labels: Sequence[str], settings: TopicModelSettings) -> Dict[str, float]:
    counts = Counter(labels)
    balanced = {label: len(labels) / (len(counts) * count) for label, count in counts.items()}
    return {
        label: weight * (settings.faq_weight if label.startswith(FAQ_PREFIX) else 1.0)
        for label, weight in balanced.items()
    }


class TopicModel:
    def __init__(
        self,
        settings: TopicModelSettings,
        chars: TfidfVectorizer,
        pinyin: TfidfVectorizer,
        labels: List[str],
        weights: np.ndarray,
        bias: np.ndarray,
    ) -> None:
        self.settings = settings
        self._chars = chars
        self._pinyin = pinyin
        self.labels = labels
        self._weights = weights  # labels x features
        self._bias = bias

    @classmethod
    def fit(
        cls, views: Sequence[Views], labels: Sequence[str], settings: TopicModelSettings = TopicModelSettings()
    ) -> "TopicModel":
        chars, pinyin = _char_vectoriser(settings), _pinyin_vectoriser(settings)
        features = sparse.hstack(
            [
                chars.fit_transform([view[NORMALISED_TEXT] for view in views]),
                pinyin.fit_transform([view[PINYIN_TEXT] for view in views]),
            ]
        ).tocsr()
        regression = LogisticRegression(
            C=settings.regularisation,
            class_weight=_class_weights(labels, settings),
            solver=settings.solver,
            tol=settings.tolerance,
            max_iter=settings.max_iterations,
            random_state=0,  # SAG visits the examples in a random order: fixed, so training is deterministic
        )
        regression.fit(features, list(labels))
        weights, bias = regression.coef_, regression.intercept_
        if len(regression.classes_) == 2:  # one row for the second class: softmax([0, z]) is its sigmoid
            weights, bias = np.vstack([np.zeros_like(weights), weights]), np.concatenate([[0.0], bias])
        return cls(
            settings,
            chars,
            pinyin,
            [str(label) for label in regression.classes_],
            weights.astype(np.float32),
            bias.astype(np.float32),
        )

    def _features(self, views: Sequence[Views]) -> sparse.csr_matrix:
        return sparse.hstack(
            [
                self._chars.transform([view[NORMALISED_TEXT] for view in views]),
                self._pinyin.transform([view[PINYIN_TEXT] for view in views]),
            ]
        ).tocsr()

    def probabilities(self, views: Sequence[Views]) -> np.ndarray:
        scores = self._features(views) @ self._weights.T + self._bias
        scores = np.asarray(scores) - np.max(scores, axis=1, keepdims=True)
        exponentials = np.exp(scores)
        return exponentials / exponentials.sum(axis=1, keepdims=True)

    def save(self, directory: Path) -> None:
        meta = {
            "settings": self.settings.__dict__,
            "labels": self.labels,
            "chars": {"vocabulary": {term: int(index) for term, index in self._chars.vocabulary_.items()}},
            "pinyin": {"vocabulary": {term: int(index) for term, index in self._pinyin.vocabulary_.items()}},
        }
        (directory / _META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.savez(
            directory / _ARRAYS_FILE,
            weights=self._weights,
            bias=self._bias,
            char_idf=self._chars.idf_.astype(np.float64),
            pinyin_idf=self._pinyin.idf_.astype(np.float64),
        )

    @classmethod
    def load(cls, directory: Path) -> "TopicModel":
        meta = json.loads((directory / _META_FILE).read_text(encoding="utf-8"))
        stored: Dict[str, Any] = {
            key: tuple(value) if isinstance(value, list) else value for key, value in meta["settings"].items()
        }
        settings = TopicModelSettings(**stored)
        with np.load(directory / _ARRAYS_FILE, allow_pickle=False) as arrays:
            chars = _restored(_char_vectoriser(settings), meta["chars"]["vocabulary"], arrays["char_idf"])
            pinyin = _restored(_pinyin_vectoriser(settings), meta["pinyin"]["vocabulary"], arrays["pinyin_idf"])
            return cls(settings, chars, pinyin, meta["labels"], arrays["weights"], arrays["bias"])


def _restored(vectoriser: TfidfVectorizer, vocabulary: Dict[str, int], idf: np.ndarray) -> TfidfVectorizer:
    vectoriser.vocabulary_ = vocabulary
    vectoriser.idf_ = idf
    return vectoriser

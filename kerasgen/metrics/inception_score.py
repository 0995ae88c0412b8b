"""The Inception score: exp(E_x KL(p(y|x) || p(y))), with p(y) the mean prediction (Salimans et al. 2016).

It is high when each sample is classified confidently (low-entropy p(y|x)) and the classes are
used evenly (high-entropy p(y)); its maximum is the number of classes. `classifier` decides what
"Inception" means: Inception-v3 on natural images, the bundled digit classifier on digits.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import xlogy

from kerasgen.metrics.features import get_extractor

PROBABILITY_TOLERANCE = 1e-3


@dataclasses.dataclass(frozen=True)
class InceptionScore:
    """Mean and standard deviation of the score over `splits` equal parts of the samples."""

    mean: float
    std: float
    splits: int


def class_probabilities(x, classifier=None, batch_size: int = 256) -> np.ndarray:
    """(N, K) float64 class probabilities of samples `x`.

    Args:
        x: samples, or (N, K) probabilities themselves when `classifier` is None.
        classifier: an extractor name ("digits", "inception"), an extractor object (its
            `probabilities` method is used) or a callable returning (B, K) probabilities.

    Raises:
        ValueError: when the values are not probabilities (negative, or rows not summing to 1).
    """
    if classifier is None:
        p = np.asarray(x, np.float64)
    else:
        model = get_extractor(classifier)
        predict = getattr(model, "probabilities", model)
        x = np.asarray(x)
        if len(x) == 0:
            raise ValueError("no samples given")
        p = np.concatenate([np.asarray(predict(x[i:i + batch_size]), np.float64) for i in range(0, len(x), batch_size)])
    if p.ndim != 2 or len(p) == 0 or p.shape[1] < 2:
        raise ValueError(f"class probabilities must have shape (N, K) with K >= 2, got {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("class probabilities contain NaN or infinite values")
    if p.min() < -PROBABILITY_TOLERANCE or np.abs(p.sum(axis=1) - 1.0).max() > PROBABILITY_TOLERANCE:
        raise ValueError("the classifier must return probabilities (non-negative rows summing to 1); apply a softmax")
    return np.clip(p, 0.0, None) / p.sum(axis=1, keepdims=True).clip(1e-12)


def inception_score(x, classifier=None, splits: int = 10, batch_size: int = 256) -> InceptionScore:
    """The Inception score of samples `x`, averaged over `splits` consecutive parts.

    Args:
        x: (N, ...) samples, or (N, K) class probabilities when `classifier` is None.
        classifier: see `class_probabilities`.
        splits: number of parts (the customary 10); each needs at least one sample.

    Returns:
        `InceptionScore` with values in [1, K].

    Example:
        >>> inception_score(np.eye(4)[np.arange(100) % 4], splits=1).mean  # confident, uniform: K
        4.0
    """
    p = class_probabilities(x, classifier, batch_size)
    if not 1 <= int(splits) <= len(p):
        raise ValueError(f"splits must be between 1 and the number of samples ({len(p)}), got {splits}")
    scores = []
    for part in np.array_split(p, int(splits)):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (xlogy(part, part) - xlogy(part, marginal)).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return InceptionScore(float(np.mean(scores)), float(np.std(scores)), int(splits))

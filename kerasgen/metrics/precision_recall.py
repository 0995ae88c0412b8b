"""Precision/recall and density/coverage from k-nearest-neighbour manifolds in a feature space.

Each set of features is covered by balls: around every point, the ball reaching its k-th nearest
neighbour in the same set.
- Precision (Kynkäänniemi et al. 2019): the fraction of generated points inside the real balls
  (how many samples look real). Recall: the fraction of real points inside the generated balls
  (how much of the data the model covers).
- Density (Naeem et al. 2020): the mean number of real balls a generated point falls in, divided by
  k (about 1 when the two distributions agree; can exceed 1). Coverage: the fraction of real balls
  that hold at least one generated point. Both use the real balls only, which makes them robust to
  generated outliers.
Distances are Euclidean, computed in chunks (memory O(chunk x N)).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from kerasgen.metrics.features import embed

CHUNK = 1024


@dataclasses.dataclass(frozen=True)
class PrecisionRecall:
    """Precision and recall in [0, 1] with the neighbourhood size k."""

    precision: float
    recall: float
    k: int


@dataclasses.dataclass(frozen=True)
class DensityCoverage:
    """Density (>= 0, about 1 for matching distributions) and coverage in [0, 1], with k."""

    density: float
    coverage: float
    k: int


def _squared_distances(a, b):
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0)


def knn_radii(points: np.ndarray, k: int) -> np.ndarray:
    """Squared distance from each point to its k-th nearest other point of the same set, (N,)."""
    if not 1 <= k < len(points):
        raise ValueError(f"k must be between 1 and the number of points - 1 ({len(points) - 1}), got {k}")
    radii = np.empty(len(points))
    for start in range(0, len(points), CHUNK):
        d = _squared_distances(points[start:start + CHUNK], points)
        radii[start:start + CHUNK] = np.partition(d, k, axis=1)[:, k]  # index 0 is the point itself
    return radii


def _ball_hits(queries, centres, radii):
    """For each query, how many balls (centre, squared radius) hold it; for each ball, whether any query lands in it."""
    counts = np.zeros(len(queries), np.int64)
    hit = np.zeros(len(centres), bool)
    for start in range(0, len(queries), CHUNK):
        inside = _squared_distances(queries[start:start + CHUNK], centres) <= radii[None, :]
        counts[start:start + CHUNK] = inside.sum(1)
        hit |= inside.any(0)
    return counts, hit


def _feature_pair(real, fake, features, batch_size):
    a, b = embed(real, features, batch_size), embed(fake, features, batch_size)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} vs {b.shape[1]}")
    return a, b


def precision_recall(real, fake, features=None, k: int = 3, batch_size: int = 256) -> PrecisionRecall:
    """Improved precision and recall of `fake` against `real` (k = 3 as in the paper).

    Args:
        real, fake: (N, ...) and (M, ...) examples; `features` maps them to vectors (see `embed`).
        k: neighbourhood size; each set needs more than k points.
    """
    a, b = _feature_pair(real, fake, features, batch_size)
    real_in_fake, _ = _ball_hits(a, b, knn_radii(b, k))
    fake_in_real, _ = _ball_hits(b, a, knn_radii(a, k))
    return PrecisionRecall(float((fake_in_real > 0).mean()), float((real_in_fake > 0).mean()), int(k))


def density_coverage(real, fake, features=None, k: int = 5, batch_size: int = 256) -> DensityCoverage:
    """Density and coverage of `fake` against `real` (k = 5 as in the paper); arguments as `precision_recall`."""
    a, b = _feature_pair(real, fake, features, batch_size)
    counts, hit = _ball_hits(b, a, knn_radii(a, k))
    return DensityCoverage(float(counts.sum() / (k * len(b))), float(hit.mean()), int(k))

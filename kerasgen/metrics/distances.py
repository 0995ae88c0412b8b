"""Sample-based distances between real and generated data in a feature space: the Fréchet
distance (FID when the features are Inception pool features) and the kernel distance (KID).

`features` is any callable mapping a batch of examples to (N, F) feature vectors (a Keras model
included); None uses the examples themselves, flattened. Feature extractors for images (Inception,
a bundled digit classifier) are the job of the feature-extractor module.

References: Heusel et al. 2017 (FID); Bińkowski et al. 2018 (KID: unbiased MMD^2 with the
polynomial kernel k(x, y) = (x.y / F + 1)^3, averaged over random subsets).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import linalg


def _features(x, features, batch_size=256) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"expected a non-empty batch of examples (N, ...), got shape {x.shape}")
    if features is None:
        out = x.reshape(len(x), -1)
    else:
        out = np.concatenate([np.asarray(features(x[i:i + batch_size])) for i in range(0, len(x), batch_size)])
        out = out.reshape(len(x), -1)
    out = out.astype(np.float64)
    if not np.isfinite(out).all():
        raise ValueError("the features contain NaN or infinite values")
    return out


def statistics(x, features=None, batch_size=256):
    """(mean (F,), covariance (F, F)) of the features of x, float64; cache them for reference sets."""
    f = _features(x, features, batch_size)
    if len(f) < 2:
        raise ValueError("statistics need at least 2 examples")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mean1, cov1, mean2, cov2) -> float:
    """||m1 - m2||^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2)), the Fréchet distance of two Gaussians."""
    mean1, mean2 = np.atleast_1d(mean1), np.atleast_1d(mean2)
    cov1, cov2 = np.atleast_2d(cov1), np.atleast_2d(cov2)
    if mean1.shape != mean2.shape or cov1.shape != cov2.shape:
        raise ValueError(f"statistics differ in shape: {mean1.shape}/{cov1.shape} vs {mean2.shape}/{cov2.shape}")
    root = linalg.sqrtm(cov1 @ cov2)
    if not np.isfinite(root).all():  # a singular product: regularise as is customary
        eps = np.eye(len(cov1)) * 1e-6
        root = linalg.sqrtm((cov1 + eps) @ (cov2 + eps))
    root = root.real
    diff = mean1 - mean2
    return float(max(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(root), 0.0))


def fid(real, fake, features=None, batch_size=256) -> float:
    """Fréchet distance between the feature statistics of `real` and `fake` (arrays, or
    (mean, cov) tuples from `statistics` for a cached reference)."""
    s1 = real if isinstance(real, tuple) else statistics(real, features, batch_size)
    s2 = fake if isinstance(fake, tuple) else statistics(fake, features, batch_size)
    return frechet_distance(*s1, *s2)


@dataclasses.dataclass(frozen=True)
class KID:
    """Kernel inception distance: mean and standard deviation of the unbiased MMD^2 over subsets."""

    mean: float
    std: float
    subsets: int
    subset_size: int


def _polynomial_mmd(a, b) -> float:
    """Unbiased MMD^2 with k(x, y) = (x.y / F + 1)^3 between feature sets a (m, F) and b (n, F)."""
    dim = a.shape[1]
    k_aa, k_bb, k_ab = ((a @ a.T) / dim + 1) ** 3, ((b @ b.T) / dim + 1) ** 3, ((a @ b.T) / dim + 1) ** 3
    m, n = len(a), len(b)
    return float((k_aa.sum() - np.trace(k_aa)) / (m * (m - 1)) + (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1))
                 - 2.0 * k_ab.mean())


def kid(real, fake, features=None, subsets=10, subset_size=1000, seed=0, batch_size=256) -> KID:
    """KID between `real` and `fake`: unbiased polynomial-kernel MMD^2 on `subsets` random subsets of
    `subset_size` examples of each (fewer when a set is smaller), drawn with `seed`."""
    a, b = _features(real, features, batch_size), _features(fake, features, batch_size)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} vs {b.shape[1]}")
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError("KID needs at least 2 examples in each set")
    rng = np.random.default_rng(seed)
    values = [_polynomial_mmd(a[rng.choice(len(a), size, replace=False)], b[rng.choice(len(b), size, replace=False)])
              for _ in range(int(subsets))]
    return KID(float(np.mean(values)), float(np.std(values)), int(subsets), size)

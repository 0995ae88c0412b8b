"""Sample-based distances between real and generated data in a feature space: the Fréchet
distance (FID when the features are Inception pool features) and the kernel distance (KID).

`features` is an extractor name ("digits", "inception"), any callable mapping a batch of examples
to (N, F) feature vectors (a Keras model included), or None for the examples themselves, flattened
(see `kerasgen.metrics.features`).

References: Heusel et al. 2017 (FID); Bińkowski et al. 2018 (KID: unbiased MMD^2 with the
polynomial kernel k(x, y) = (x.y / F + 1)^3, averaged over random subsets).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from kerasgen.metrics.features import embed, extractor_name


def statistics(x, features=None, batch_size=256):
    """(mean (F,), covariance (F, F)) of the features of x, float64; cache them for reference sets."""
    f = embed(x, features, batch_size)
    if len(f) < 2:
        raise ValueError("statistics need at least 2 examples")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def save_statistics(path: str, mean, cov, features=None, n: int | None = None) -> str:
    """Writes reference statistics to a `.npz` (mean, cov, the feature space's name, n), atomically."""
    import os

    if not path.endswith(".npz"):
        raise ValueError(f"reference statistics are stored as .npz, got {path!r}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path[:-4] + ".tmp.npz"
    np.savez(tmp, mean=np.asarray(mean, np.float64), cov=np.asarray(cov, np.float64),
             features=np.asarray(extractor_name(features)), n=np.asarray(-1 if n is None else int(n)))
    os.replace(tmp, path)
    return path


def load_statistics(path: str, features=None):
    """(mean, cov) from a `.npz` written by `save_statistics`.

    Raises:
        FileNotFoundError: when the file is missing.
        ValueError: when it is not a statistics file, or was computed in another feature space than
            `features` (pass the same extractor, or its name).
    """
    import os

    if not os.path.isfile(path):
        raise FileNotFoundError(f"no reference statistics at {path}")
    with np.load(path) as stored:
        if not {"mean", "cov", "features"} <= set(stored.files):
            raise ValueError(f"{path} is not a reference-statistics file (needs mean, cov, features)")
        mean, cov, name = stored["mean"], stored["cov"], str(stored["features"])
    if name != extractor_name(features):
        raise ValueError(f"{path} holds statistics of {name!r} features, not {extractor_name(features)!r}")
    if cov.shape != (len(mean), len(mean)):
        raise ValueError(f"{path}: covariance {cov.shape} does not match the mean {mean.shape}")
    return mean, cov


def reference_statistics(x, features=None, path: str | None = None, batch_size: int = 256):
    """(mean, cov) of the reference set `x`, read from `path` when it exists, else computed and
    written there (when a path is given). Recompute by deleting the file."""
    import os

    if path is not None and os.path.isfile(path):
        return load_statistics(path, features)
    mean, cov = statistics(x, features, batch_size)
    if path is not None:
        save_statistics(path, mean, cov, features, n=len(x))
    return mean, cov


def _psd_sqrt(cov):
    """Symmetric square root of a positive semi-definite matrix (eigenvalues below 0 from rounding clipped)."""
    values, vectors = np.linalg.eigh((cov + cov.T) / 2.0)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mean1, cov1, mean2, cov2) -> float:
    """||m1 - m2||^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2)), the Fréchet distance of two Gaussians.

    tr((C1 C2)^(1/2)) is computed as the sum of the square roots of the eigenvalues of the symmetric
    C1^(1/2) C2 C1^(1/2) (the same eigenvalues), which stays exact when a covariance is singular
    (constant features, fewer examples than features) where a general matrix square root is not.
    """
    mean1, mean2 = np.atleast_1d(np.asarray(mean1, np.float64)), np.atleast_1d(np.asarray(mean2, np.float64))
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, np.float64)), np.atleast_2d(np.asarray(cov2, np.float64))
    if mean1.shape != mean2.shape or cov1.shape != cov2.shape:
        raise ValueError(f"statistics differ in shape: {mean1.shape}/{cov1.shape} vs {mean2.shape}/{cov2.shape}")
    root1 = _psd_sqrt(cov1)
    middle = root1 @ cov2 @ root1
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)).sum()
    diff = mean1 - mean2
    return float(max(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * trace_root, 0.0))


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
    a, b = embed(real, features, batch_size), embed(fake, features, batch_size)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} vs {b.shape[1]}")
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError("KID needs at least 2 examples in each set")
    rng = np.random.default_rng(seed)
    values = [_polynomial_mmd(a[rng.choice(len(a), size, replace=False)], b[rng.choice(len(b), size, replace=False)])
              for _ in range(int(subsets))]
    return KID(float(np.mean(values)), float(np.std(values)), int(subsets), size)

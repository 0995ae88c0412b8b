"""Mode metrics for samples of a known Gaussian mixture (the toy2d ring and grid).

The protocol of the VEEGAN and PacGAN papers: a sample is *high quality* when it
lies within `threshold` (3) standard deviations of its nearest mode centre; a
mode is *captured* when at least `min_count` high-quality samples land on it.
"""

from __future__ import annotations

import numpy as np


def mode_coverage(samples, centers, std, threshold: float = 3.0, min_count: int = 1) -> dict:
    """Modes captured, high-quality fraction and reverse KL of the mode histogram.

    Args:
        samples: (N, D) generated points.
        centers: (K, D) mode centres.
        std: the components' standard deviation.
        threshold: high quality = distance to the nearest centre <= threshold * std.
        min_count: high-quality samples a mode needs to count as captured.

    Returns:
        dict with "modes" (int, 0..K), "num_modes" (K), "high_quality" (fraction
        in [0, 1]), "counts" (K high-quality samples per mode) and
        "reverse_kl": KL(q || uniform) in nats, q the mode histogram of the
        high-quality samples (0 for a perfectly even spread; log K when all
        land on one mode; inf without high-quality samples).

    Example:
        >>> centers = np.array([[0.0, 0.0], [10.0, 0.0]])
        >>> mode_coverage(np.array([[0.01, 0.0], [5.0, 5.0]]), centers, std=0.1)["modes"]
        1
    """
    samples = np.asarray(samples, np.float64)
    centers = np.asarray(centers, np.float64)
    if samples.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(f"samples must have shape (N, {centers.shape[1]}), got {samples.shape}")
    if not np.isfinite(samples).all():
        raise ValueError("samples contain NaN or infinite values")
    d = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
    nearest = d.argmin(axis=1)
    good = d[np.arange(len(samples)), nearest] <= threshold * std
    counts = np.bincount(nearest[good], minlength=len(centers))
    k = len(centers)
    if counts.sum() == 0:
        reverse_kl = float("inf")
    else:
        q = counts / counts.sum()
        nz = q > 0
        reverse_kl = float(np.sum(q[nz] * np.log(q[nz] * k)))
    return {
        "modes": int((counts >= min_count).sum()),
        "num_modes": k,
        "high_quality": float(good.mean()) if len(samples) else 0.0,
        "counts": counts.tolist(),
        "reverse_kl": reverse_kl,
    }

"""Latent-space tools."""

from __future__ import annotations

import numpy as np

METHODS = ("linear", "slerp")


def interpolate(z0, z1, steps: int, method: str = "linear") -> np.ndarray:
    """Points between z0 and z1, both ends included.

    Args:
        z0, z1: latent vectors of shape (D,) or batches (B, D).
        steps: number of points (>= 2).
        method: "linear", or "slerp" (spherical: keeps the norm typical of
            Gaussian noise; falls back to linear for (anti)parallel vectors).

    Returns:
        float32 array (steps, D), or (steps, B, D) for batches.

    Example:
        >>> interpolate(np.zeros(2), np.ones(2), 3).tolist()
        [[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]
    """
    if method not in METHODS:
        raise ValueError(f"unknown interpolation method {method!r}; use one of {', '.join(METHODS)}")
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    z0 = np.asarray(z0, np.float64)
    z1 = np.asarray(z1, np.float64)
    if z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must have the same shape, got {z0.shape} and {z1.shape}")
    t = np.linspace(0.0, 1.0, steps).reshape((steps,) + (1,) * z0.ndim)
    if method == "linear":
        return ((1 - t) * z0 + t * z1).astype(np.float32)
    n0 = np.linalg.norm(z0, axis=-1, keepdims=True)
    n1 = np.linalg.norm(z1, axis=-1, keepdims=True)
    cos = np.sum(z0 * z1, axis=-1, keepdims=True) / np.maximum(n0 * n1, 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    sin = np.sin(omega)
    safe = sin > 1e-6
    sin_safe = np.where(safe, sin, 1.0)
    slerp = (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / sin_safe
    linear = (1 - t) * z0 + t * z1
    return np.where(safe, slerp, linear).astype(np.float32)

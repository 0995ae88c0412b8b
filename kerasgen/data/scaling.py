"""Image value scaling: into the model range [-1, 1] and back for display."""

from __future__ import annotations

import numpy as np


def infer_value_range(x: np.ndarray) -> tuple[float, float]:
    """Guesses the value range of raw images.

    uint8 -> (0, 255); floats within [0, 1] -> (0, 1); within [-1, 1] -> (-1, 1);
    other non-negative values up to 255 -> (0, 255).

    Raises:
        ValueError: when the values fit none of these; pass `value_range`.
    """
    if x.dtype == np.uint8:
        return (0.0, 255.0)
    lo, hi = float(np.min(x)), float(np.max(x))
    if lo >= 0.0 and hi <= 1.0:
        return (0.0, 1.0)
    if lo >= -1.0 and hi <= 1.0:
        return (-1.0, 1.0)
    if lo >= 0.0 and hi <= 255.0:
        return (0.0, 255.0)
    raise ValueError(
        f"cannot infer the value range of images with values in [{lo:g}, {hi:g}]; "
        "pass value_range=(low, high)"
    )


def images_to_model_range(x: np.ndarray, value_range=None, name: str = "images") -> np.ndarray:
    """Scales images from `value_range` (inferred when None) to [-1, 1] float32."""
    lo, hi = infer_value_range(x) if value_range is None else map(float, value_range)
    if hi <= lo:
        raise ValueError(f"{name}: value_range must be (low, high) with low < high, got {(lo, hi)}")
    xmin, xmax = float(np.min(x)), float(np.max(x))
    if xmin < lo - 1e-6 or xmax > hi + 1e-6:
        raise ValueError(
            f"{name}: values in [{xmin:g}, {xmax:g}] fall outside value_range ({lo:g}, {hi:g})"
        )
    return ((x.astype(np.float32) - lo) / (hi - lo) * 2.0 - 1.0).astype(np.float32)


def to_display(x) -> np.ndarray:
    """Inverse of the model scaling for images: [-1, 1] -> uint8 [0, 255].

    Values outside [-1, 1] are clipped.
    """
    x = np.asarray(x, dtype=np.float32)
    return np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)

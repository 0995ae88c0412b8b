"""Known image transforms: domain B of unpaired translation data with a ground truth.

Each transform maps a batch of images (N, H, W, C) float32 in [-1, 1] to a batch in [-1, 1]; applied
to domain A's images it gives the true translation, against which a learned A -> B mapping is
measured. The registry `TRANSFORMS` names them:

- "invert": x -> -x (any channels).
- "rotate90": a quarter turn counter-clockwise in the image plane, `np.rot90(x, 1, axes=(1, 2))`:
  (N, H, W, C) -> (N, W, H, C).
- "tint": grey (N, H, W, 1) -> RGB (N, H, W, 3), a blend between a dark navy and an orange:
  with t = (x + 1) / 2 in [0, 1], rgb = TINT_DARK + t * (TINT_LIGHT - TINT_DARK), where
  TINT_DARK = (-1.0, -0.8, -0.4) and TINT_LIGHT = (1.0, 0.6, -0.2) (each channel in [-1, 1]).
"""

from __future__ import annotations

import numpy as np

TINT_DARK = np.array([-1.0, -0.8, -0.4], np.float32)
TINT_LIGHT = np.array([1.0, 0.6, -0.2], np.float32)


def _check(x, name: str) -> np.ndarray:
    x = np.asarray(x, np.float32)
    if x.ndim != 4:
        raise ValueError(f"transform {name!r} expects images (N, H, W, C), got shape {x.shape}")
    return x


def invert(x) -> np.ndarray:
    """x -> -x: (N, H, W, C) in [-1, 1] -> the same shape in [-1, 1]."""
    return -_check(x, "invert")


def rotate90(x) -> np.ndarray:
    """A quarter turn counter-clockwise: (N, H, W, C) -> (N, W, H, C)."""
    return np.ascontiguousarray(np.rot90(_check(x, "rotate90"), k=1, axes=(1, 2)))


def tint(x) -> np.ndarray:
    """Grey (N, H, W, 1) in [-1, 1] -> RGB (N, H, W, 3) in [-1, 1]:
    `TINT_DARK + (x + 1) / 2 * (TINT_LIGHT - TINT_DARK)` (-1 -> TINT_DARK, 1 -> TINT_LIGHT)."""
    x = _check(x, "tint")
    if x.shape[-1] != 1:
        raise ValueError(f"transform 'tint' colours grey images (C=1); got {x.shape[-1]} channels")
    t = (x + 1.0) / 2.0
    return (TINT_DARK + t * (TINT_LIGHT - TINT_DARK)).astype(np.float32)


def rotate270(x) -> np.ndarray:
    """A quarter turn clockwise (the inverse of `rotate90`): (N, H, W, C) -> (N, W, H, C)."""
    return np.ascontiguousarray(np.rot90(_check(x, "rotate270"), k=-1, axes=(1, 2)))


def untint(x) -> np.ndarray:
    """RGB (N, H, W, 3) -> grey (N, H, W, 1) in [-1, 1], the inverse of `tint`: each pixel's position
    t on the TINT_DARK -> TINT_LIGHT line (least squares, clipped to [0, 1]), as 2 t - 1."""
    x = _check(x, "untint")
    if x.shape[-1] != 3:
        raise ValueError(f"'untint' reads RGB images (C=3); got {x.shape[-1]} channels")
    span = TINT_LIGHT - TINT_DARK
    t = np.clip(((x - TINT_DARK) * span).sum(axis=-1, keepdims=True) / float((span * span).sum()), 0.0, 1.0)
    return (2.0 * t - 1.0).astype(np.float32)


TRANSFORMS = {"invert": invert, "rotate90": rotate90, "tint": tint}
INVERSES = {"invert": invert, "rotate90": rotate270, "tint": untint}
KEEPS_LEVELS = ("invert", "rotate90")  # transforms that keep quantised pixel values on their grid


def get_transform(name: str):
    """The transform registered under `name` (see `TRANSFORMS`)."""
    if name not in TRANSFORMS:
        raise ValueError(f"unknown transform {name!r}; use one of {', '.join(TRANSFORMS)}")
    return TRANSFORMS[name]


def get_inverse(name: str):
    """The inverse of the transform `name`: maps domain-B images back to domain A (see `INVERSES`)."""
    get_transform(name)
    return INVERSES[name]

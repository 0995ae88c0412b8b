"""`kerasgen.data.load`: one entry point from a data spec string to a `tf.data.Dataset`."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kerasgen.data import toy2d
from kerasgen.data.arrays import (
    ArrayData,
    DataInfo,
    check_examples,
    from_arrays,
    read_folder,
    read_idx,
    read_npz,
    split_indices,
)

DEFAULT_TOY_SAMPLES = 20_000
SPLITS = ("train", "test", "all")
SPEC_KINDS = ("toy2d:<name>", "digits", "npz:<path>", "idx:<dir>", "folder:<dir>", "tfds:<name>")


def _resize(x: np.ndarray, image_size) -> np.ndarray:
    out = tf.image.resize(x, image_size, method="bilinear", antialias=True)
    return np.clip(out.numpy(), -1.0, 1.0).astype(np.float32)


def density_of(spec: str):
    """The true density behind a `toy2d:<name>` spec (for mode counts and reference NLLs), else None."""
    kind, _, arg = spec.partition(":")
    return toy2d.get_density(arg) if kind == "toy2d" else None


def load_arrays(spec: str, split: str = "train", seed: int = 0, image_size=None,
                n_samples: int | None = None, value_range=None) -> ArrayData:
    """Loads an in-memory data set (every spec but `tfds:`) as `ArrayData`.

    Args:
        spec: a data spec; see `load`.
        split: "train", "test" or "all". Array sources use a fixed 85/15 split;
            `idx:` uses the train/t10k files; `toy2d:` draws train and test from
            different seeds.
        seed: seed of the toy samplers.
        image_size: (H, W) to resize images to (bilinear with antialiasing).
        n_samples: points drawn from a toy density (default 20,000).
        value_range: raw value range of images, inferred when None.

    Returns:
        `ArrayData` with x float32 (N, ...) and y int32 (N,) or None.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    kind, _, arg = spec.partition(":")
    if kind == "toy2d":
        density = toy2d.get_density(arg)
        n = DEFAULT_TOY_SAMPLES if n_samples is None else int(n_samples)
        split_offset = {"train": 0, "test": 1_000_003, "all": 0}[split]
        data = from_arrays(density.sample(n, seed=seed + split_offset), None, spec)
        return data
    if kind == "digits" and not arg:
        from sklearn.datasets import load_digits

        digits = load_digits()
        idx = split_indices(len(digits.images), split)
        data = from_arrays(digits.images[idx], digits.target[idx], spec, value_range=(0.0, 16.0))
    elif kind == "npz" and arg:
        x, y = read_npz(arg)
        check_examples(np.asarray(x, np.float64) if np.asarray(x).dtype.kind == "f" else x, y, spec)
        idx = split_indices(len(x), split)
        data = from_arrays(x[idx], None if y is None else y[idx], spec, value_range)
    elif kind == "idx" and arg:
        x, y = read_idx(arg, split)
        data = from_arrays(x, y, spec, value_range)
    elif kind == "folder" and arg:
        x, y, _ = read_folder(arg, image_size=image_size)
        idx = split_indices(len(x), split)
        data = from_arrays(x[idx], y[idx], spec, value_range)
    else:
        raise ValueError(f"unknown data spec {spec!r}; expected one of: {', '.join(SPEC_KINDS)}")
    if image_size is not None and data.info.is_image and tuple(image_size) != data.x.shape[1:3]:
        data.x = _resize(data.x, tuple(int(s) for s in image_size))
        data.info.data_shape = tuple(data.x.shape[1:])
    return data


def load(spec: str, batch_size: int = 64, split: str = "train", shuffle: bool = True,
         seed: int = 0, image_size=None, n_samples: int | None = None, value_range=None,
         drop_remainder: bool = False, return_info: bool = False):
    """Loads a data spec as a batched, prefetched `tf.data.Dataset`.

    Specs: `toy2d:<name>` (moons, circles, 8gaussians, 25gaussians, checkerboard,
    spirals, pinwheel), `digits` (scikit-learn's 8x8 digits), `npz:<path>` (keys
    `x` and optional `y`), `idx:<dir>` (MNIST-format files), `folder:<dir>`
    (class sub-folders of images), `tfds:<name>` (tensorflow-datasets, prepared
    locally).

    Images come out float32 in [-1, 1] with shape (B, H, W, C); use
    `kerasgen.data.to_display` for uint8. Vectors come out as given, (B, D).
    Labelled sources yield `(x, y)` with int32 labels (B,), others yield `x`.

    Args:
        spec: the data spec.
        batch_size: examples per batch.
        split: "train", "test" or "all".
        shuffle: reshuffle every epoch (seeded by `seed`).
        seed: seed for shuffling and for the toy samplers.
        image_size: (H, W) to resize images to.
        n_samples: points drawn from a toy density.
        value_range: raw value range of images (inferred when None).
        drop_remainder: drop the last incomplete batch.
        return_info: also return a `DataInfo` (shape, classes, size).

    Returns:
        The dataset, or `(dataset, info)` when `return_info`.

    Example:
        >>> ds = load("toy2d:moons", batch_size=128, n_samples=1024)
        >>> next(iter(ds)).shape
        TensorShape([128, 2])
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    kind, _, arg = spec.partition(":")
    if kind == "tfds" and arg:
        from kerasgen.data.tfds_source import load_tfds

        ds, info = load_tfds(arg, split, spec, image_size=image_size)
        if shuffle:
            ds = ds.shuffle(10_000, seed=seed, reshuffle_each_iteration=True)
    else:
        data = load_arrays(spec, split, seed, image_size, n_samples, value_range)
        info = data.info
        tensors = data.x if data.y is None else (data.x, data.y)
        ds = tf.data.Dataset.from_tensor_slices(tensors)
        if shuffle:
            ds = ds.shuffle(len(data.x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
    return (ds, info) if return_info else ds


__all__ = ["load", "load_arrays", "DataInfo"]

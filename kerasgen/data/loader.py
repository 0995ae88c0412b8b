"""`kerasgen.data.load`: one entry point from a data spec string to a `tf.data.Dataset`."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kerasgen.data import toy2d
from kerasgen.data.arrays import (
    ArrayData,
    DataInfo,
    central_crop,
    check_crop,
    check_examples,
    from_arrays,
    read_folder,
    read_idx,
    read_npz,
    split_indices,
)

DEFAULT_TOY_SAMPLES = 20_000
SPLITS = ("train", "test", "all")
TFDS_SHUFFLE_BUFFER = 10_000
SPEC_KINDS = ("toy2d:<name>", "digits", "npz:<path>", "idx:<dir>", "folder:<dir>", "tfds:<name>")


def _resize(x: np.ndarray, image_size) -> np.ndarray:
    out = tf.image.resize(x, image_size, method="bilinear", antialias=True)
    return np.clip(out.numpy(), -1.0, 1.0).astype(np.float32)


def density_of(spec: str):
    """The true density behind a `toy2d:<name>` spec (for mode counts and reference NLLs), else None."""
    kind, _, arg = spec.partition(":")
    return toy2d.get_density(arg) if kind == "toy2d" else None


def keep_labels_per_class(y, labels_per_class: int, num_classes: int | None = None, seed: int = 0) -> np.ndarray:
    """Labels with `labels_per_class` examples of each class kept, chosen at random (seeded), and
    every other label replaced by -1 (unlabelled): the few-labels setting of semi-supervised learning.

    Args:
        y: int labels (N,) in [0, num_classes).
        labels_per_class: n >= 1, labels kept per class.
        num_classes: the number of classes (default max(y) + 1); each must have n examples.
        seed: the same seed keeps the same examples' labels.

    Returns:
        int32 (N,): n labels of each class, -1 elsewhere.

    Raises:
        ValueError: n < 1, or a class with fewer than n examples.
    """
    y = np.asarray(y).reshape(-1)
    if isinstance(labels_per_class, bool) or int(labels_per_class) != labels_per_class or labels_per_class < 1:
        raise ValueError(f"labels_per_class must be an int >= 1, got {labels_per_class!r}")
    n = int(labels_per_class)
    num_classes = int(y.max()) + 1 if num_classes is None else int(num_classes)
    rng = np.random.default_rng(seed)
    out = np.full(len(y), -1, np.int32)
    for c in range(num_classes):
        members = np.flatnonzero(y == c)
        if len(members) < n:
            raise ValueError(f"labels_per_class={n}: class {c} has only {len(members)} examples here")
        keep = rng.choice(members, n, replace=False)
        out[keep] = c
    return out


def labelled_batches(x, y, batch_size: int, labelled_per_batch: int, seed: int = 0, shuffle: bool = True,
                     drop_remainder: bool = False):
    """Batches of every example (labels as given, -1 unlabelled), each followed by
    `labelled_per_batch` labelled examples from an endless stream of reshuffled passes over the
    labelled ones: the labelled and unlabelled batches of each step in Salimans et
    al.'s semi-supervised training, which otherwise would see about one of 100 labels per batch of
    100 out of 7,000 examples. The labelled examples so weigh more in the unsupervised terms too.

    Args:
        x: examples (N, ...); y: int labels (N,), -1 where unlabelled.
        batch_size: examples per batch from all of x (the epoch is N / batch_size batches).
        labelled_per_batch: labelled examples appended to each batch (>= 1).
        seed: seed of both orders.
        shuffle: reshuffle the examples every epoch.
        drop_remainder: drop the epoch's last incomplete batch.

    Returns:
        A `tf.data.Dataset` of (x (B + labelled_per_batch, ...), labels (B + labelled_per_batch,)).

    Raises:
        ValueError: no labelled example, or `labelled_per_batch` < 1.
    """
    y = np.asarray(y, np.int32).reshape(-1)
    if int(labelled_per_batch) < 1:
        raise ValueError(f"labelled_per_batch must be >= 1, got {labelled_per_batch}")
    keep = np.flatnonzero(y >= 0)
    if len(keep) == 0:
        raise ValueError("labelled_per_batch needs labelled examples (labels >= 0); every label is -1")
    main = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        main = main.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    main = main.batch(batch_size, drop_remainder=drop_remainder)
    labelled = tf.data.Dataset.from_tensor_slices((x[keep], y[keep])).shuffle(len(keep), seed=seed + 1,
                                                                             reshuffle_each_iteration=True)
    labelled = labelled.repeat().batch(int(labelled_per_batch), drop_remainder=True)
    return tf.data.Dataset.zip(main, labelled).map(
        lambda a, b: (tf.concat([a[0], b[0]], 0), tf.concat([a[1], b[1]], 0)))


def load_arrays(spec: str, split: str = "train", seed: int = 0, image_size=None,
                n_samples: int | None = None, value_range=None, crop=None, limit: int | None = None,
                data_dir: str | None = None, download: bool | None = None,
                labels_per_class: int | None = None) -> ArrayData:
    """Loads a data set into memory as `ArrayData` (a `tfds:` split is read through once).

    Args:
        spec: a data spec; see `load`.
        split: "train", "test" or "all". Array sources use a fixed 85/15 split;
            `idx:` uses the train/t10k files; `toy2d:` draws train and test from
            different seeds.
        seed: seed of the toy samplers.
        image_size: (H, W) to resize images to (bilinear with antialiasing).
        n_samples: points drawn from a toy density (default 20,000).
        value_range: raw value range of images, inferred when None.
        crop: (H, W) central crop of the images, taken before resizing.
        limit: keep the first `limit` examples only (a `tfds:` split is read no further).
        data_dir, download: where tensorflow-datasets keeps `tfds:` data, and whether it may be
            downloaded (see `load`).
        labels_per_class: keep the labels of this many examples per class (chosen with `seed`)
            and mark every other example unlabelled (label -1); see `keep_labels_per_class`.

    Returns:
        `ArrayData` with x float32 (N, ...) and y int32 (N,) or None.

    Raises:
        ValueError: `labels_per_class` on data without labels, below 1, or above a class's examples.
    """
    data = _load_arrays(spec, split, seed, image_size, n_samples, value_range, crop, limit, data_dir, download)
    if labels_per_class is not None:
        if data.y is None:
            raise ValueError(f"labels_per_class needs labelled data; {spec!r} has no labels")
        data.y = keep_labels_per_class(data.y, labels_per_class, data.info.num_classes, seed)
    return data


def _load_arrays(spec, split, seed, image_size, n_samples, value_range, crop, limit, data_dir, download):
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    kind, _, arg = spec.partition(":")
    if kind == "tfds" and arg:
        from kerasgen.data.tfds_source import load_tfds

        ds, info = load_tfds(arg, split, spec, image_size=image_size, data_dir=data_dir, download=download,
                             crop=crop)
        if limit is not None:
            ds = ds.take(limit)
        batches = list(ds.batch(1024).as_numpy_iterator())
        if not batches:
            raise ValueError(f"data {spec!r} is empty: no examples in split {split!r}")
        labelled = isinstance(batches[0], tuple)
        x = np.concatenate([b[0] if labelled else b for b in batches]).astype(np.float32)
        y = np.concatenate([b[1] for b in batches]).astype(np.int32) if labelled else None
        info.num_examples = len(x)
        return ArrayData(x, y, info)
    if kind == "toy2d":
        density = toy2d.get_density(arg)
        n = DEFAULT_TOY_SAMPLES if n_samples is None else int(n_samples)
        split_offset = {"train": 0, "test": 1_000_003, "all": 0}[split]
        data = from_arrays(density.sample(n, seed=seed + split_offset), None, spec)
    elif kind == "digits" and not arg:
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
    if crop is not None and data.info.is_image:
        data.x = np.ascontiguousarray(central_crop(data.x, check_crop(crop, data.x.shape[1:])))
        data.info.data_shape = tuple(data.x.shape[1:])
    if image_size is not None and data.info.is_image and tuple(image_size) != data.x.shape[1:3]:
        data.x = _resize(data.x, tuple(int(s) for s in image_size))
        data.info.data_shape = tuple(data.x.shape[1:])
    if limit is not None:
        data.x, data.y = data.x[:limit], None if data.y is None else data.y[:limit]
        data.info.num_examples = len(data.x)
    return data


def load(spec: str, batch_size: int = 64, split: str = "train", shuffle: bool = True,
         seed: int = 0, image_size=None, n_samples: int | None = None, value_range=None,
         drop_remainder: bool = False, return_info: bool = False, crop=None, data_dir: str | None = None,
         download: bool | None = None, labels_per_class: int | None = None,
         labelled_per_batch: int | None = None):
    """Loads a data spec as a batched, prefetched `tf.data.Dataset`.

    Specs: `toy2d:<name>` (moons, circles, 8gaussians, 25gaussians, checkerboard,
    spirals, pinwheel), `digits` (scikit-learn's 8x8 digits), `npz:<path>` (keys
    `x` and optional `y`), `idx:<dir>` (MNIST-format files), `folder:<dir>`
    (class sub-folders of images), `tfds:<name>` (tensorflow-datasets: downloaded and
    prepared by tfds on first use, into `data_dir`).

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
        crop: (H, W) central crop of the images, taken before resizing (e.g. faces out of CelebA).
        data_dir: tensorflow-datasets' data folder for `tfds:` specs (default: tfds' own,
            $TFDS_DATA_DIR or ~/tensorflow_datasets).
        download: False forbids downloading a `tfds:` data set that is not prepared in `data_dir`;
            None (default) downloads unless `KERASGEN_OFFLINE=1` or `kerasgen.downloads.offline()`.
        labels_per_class: keep n labels per class (chosen with `seed`) and label every other example
            -1, unlabelled (for the semi-supervised GAN); a `tfds:` split is then read into memory.
        labelled_per_batch: with `labels_per_class`, append this many labelled examples to each batch
            (see `labelled_batches`; batches then hold `batch_size + labelled_per_batch` examples).

    Returns:
        The dataset, or `(dataset, info)` when `return_info`.

    Raises:
        kerasgen.downloads.Unavailable: a `tfds:` data set that is not prepared and may not (or
            could not) be downloaded; the message names the folder and the command that prepares it.

    Example:
        >>> ds = load("toy2d:moons", batch_size=128, n_samples=1024)
        >>> next(iter(ds)).shape
        TensorShape([128, 2])
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    ds, info, buffer, arrays = _examples(spec, split, seed, image_size, n_samples, value_range, crop, data_dir,
                                         download, labels_per_class)
    if labelled_per_batch is not None:
        if labels_per_class is None:
            raise ValueError("labelled_per_batch needs labels_per_class (the few labels it draws from)")
        ds = labelled_batches(*arrays, batch_size, labelled_per_batch, seed, shuffle, drop_remainder)
        ds = ds.prefetch(tf.data.AUTOTUNE)
        return (ds, info) if return_info else ds
    if shuffle:
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
    return (ds, info) if return_info else ds


def _examples(spec, split, seed, image_size, n_samples, value_range, crop=None, data_dir=None, download=None,
              labels_per_class=None):
    """(unbatched dataset of examples, DataInfo, shuffle buffer size, the arrays or None for tfds)."""
    kind, _, arg = spec.partition(":")
    if kind == "tfds" and arg and labels_per_class is None:
        from kerasgen.data.tfds_source import load_tfds

        ds, info = load_tfds(arg, split, spec, image_size=image_size, data_dir=data_dir, download=download, crop=crop)
        return ds, info, TFDS_SHUFFLE_BUFFER, None
    data = load_arrays(spec, split, seed, image_size, n_samples, value_range, crop=crop, data_dir=data_dir,
                       download=download, labels_per_class=labels_per_class)
    tensors = data.x if data.y is None else (data.x, data.y)
    return tf.data.Dataset.from_tensor_slices(tensors), data.info, len(data.x), tensors


def _epochs_of_arrays(arrays, n, batch_size, seed, start_epoch, drop_remainder, independent=False):
    """Endless batches of in-memory arrays from `start_epoch` on, epoch e a stateless permutation of
    (seed, e); with `independent`, each array of the tuple follows its own permutation (unpaired
    domains: n examples of each, a different n every epoch when one domain is larger)."""
    tensors = tf.nest.map_structure(tf.constant, arrays)

    def order(e, k, size):  # the first n of a permutation of all `size` examples
        key = tf.stack([tf.cast(seed, tf.int64) + 7919 * k, e])
        return tf.random.experimental.stateless_shuffle(tf.range(size, dtype=tf.int64), key)[:n]

    def epoch(e):  # the permutation of epoch e: a stateless function of (seed, e)
        if not independent:
            batches = tf.data.Dataset.from_tensor_slices(order(e, 0, n)).batch(batch_size, drop_remainder=drop_remainder)
            return batches.map(lambda idx: tf.nest.map_structure(lambda t: tf.gather(t, idx), tensors))
        orders = tuple(order(e, k, int(t.shape[0])) for k, t in enumerate(tensors))
        batches = tf.data.Dataset.from_tensor_slices(orders).batch(batch_size, drop_remainder=drop_remainder)
        return batches.map(lambda *idx: tuple(tf.gather(t, i) for t, i in zip(tensors, idx)))

    return tf.data.Dataset.range(start_epoch, np.iinfo(np.int64).max).flat_map(epoch)


def stream_arrays(arrays, batch_size: int = 64, seed: int = 0, start_epoch: int = 0, skip_batches: int = 0,
                  drop_remainder: bool = False, independent: bool = False):
    """In-memory arrays (an array or a tuple of them, N first) as an endless, resumable stream of
    shuffled batches: what `stream` does for a data spec, for arrays already loaded (translation
    pairs `(source, target)`, or unpaired domains `(a, b)` with `independent=True`: each domain in
    its own order, the epoch as long as the smaller one).

    Returns:
        `(dataset, steps_per_epoch)`.

    Raises:
        ValueError: fewer examples than one batch, or a start outside one epoch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    parts = arrays if isinstance(arrays, tuple) else (arrays,)
    n = min(len(p) for p in parts) if independent else len(parts[0])
    if not independent and any(len(p) != n for p in parts):
        raise ValueError(f"the arrays hold different numbers of examples: {[len(p) for p in parts]}")
    steps = n // batch_size if drop_remainder else -(-n // batch_size)
    if steps < 1:
        raise ValueError(f"{n} examples are fewer than one batch of {batch_size}")
    if start_epoch < 0 or not 0 <= skip_batches < steps:
        raise ValueError(f"cannot start at epoch {start_epoch}, batch {skip_batches}: an epoch has {steps} batches")
    ds = _epochs_of_arrays(arrays, n, batch_size, seed, start_epoch, drop_remainder, independent)
    return ds.skip(skip_batches).prefetch(tf.data.AUTOTUNE), steps


def stream(spec: str, batch_size: int = 64, split: str = "train", seed: int = 0, start_epoch: int = 0,
           skip_batches: int = 0, image_size=None, n_samples: int | None = None, value_range=None,
           drop_remainder: bool = False, crop=None, data_dir: str | None = None, download: bool | None = None,
           labels_per_class: int | None = None):
    """A data spec as an endless, resumable stream of shuffled batches, epoch after epoch.

    Each epoch ends with its own last, possibly partial, batch. For in-memory sources (every spec
    but `tfds:`) epoch `e`'s order is a stateless permutation of `(seed, e)` alone, not of how many
    epochs this process has iterated: a run resumed at epoch `start_epoch`, batch `skip_batches`
    of it, sees exactly the batches that an uninterrupted run would have seen from there. A
    streamed `tfds:` source is shuffled through a buffer seeded by `(seed, start_epoch)`: a resumed
    run sees the same examples per epoch in another order. Train on it with
    `model.fit(ds, steps_per_epoch=steps_per_epoch, epochs=..., initial_epoch=start_epoch)`.

    Args:
        spec, batch_size, split, seed, image_size, n_samples, value_range, drop_remainder, crop, data_dir,
            download, labels_per_class: as in `load`.
        start_epoch: the epoch the stream starts in (>= 0).
        skip_batches: batches of `start_epoch` already trained on, skipped (0 <= skip < steps_per_epoch).

    Returns:
        `(dataset, steps_per_epoch, info)`: batches as `load` yields them (B, ...) [with labels (B,)];
        the number of batches in one epoch; the `DataInfo`.

    Raises:
        ValueError: a negative `start_epoch`, or `skip_batches` outside one epoch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    examples, info, buffer, arrays = _examples(spec, split, seed, image_size, n_samples, value_range, crop,
                                               data_dir, download, labels_per_class)
    n = len(arrays[0] if isinstance(arrays, tuple) else arrays) if arrays is not None else int(examples.cardinality())
    if n < 0:  # a source of unknown length (some tfds builders): count it once
        n = int(examples.reduce(np.int64(0), lambda count, _: count + 1))
    steps = n // batch_size if drop_remainder else -(-n // batch_size)
    if steps < 1:
        raise ValueError(f"{spec!r} holds {n} examples, fewer than one batch of {batch_size}")
    if start_epoch < 0 or not 0 <= skip_batches < steps:
        raise ValueError(f"cannot start at epoch {start_epoch}, batch {skip_batches}: an epoch has {steps} batches")
    if arrays is not None:
        ds = _epochs_of_arrays(arrays, n, batch_size, seed, start_epoch, drop_remainder)
    else:  # a streamed source: one shuffle buffer, its order seeded by (seed, start_epoch)
        order_seed = (seed * 1_000_003 + start_epoch) % (2**31 - 1)
        shuffled = examples.shuffle(min(buffer, n), seed=order_seed, reshuffle_each_iteration=True)
        ds = tf.data.Dataset.range(start_epoch, np.iinfo(np.int64).max).flat_map(
            lambda e: shuffled.batch(batch_size, drop_remainder=drop_remainder))
    ds = ds.skip(skip_batches).prefetch(tf.data.AUTOTUNE)
    return ds, steps, info


__all__ = ["load", "load_arrays", "stream", "stream_arrays", "keep_labels_per_class", "labelled_batches", "DataInfo"]

"""Data through tensorflow-datasets (only data already prepared locally: no downloads)."""

from __future__ import annotations

import tensorflow as tf

from kerasgen.data.arrays import DataInfo


def load_tfds(name: str, split: str, spec: str, image_size=None):
    """Loads `name` from tensorflow-datasets as a `(tf.data.Dataset, DataInfo)` pair.

    The data set must already be prepared in the local tfds data folder (or be
    mocked with `tfds.testing.mock_data`): kerasgen never downloads. Images are
    scaled from uint8 [0, 255] to float32 [-1, 1]; labels are kept when the data
    set has a `label` feature.
    """
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name)
    except Exception as err:  # tfds raises its own DatasetNotFoundError
        raise ValueError(f"unknown tfds data set {name!r}: {err}".splitlines()[0]) from None
    features = builder.info.features
    if "image" not in features:
        raise ValueError(f"tfds data set {name!r} has no 'image' feature")
    label_feature = features["label"] if "label" in features else None
    num_classes = getattr(label_feature, "num_classes", None)
    tfds_split = {"all": "all"}.get(split, split)
    try:
        ds = tfds.load(name, split=tfds_split, download=False)
    except Exception as err:
        raise FileNotFoundError(
            f"tfds data set {name!r} is not prepared locally and kerasgen does not download: "
            f"{str(err).splitlines()[0]}"
        ) from None
    shape = tuple(features["image"].shape)
    if image_size is not None:
        shape = (int(image_size[0]), int(image_size[1]), shape[-1])

    def convert(example):
        x = tf.cast(example["image"], tf.float32) / 127.5 - 1.0
        if image_size is not None:
            x = tf.image.resize(x, image_size, method="bilinear", antialias=True)
        if num_classes is None:
            return x
        return x, tf.cast(example["label"], tf.int32)

    ds = ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
    n = builder.info.splits[tfds_split].num_examples if tfds_split in builder.info.splits else None
    if n == 0:
        raise ValueError(f"data {spec!r} is empty: no examples in split {split!r}")
    info = DataInfo(spec, tuple(int(s) for s in shape), num_classes, True, n, num_levels=256)
    return ds, info


__all__ = ["load_tfds"]

"""Data through tensorflow-datasets: prepared locally, or downloaded and prepared on request."""

from __future__ import annotations

import tensorflow as tf

from kerasgen import downloads
from kerasgen.data.arrays import DataInfo, check_crop


def prepare_command(name: str, data_dir: str | None = None) -> str:
    """The command that downloads and prepares tfds data set `name` (into `data_dir`)."""
    import shlex

    return f"kerasgen download tfds:{name}" + (f" --data-dir {shlex.quote(str(data_dir))}" if data_dir else "")


def builder(name: str, data_dir: str | None = None):
    """tfds' builder of `name` in `data_dir` (None: tfds' default, $TFDS_DATA_DIR or ~/tensorflow_datasets).

    Raises:
        ValueError: tfds has no data set of that name.
    """
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=data_dir)
    except Exception as err:  # tfds raises its own DatasetNotFoundError
        raise ValueError(f"unknown tfds data set {name!r}: {err}".splitlines()[0]) from None


def prepare(name: str, data_dir: str | None = None, download: bool | None = None):
    """Makes sure tfds data set `name` is prepared in `data_dir`, downloading it when it is not.

    Downloading goes through tensorflow-datasets' own mechanism (`download_and_prepare`: its
    progress bars, its checksums, its folder layout). Nothing is fetched when downloads are off
    (`download=False`, `KERASGEN_OFFLINE=1`, `kerasgen.downloads.offline()`); then a data set that
    is not prepared is found missing when it is read.

    Returns:
        The tfds builder.

    Raises:
        Unavailable: the download failed (no network, an unreachable host).
    """
    b = builder(name, data_dir)
    if downloads.allowed(download) and not b.is_prepared():
        try:
            b.download_and_prepare()
        except Exception as err:
            raise downloads.Unavailable(
                f"tfds data set {name!r}", str(b.data_dir), prepare_command(name, data_dir),
                f"downloading and preparing it failed ({type(err).__name__}: {downloads.first_line(err)})",
            ) from err
    return b


def load_tfds(name: str, split: str, spec: str, image_size=None, data_dir: str | None = None,
              download: bool | None = None, crop=None):
    """Loads `name` from tensorflow-datasets as a `(tf.data.Dataset, DataInfo)` pair.

    A data set not yet prepared in `data_dir` is downloaded and prepared first, unless downloads
    are off (see `prepare`); data mocked with `tfds.testing.mock_data` is read as it is. Images
    are scaled from uint8 [0, 255] to float32 [-1, 1], centrally cropped to `crop` (H, W) and then
    resized to `image_size` (bilinearly with antialiasing); labels are kept when the data set has a `label` feature.

    Raises:
        ValueError: unknown data set, no `image` feature, an empty split.
        Unavailable: not prepared and downloads are off, or the download failed; the message names
            the data set, the folder searched and the command that prepares it.
    """
    b = prepare(name, data_dir, download)
    features = b.info.features
    if "image" not in features:
        raise ValueError(f"tfds data set {name!r} has no 'image' feature")
    label_feature = features["label"] if "label" in features else None
    num_classes = getattr(label_feature, "num_classes", None)
    tfds_split = {"all": "all"}.get(split, split)
    try:
        ds = b.as_dataset(split=tfds_split)
    except Exception as err:
        if downloads.allowed(download):
            reason = f"tensorflow-datasets could not read it ({downloads.first_line(err)})"
        else:
            reason = downloads.offline_reason(download)
        raise downloads.Unavailable(f"tfds data set {name!r}", str(b.data_dir), prepare_command(name, data_dir),
                                    reason) from None
    shape = tuple(features["image"].shape)
    crop = check_crop(crop, shape if None not in shape[:2] else None)
    if crop is not None:
        shape = (*crop, shape[-1])
    if image_size is not None:
        shape = (int(image_size[0]), int(image_size[1]), shape[-1])

    def convert(example):
        x = tf.cast(example["image"], tf.float32) / 127.5 - 1.0
        if crop is not None:
            x = tf.image.resize_with_crop_or_pad(x, *crop)
        if image_size is not None:
            x = tf.image.resize(x, image_size, method="bilinear", antialias=True)
        if num_classes is None:
            return x
        return x, tf.cast(example["label"], tf.int32)

    ds = ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
    n = b.info.splits[tfds_split].num_examples if tfds_split in b.info.splits else None
    if n == 0:
        raise ValueError(f"data {spec!r} is empty: no examples in split {split!r}")
    info = DataInfo(spec, tuple(int(s) for s in shape), num_classes, True, n, num_levels=256)
    return ds, info


__all__ = ["load_tfds", "prepare", "prepare_command", "builder"]

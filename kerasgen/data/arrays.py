"""In-memory data sources and their checks.

Each reader returns an `ArrayData`: float32 examples already in model scale
(images in [-1, 1], vectors as given) with optional integer labels. The checks
here are the ones every source shares: finite values, a non-empty set, one
example shape, labels that match.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import struct

import numpy as np

from kerasgen.data.scaling import images_to_model_range, infer_value_range

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


@dataclasses.dataclass
class DataInfo:
    """What a model needs to know about a data set.

    Attributes:
        spec: the data spec it came from.
        data_shape: shape of one example, e.g. (28, 28, 1) or (2,).
        num_classes: number of label classes, or None for unlabelled data.
        is_image: True for images (scaled to [-1, 1]); False for vectors.
        num_examples: examples in the split, or None when unknown (tfds).
        num_levels: quantisation levels of the pixel values (256 for 8-bit images, 17 for
            scikit-learn's digits), or None when not quantised (vectors, continuous images).
        source_shape: for translation data, the shape of one source (paired) or domain-A (unpaired)
            example, e.g. (4, 4, 1) for 2x super-resolution of 8x8 images; None otherwise.
        target_shape: for translation data, the shape of one target (paired) or domain-B (unpaired)
            example; equals `data_shape`. None otherwise.
        task: for translation data, "superres", "inpaint", "edges", "colorize", "paired" (the
            user's own pairs) or "unpaired"; None otherwise.
    """

    spec: str
    data_shape: tuple
    num_classes: int | None
    is_image: bool
    num_examples: int | None = None
    num_levels: int | None = None
    source_shape: tuple | None = None
    target_shape: tuple | None = None
    task: str | None = None

    def to_dict(self) -> dict:
        """JSON-friendly form (shapes as lists, absent ones as None)."""
        d = dataclasses.asdict(self)
        for key in ("data_shape", "source_shape", "target_shape"):
            d[key] = None if d[key] is None else list(d[key])
        return d


@dataclasses.dataclass
class ArrayData:
    """Examples `x` (N, ...) float32 and labels `y` (N,) int32 or None."""

    x: np.ndarray
    y: np.ndarray | None
    info: DataInfo


def check_examples(x: np.ndarray, y: np.ndarray | None, spec: str) -> None:
    """Raises ValueError when `x` is empty or not finite or `y` does not match."""
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
    if x.dtype.kind not in "uif":
        raise ValueError(f"data {spec!r}: expected numeric values, got dtype {x.dtype}")
    if x.shape[0] == 0:
        raise ValueError(f"data {spec!r} is empty: no examples in this split")
    bad = ~np.isfinite(x)
    if bad.any():
        n_bad = int(bad.reshape(len(x), -1).any(axis=1).sum())
        raise ValueError(
            f"data {spec!r} has NaN or infinite values in {n_bad} of {len(x)} examples"
        )
    if y is not None:
        if y.shape != (x.shape[0],):
            raise ValueError(
                f"data {spec!r}: labels must have shape ({x.shape[0]},), got {y.shape}"
            )
        if not np.issubdtype(y.dtype, np.integer):
            if not np.all(np.equal(np.mod(y, 1), 0)):
                raise ValueError(f"data {spec!r}: labels must be integers, got {y.dtype}")
        if y.min() < 0:
            raise ValueError(f"data {spec!r}: labels must be >= 0, found {y.min()}")


def quantisation_levels(x: np.ndarray, value_range=None) -> int | None:
    """Levels of quantised raw images: integer values on (low, high) give high - low + 1 levels
    (uint8: 256); floats in [0, 1] that are multiples of 1/255 give 256; otherwise None."""
    lo, hi = infer_value_range(x) if value_range is None else map(float, value_range)
    values = np.asarray(x, np.float64)
    if np.array_equal(values, np.round(values)) and float(lo).is_integer() and float(hi).is_integer():
        return int(hi - lo) + 1
    if (lo, hi) == (0.0, 1.0) and np.allclose(values * 255.0, np.round(values * 255.0), atol=1e-4):
        return 256
    return None


def from_arrays(x, y, spec: str, value_range=None) -> ArrayData:
    """Turns raw arrays into `ArrayData`.

    Arrays of rank 2 (N, D) are vectors, kept as given. Rank 3 (N, H, W) or
    rank 4 (N, H, W, C) are images, scaled to [-1, 1] from `value_range`
    (inferred when None: see `images_to_model_range`).
    """
    x = np.asarray(x)
    if x.ndim < 2 or x.ndim > 4:
        raise ValueError(
            f"data {spec!r}: expected vectors (N, D) or images (N, H, W[, C]), got shape {x.shape}"
        )
    if x.dtype.kind not in "uif":
        raise ValueError(f"data {spec!r}: expected numeric values, got dtype {x.dtype}")
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
    check_examples(x.astype(np.float64) if x.dtype.kind == "f" else x, y, spec)
    is_image = x.ndim >= 3
    num_levels = None
    if is_image:
        if x.ndim == 3:
            x = x[..., None]
        num_levels = quantisation_levels(x, value_range)
        x = images_to_model_range(x, value_range=value_range, name=spec)
    else:
        x = x.astype(np.float32)
    y = None if y is None else y.astype(np.int32)
    num_classes = None if y is None else int(y.max()) + 1
    info = DataInfo(spec, tuple(int(s) for s in x.shape[1:]), num_classes, is_image, len(x), num_levels)
    return ArrayData(x, y, info)


def read_npz(path: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Reads `x` (and `y` when present) from an `.npz` file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"npz file not found: {path}")
    with np.load(path, allow_pickle=False) as f:
        keys = list(f.keys())
        if "x" not in keys:
            raise ValueError(
                f"npz file {path} has no array 'x' (found keys: {', '.join(keys) or 'none'}); "
                "store examples under 'x' and optional integer labels under 'y'"
            )
        return f["x"], (f["y"] if "y" in keys else None)


def read_npz_pairs(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Reads paired examples `source` and `target` (and labels `y` when present) from an `.npz` file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"npz file not found: {path}")
    with np.load(path, allow_pickle=False) as f:
        keys = list(f.keys())
        missing = [k for k in ("source", "target") if k not in keys]
        if missing:
            raise ValueError(
                f"npz file {path} has no array {' or '.join(repr(k) for k in missing)} (found keys: "
                f"{', '.join(keys) or 'none'}); store paired images under 'source' and 'target' (same N) and "
                "optional integer labels under 'y', or pass a task to make pairs out of images under 'x'"
            )
        return f["source"], f["target"], (f["y"] if "y" in keys else None)


def _read_idx_file(path: str) -> np.ndarray:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtype_code, ndim = data[2], data[3]
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if dtype_code not in dtypes:
        raise ValueError(f"{path}: unknown IDX data type 0x{dtype_code:02x}")
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=dtypes[dtype_code], offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{path}: IDX header says shape {shape} but holds {arr.size} values")
    return arr.reshape(shape)


def _find(directory: str, stem: str) -> str | None:
    for name in (stem, stem + ".gz"):
        for candidate in (name, name.replace("-idx", ".idx")):
            path = os.path.join(directory, candidate)
            if os.path.isfile(path):
                return path
    return None


def read_idx(directory: str, split: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Reads MNIST-format files (`train-images-idx3-ubyte[.gz]`, `t10k-...`).

    `split` "train" reads the train files, "test" the t10k files, "all" both.
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"idx folder not found: {directory}")
    prefixes = {"train": ["train"], "test": ["t10k"], "all": ["train", "t10k"]}[split]
    xs, ys = [], []
    for prefix in prefixes:
        images = _find(directory, f"{prefix}-images-idx3-ubyte")
        if images is None:
            raise FileNotFoundError(
                f"no {prefix}-images-idx3-ubyte[.gz] in {directory} (MNIST file names expected)"
            )
        xs.append(_read_idx_file(images))
        labels = _find(directory, f"{prefix}-labels-idx1-ubyte")
        ys.append(None if labels is None else _read_idx_file(labels))
    y = None if any(v is None for v in ys) else np.concatenate(ys)
    return np.concatenate(xs), y


def _read_image(path: str, image_size=None, channels=None) -> np.ndarray:
    """One image file as uint8 (H, W) for grey or (H, W, 3), resized to `image_size` (H, W) when given."""
    from PIL import Image

    with Image.open(path) as im:
        mode = {1: "L", 3: "RGB"}.get(channels) or ("L" if im.mode in ("L", "1", "I;16") else "RGB")
        im = im.convert(mode)
        if image_size is not None:
            im = im.resize((image_size[1], image_size[0]), Image.BILINEAR)
        return np.asarray(im)


def read_folder(directory: str, image_size=None, channels=None):
    """Reads images from class sub-folders (`dir/<class>/*.png`).

    Images are read with Pillow. Without `image_size`, all images must have the
    same size. Returns `(x uint8 (N, H, W, C), y int (N,), class_names)`.
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"image folder not found: {directory}")
    classes = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
    if not classes:
        raise ValueError(f"image folder {directory} has no class sub-folders (expected dir/<class>/*.png)")
    images, labels, sizes = [], [], {}
    for label, cls in enumerate(classes):
        for fname in sorted(os.listdir(os.path.join(directory, cls))):
            if not fname.lower().endswith(IMAGE_SUFFIXES):
                continue
            path = os.path.join(directory, cls, fname)
            arr = _read_image(path, image_size, channels)
            sizes.setdefault(arr.shape, path)
            images.append(arr if arr.ndim == 3 else arr[..., None])
            labels.append(label)
    if not images:
        raise ValueError(f"image folder {directory} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    if len(sizes) > 1:
        listed = "; ".join(f"{s} e.g. {p}" for s, p in list(sizes.items())[:3])
        raise ValueError(
            f"images in {directory} have mixed sizes ({listed}); pass image_size=(H, W) to resize them"
        )
    channel_counts = {a.shape[-1] for a in images}
    if len(channel_counts) > 1:
        images = [np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a for a in images]
    return np.stack(images), np.asarray(labels), classes


def read_folder_pairs(directory: str, image_size=None):
    """Reads paired images `dir/A/<name>` and `dir/B/<name>`, paired by file name.

    Both sub-folders must hold images of the same file names. Within a side all images must have one
    size (or pass `image_size` (H, W), which resizes both sides); the two sides may differ in size and
    channels. Grey and RGB images on one side are all made RGB.

    Returns:
        `(a uint8 (N, H, W, C), b uint8 (N, H', W', C'), names)` in sorted file-name order.
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"image folder not found: {directory}")
    names = {}
    for side in ("A", "B"):
        folder = os.path.join(directory, side)
        if not os.path.isdir(folder):
            raise ValueError(
                f"paired image folder {directory} has no {side}/ sub-folder "
                "(expected dir/A/<name> and dir/B/<name>, paired by file name)"
            )
        names[side] = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_SUFFIXES))
        if not names[side]:
            raise ValueError(f"image folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    only_a, only_b = sorted(set(names["A"]) - set(names["B"])), sorted(set(names["B"]) - set(names["A"]))
    if only_a or only_b:
        def listed(files):
            return (", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")) or "none"

        raise ValueError(
            f"paired image folders {directory}/A and {directory}/B must hold the same file names: "
            f"only in A: {listed(only_a)}; only in B: {listed(only_b)}"
        )
    sides = []
    for side in ("A", "B"):
        folder = os.path.join(directory, side)
        images, sizes = [], {}
        for fname in names[side]:
            path = os.path.join(folder, fname)
            arr = _read_image(path, image_size)
            sizes.setdefault(arr.shape[:2], path)
            images.append(arr if arr.ndim == 3 else arr[..., None])
        if len(sizes) > 1:
            listed_sizes = "; ".join(f"{h}x{w} e.g. {p}" for (h, w), p in list(sizes.items())[:3])
            raise ValueError(
                f"images in {folder} have mixed sizes ({listed_sizes}); pass image_size=(H, W) to resize them"
            )
        if len({a.shape[-1] for a in images}) > 1:
            images = [np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a for a in images]
        sides.append(np.stack(images))
    return sides[0], sides[1], names["A"]


def split_indices(n: int, split: str, test_fraction: float = 0.15) -> np.ndarray:
    """Indices of a fixed train/test split (the same for every call)."""
    if split == "all":
        return np.arange(n)
    order = np.random.default_rng(20240613).permutation(n)
    n_test = max(1, int(round(n * test_fraction))) if n > 1 else 0
    return np.sort(order[n - n_test :] if split == "test" else order[: n - n_test])


def check_crop(crop, shape=None):
    """(H, W) ints of a central crop, checked against an image shape (H, W, C) when given."""
    if crop is None:
        return None
    h, w = (int(v) for v in crop)
    if h < 1 or w < 1:
        raise ValueError(f"crop must be two positive sizes (H, W), got {tuple(crop)}")
    if shape is not None and (h > shape[0] or w > shape[1]):
        raise ValueError(f"crop {h}x{w} is larger than the images ({shape[0]}x{shape[1]})")
    return h, w


def central_crop(images, crop):
    """The central `crop` (H, W) of images (..., H, W, C) (numpy or tensors; unchanged when None)."""
    if crop is None:
        return images
    h, w = crop
    top, left = (images.shape[-3] - h) // 2, (images.shape[-2] - w) // 2
    return images[..., top:top + h, left:left + w, :]


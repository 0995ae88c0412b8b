"""Image-to-image translation data: paired (source, target) tasks and unpaired domains A and B.

Paired tasks make a source out of every image of an image spec (anything `load_arrays` reads); the
target is the image itself, float32 in [-1, 1] (N, H, W, C):

- "superres" (`factor` 2, 4 or 8): the source is the area-downsampled image (the mean of each
  factor x factor block), (H/f, W/f, C). H and W must divide by the factor.
- "inpaint" (`mask` "box" or "strokes", `mask_fraction`): the source is (H, W, C+1): the image with
  the hole set to 0.0, then the mask as the last channel (1.0 in the hole, 0.0 elsewhere). Example
  i of a split gets the same mask on every call: it is drawn from `np.random.default_rng((seed, i))`
  (see `inpaint_masks`). "box" is one axis-aligned rectangle of about `mask_fraction` of the image;
  "strokes" are thick random line segments added until about `mask_fraction` is covered.
- "edges": the source is an edge map (H, W, 1) in {-1, 1} (1 = edge): a pixel is an edge when the
  Sobel gradient magnitude of the grey image (`tf.image.sobel_edges`) is at least `EDGE_THRESHOLD`
  (a quarter) of the largest magnitude in its image; a flat image has no edges.
- "colorize": the source is the grey image (H, W, 1), `tf.image.rgb_to_grayscale` of the [-1, 1]
  RGB image (weights summing to 1, so it stays in [-1, 1]). The images must be RGB.
- "paired" (or task None): the user's own pairs, as they are: `npz:<path>` with arrays `source` and
  `target` (same N, optional labels `y`) or `folder:<dir>` with `A/<name>` (sources) and
  `B/<name>` (targets) paired by file name.

Unpaired data (`unpaired_arrays`, `unpaired`) are two image sets A and B of the same height and
width, with no correspondence between their examples; B may be a known transform of A's images
(`kerasgen.data.transforms`), which gives each A image its true translation for evaluation.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from kerasgen.data.arrays import DataInfo, check_examples, from_arrays, read_folder_pairs, read_npz_pairs, split_indices
from kerasgen.data.loader import SPLITS, _resize, load_arrays
from kerasgen.data.transforms import KEEPS_LEVELS, get_transform

TASKS = ("superres", "inpaint", "edges", "colorize", "paired")
FACTORS = (2, 4, 8)
MASKS = ("box", "strokes")
EDGE_THRESHOLD = 0.25
MAX_STROKES = 100
CHUNK = 1024  # images per TensorFlow op when making sources


@dataclasses.dataclass
class PairData:
    """Paired examples: `source` float32 (N, ...) and `target` float32 (N, H, W, C), both in [-1, 1]
    (an inpainting source's mask channel is in {0, 1}), labels `y` int32 (N,) or None."""

    source: np.ndarray
    target: np.ndarray
    y: np.ndarray | None
    info: DataInfo


@dataclasses.dataclass
class UnpairedData:
    """Two unpaired image domains: `a` float32 (N_a, H, W, C) and `b` float32 (N_b, H, W, C'), in
    [-1, 1]; `b_true` float32 (N_a, H, W, C'), the known transform of each `a` (None without one);
    labels `y_a` (N_a,) and `y_b` (N_b,) int32 or None."""

    a: np.ndarray
    b: np.ndarray
    b_true: np.ndarray | None
    y_a: np.ndarray | None
    y_b: np.ndarray | None
    info: DataInfo


def _in_chunks(fn, x: np.ndarray) -> np.ndarray:
    """`fn` (a TensorFlow op on a batch) over `x` in chunks of `CHUNK` images, as float32 numpy."""
    parts = [np.asarray(fn(tf.constant(x[i:i + CHUNK]))) for i in range(0, len(x), CHUNK)]
    return np.concatenate(parts).astype(np.float32)


def downsample(x: np.ndarray, factor: int) -> np.ndarray:
    """Area downsampling (the mean of each `factor` x `factor` block): (N, H, W, C) -> (N, H/f, W/f, C)."""
    if factor not in FACTORS:
        raise ValueError(f"superres factor must be one of {', '.join(map(str, FACTORS))}, got {factor!r}")
    h, w = x.shape[1:3]
    if h % factor or w % factor:
        suggest = (-(-h // factor) * factor, -(-w // factor) * factor)
        raise ValueError(
            f"superres factor {factor} must divide the image size {h}x{w}; pass image_size=(H, W) with "
            f"sides divisible by {factor}, e.g. image_size={suggest}"
        )
    size = (h // factor, w // factor)
    return _in_chunks(lambda t: tf.image.resize(t, size, method="area"), x)


def _segment_distance(yy, xx, y0, x0, y1, x1):
    """Distance of each pixel centre (yy, xx) to the segment (y0, x0)-(y1, x1)."""
    dy, dx = y1 - y0, x1 - x0
    length2 = dy * dy + dx * dx
    t = 0.0 if length2 == 0 else np.clip(((yy - y0) * dy + (xx - x0) * dx) / length2, 0.0, 1.0)
    return np.hypot(yy - y0 - t * dy, xx - x0 - t * dx)


def _box_mask(rng, h: int, w: int, fraction: float) -> np.ndarray:
    area = fraction * h * w
    aspect = np.exp(rng.uniform(np.log(0.5), np.log(2.0)))
    bh = int(np.clip(round(np.sqrt(area * aspect)), 1, h))
    bw = int(np.clip(round(area / bh), 1, w))
    top, left = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    m = np.zeros((h, w), bool)
    m[top:top + bh, left:left + bw] = True
    return m


def _strokes_mask(rng, h: int, w: int, fraction: float) -> np.ndarray:
    """Line segments of half-width max(0.75, min(H, W) / 16) pixels and length 25-60% of the longer
    side; a stroke that would overshoot the fraction by more than 10% is shortened (down to a dab)."""
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    radius, target = max(0.75, min(h, w) / 16), fraction * h * w
    m = np.zeros((h, w), bool)
    for _ in range(MAX_STROKES):
        if m.sum() >= target:
            break
        y0, x0 = rng.uniform(0, h), rng.uniform(0, w)
        angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(0.25, 0.6) * max(h, w)
        for shrink in (1.0, 0.5, 0.25, 0.125, 0.0):
            y1, x1 = y0 + shrink * length * np.sin(angle), x0 + shrink * length * np.cos(angle)
            grown = m | (_segment_distance(yy, xx, y0, x0, y1, x1) <= radius)
            if grown.sum() <= 1.1 * target:
                break
        m = grown
    return m


def inpaint_masks(count: int, height: int, width: int, seed: int = 0, mask: str = "box",
                  fraction: float = 0.25, start: int = 0) -> np.ndarray:
    """Inpainting masks, float32 (count, H, W, 1): 1.0 in the hole, 0.0 elsewhere.

    Example `i` (counted from `start`) gets its mask from `np.random.default_rng((seed, start + i))`
    alone, so the same example gets the same mask on every call and the masks differ between seeds.
    "box": one axis-aligned rectangle of about `fraction` of the pixels, aspect ratio in [1/2, 2];
    "strokes": random thick line segments until about `fraction` is covered.
    """
    if mask not in MASKS:
        raise ValueError(f"unknown inpainting mask {mask!r}; use one of {', '.join(MASKS)}")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"mask_fraction must lie in (0, 1), got {fraction}")
    if seed < 0:
        raise ValueError(f"the mask seed must be >= 0, got {seed}")
    draw = _box_mask if mask == "box" else _strokes_mask
    masks = [draw(np.random.default_rng((seed, start + i)), height, width, fraction) for i in range(count)]
    return np.stack(masks).astype(np.float32)[..., None]


def edge_map(x: np.ndarray) -> np.ndarray:
    """Edges of images (N, H, W, 1 or 3) in [-1, 1] as (N, H, W, 1) in {-1, 1} (1 = edge): Sobel
    magnitude of the grey image >= `EDGE_THRESHOLD` times its image's largest magnitude (and > 0)."""
    if x.shape[-1] not in (1, 3):
        raise ValueError(f"edges need grey (C=1) or RGB (C=3) images, got {x.shape[-1]} channels")

    def edges(t):
        grey = tf.image.rgb_to_grayscale(t) if t.shape[-1] == 3 else t
        magnitude = tf.norm(tf.image.sobel_edges(grey), axis=-1)  # (N, H, W, 1)
        peak = tf.reduce_max(magnitude, axis=[1, 2, 3], keepdims=True)
        edge = (magnitude >= EDGE_THRESHOLD * peak) & (peak > 0)
        return tf.where(edge, 1.0, -1.0)

    return _in_chunks(edges, x)


def grey(x: np.ndarray) -> np.ndarray:
    """`tf.image.rgb_to_grayscale` of RGB images (N, H, W, 3) in [-1, 1]: (N, H, W, 1) in [-1, 1]."""
    if x.shape[-1] != 3:
        raise ValueError(f"colorize needs RGB images (C=3), got {x.shape[-1]} channel(s)")
    return np.clip(_in_chunks(tf.image.rgb_to_grayscale, x), -1.0, 1.0)


def make_source(task: str, images: np.ndarray, seed: int = 0, factor: int = 2, mask: str = "box",
                mask_fraction: float = 0.25) -> np.ndarray:
    """The source of a paired `task` for images (N, H, W, C) in [-1, 1] (see the module docstring)."""
    if task == "superres":
        return downsample(images, factor)
    if task == "inpaint":
        masks = inpaint_masks(len(images), images.shape[1], images.shape[2], seed, mask, mask_fraction)
        return np.concatenate([images * (1.0 - masks), masks], axis=-1).astype(np.float32)
    if task == "edges":
        return edge_map(images)
    if task == "colorize":
        return grey(images)
    raise ValueError(f"unknown translation task {task!r}; use one of {', '.join(TASKS)}")


def _user_pairs(spec: str, split: str, image_size):
    """(source ArrayData, target ArrayData) of the user's own pairs in `spec`."""
    kind, _, arg = spec.partition(":")
    if kind == "npz" and arg:
        source, target, y = read_npz_pairs(arg)
    elif kind == "folder" and arg:
        source, target, _ = read_folder_pairs(arg, image_size=image_size)
        y = None
    else:
        raise ValueError(
            f"data {spec!r} holds no pairs: give a task ({', '.join(TASKS[:-1])}) to make pairs out of its "
            "images, or store your own pairs as npz:<path> (arrays 'source' and 'target') or folder:<dir> "
            "(sub-folders A/ and B/ with the same file names)"
        )
    if len(source) != len(target):
        raise ValueError(f"data {spec!r}: {len(source)} sources but {len(target)} targets; pairs need the same number")
    for name, images in (("source", source), ("target", target)):
        if images.ndim not in (3, 4):
            raise ValueError(f"data {spec!r}: {name} must be images (N, H, W[, C]), got shape {images.shape}")
        check_examples(np.asarray(images, np.float64) if images.dtype.kind == "f" else images, y, f"{spec} {name}")
    idx = split_indices(len(source), split)
    sides = [from_arrays(images[idx], None if y is None else y[idx], f"{spec} {name}")
             for name, images in (("source", source), ("target", target))]
    if image_size is not None and kind == "npz":
        for side in sides:
            if tuple(image_size) != side.x.shape[1:3]:
                side.x = _resize(side.x, tuple(int(s) for s in image_size))
    return sides


def pair_arrays(spec: str, task: str | None = None, split: str = "train", seed: int = 0, factor: int = 2,
                mask: str = "box", mask_fraction: float = 0.25, image_size=None, limit: int | None = None,
                data_dir: str | None = None, download: bool | None = None) -> PairData:
    """Loads paired translation data into memory as `PairData`.

    Args:
        spec: an image spec that `load_arrays` reads (digits, npz:, idx:, folder:, tfds:), or for
            task None / "paired" the user's own pairs (npz:<path> with 'source' and 'target',
            folder:<dir> with A/ and B/).
        task: "superres", "inpaint", "edges", "colorize", or None / "paired" (see the module docstring).
        split: "train", "test" or "all" (as in `load_arrays`; the user's pairs use the same fixed 85/15 split).
        seed: seed of the inpainting masks (example i of the split gets the mask of (seed, i)).
        factor: superres downsampling factor: 2, 4 or 8.
        mask, mask_fraction: inpainting mask kind ("box" or "strokes") and the fraction it covers.
        image_size: (H, W) to resize the images to first (for the user's pairs: both sides).
        limit: keep the first `limit` examples of the split.
        data_dir, download: as in `load_arrays` (tfds: specs).

    Returns:
        `PairData`: source (N, ...) and target (N, H, W, C) float32 in [-1, 1] (the inpainting
        source: the image with 0.0 in the hole, plus a mask channel in {0, 1}), labels y (N,) int32
        or None (kept for evaluation; `pairs` yields only (source, target)), and a `DataInfo` whose
        data_shape is the target's shape, with source_shape, target_shape and task.

    Raises:
        ValueError: an unknown task, mask or factor; a factor that does not divide the image size;
            colorize on non-RGB images; vectors instead of images; pairs of different counts; empty
            or non-finite data; a paired folder whose A/ and B/ file names differ or hold mixed sizes.
    """
    if task is not None and task not in TASKS:
        raise ValueError(
            f"unknown translation task {task!r}; use one of {', '.join(TASKS)} (or None for your own pairs)"
        )
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    if task in (None, "paired"):
        source_data, target_data = _user_pairs(spec, split, image_size)
        source, target, y = source_data.x[:limit], target_data.x[:limit], target_data.y
        y = None if y is None else y[:limit]
        num_classes, num_levels = target_data.info.num_classes, target_data.info.num_levels
        task = "paired"
    else:
        data = load_arrays(spec, split, seed, image_size, limit=limit, data_dir=data_dir, download=download)
        if not data.info.is_image:
            raise ValueError(f"task {task!r} needs images; data {spec!r} holds vectors of shape {data.info.data_shape}")
        target, y = data.x, data.y
        source = make_source(task, target, seed=seed, factor=factor, mask=mask, mask_fraction=mask_fraction)
        num_classes, num_levels = data.info.num_classes, data.info.num_levels
    source_shape, target_shape = tuple(int(s) for s in source.shape[1:]), tuple(int(s) for s in target.shape[1:])
    info = DataInfo(spec, target_shape, num_classes, True, len(target), num_levels,
                    source_shape=source_shape, target_shape=target_shape, task=task)
    return PairData(source, target, y, info)


def pairs(spec: str, task: str | None = None, batch_size: int = 64, split: str = "train", shuffle: bool = True,
          seed: int = 0, drop_remainder: bool = False, return_info: bool = False, **task_kwargs):
    """Paired translation data as a batched, prefetched `tf.data.Dataset` of (source, target).

    Batches are float32 `(source (B, ...), target (B, H, W, C))`; labels are left out (they are in
    `pair_arrays`). Example: `pairs("digits", "superres", factor=2)` yields ((B, 4, 4, 1), (B, 8, 8, 1)).

    Args:
        spec, task, split, seed: as in `pair_arrays`.
        batch_size: pairs per batch.
        shuffle: reshuffle the pairs every epoch (seeded by `seed`).
        drop_remainder: drop the last incomplete batch.
        return_info: also return the `DataInfo`.
        **task_kwargs: factor, mask, mask_fraction, image_size, limit, data_dir, download (see `pair_arrays`).

    Returns:
        The dataset, or `(dataset, info)` when `return_info`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    data = pair_arrays(spec, task, split=split, seed=seed, **task_kwargs)
    ds = tf.data.Dataset.from_tensor_slices((data.source, data.target))
    if shuffle:
        ds = ds.shuffle(len(data.source), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
    return (ds, data.info) if return_info else ds


def _images(data, spec: str):
    if not data.info.is_image:
        raise ValueError(
            f"unpaired translation needs images; data {spec!r} holds vectors of shape {data.info.data_shape}"
        )
    return data


def unpaired_arrays(spec_a: str, spec_b: str | None = None, transform_b: str | None = None, split: str = "train",
                    seed: int = 0, image_size=None, limit: int | None = None, data_dir: str | None = None,
                    download: bool | None = None) -> UnpairedData:
    """Loads two unpaired image domains A and B into memory as `UnpairedData`.

    With another `spec_b`, A is `spec_a`'s images and B is `spec_b`'s (transformed by `transform_b` when
    given). With `spec_b` None or equal to `spec_a`, a `transform_b` is required and the examples are
    split in two halves by a permutation seeded by `seed`: A holds one half (N // 2 examples) and B
    the transform of the other, so no image appears in both domains. Whenever `transform_b` is given,
    `b_true` = transform(a) is the true translation of each A image, for evaluation.

    Args:
        spec_a, spec_b: image specs (see `load_arrays`); spec_b defaults to spec_a.
        transform_b: a known transform making domain B: "invert", "rotate90" or "tint"
            (see `kerasgen.data.transforms`), or None.
        split, image_size, data_dir, download: as in `load_arrays`, for both specs.
        seed: seed of the split into halves.
        limit: keep the first `limit` examples of each spec's split (before the halves are taken).

    Returns:
        `UnpairedData` (a, b, b_true, y_a, y_b) and a `DataInfo` with task "unpaired", source_shape
        A's shape, target_shape = data_shape B's shape, num_examples min(N_a, N_b) (the pairs of
        one epoch of `unpaired`), num_classes of A's labels.

    Raises:
        ValueError: one spec without a transform; an unknown transform; vectors; A and B of different
            height or width (channels may differ); fewer than two examples to halve.
    """
    transform = None if transform_b is None else get_transform(transform_b)
    same = spec_b is None or spec_b == spec_a
    if same and transform is None:
        raise ValueError(
            f"unpaired data from one spec ({spec_a!r}) needs transform_b, else both domains hold the same "
            "images; give a transform_b (invert, rotate90, tint) or another spec_b"
        )
    loaded = dict(split=split, seed=seed, image_size=image_size, limit=limit, data_dir=data_dir, download=download)
    data_a = _images(load_arrays(spec_a, **loaded), spec_a)
    if same:
        n = len(data_a.x)
        if n < 2:
            raise ValueError(f"data {spec_a!r} holds {n} example(s); two domains from one spec need at least 2")
        order = np.random.default_rng(seed).permutation(n)
        half_a, half_b = np.sort(order[: n // 2]), np.sort(order[n // 2:])
        a, y_a = data_a.x[half_a], None if data_a.y is None else data_a.y[half_a]
        b, y_b = data_a.x[half_b], None if data_a.y is None else data_a.y[half_b]
        info_b, spec_b = data_a.info, spec_a
    else:
        data_b = _images(load_arrays(spec_b, **loaded), spec_b)
        a, y_a, b, y_b, info_b = data_a.x, data_a.y, data_b.x, data_b.y, data_b.info
    b_true = None
    if transform is not None:
        b, b_true = transform(b), transform(a)
    if a.shape[1:3] != b.shape[1:3]:
        described = spec_b if transform_b is None else f"{transform_b}({spec_b})"
        raise ValueError(
            f"domains A and B must have the same image height and width: A ({spec_a}) is {a.shape[1]}x{a.shape[2]}, "
            f"B ({described}) is {b.shape[1]}x{b.shape[2]}; pass image_size=(H, W)"
        )
    num_levels = info_b.num_levels if transform_b is None or transform_b in KEEPS_LEVELS else None
    spec = f"{spec_a} -> {spec_b}" if transform_b is None else f"{spec_a} -> {transform_b}({spec_b})"
    info = DataInfo(spec, tuple(int(s) for s in b.shape[1:]), data_a.info.num_classes, True, min(len(a), len(b)),
                    num_levels, source_shape=tuple(int(s) for s in a.shape[1:]),
                    target_shape=tuple(int(s) for s in b.shape[1:]), task="unpaired")
    return UnpairedData(a, b, b_true, y_a, y_b, info)


def unpaired(spec_a: str, spec_b: str | None = None, transform_b: str | None = None, batch_size: int = 64,
             split: str = "train", shuffle: bool = True, seed: int = 0, drop_remainder: bool = False,
             return_info: bool = False, image_size=None, limit: int | None = None, data_dir: str | None = None,
             download: bool | None = None):
    """Unpaired translation data as a batched, prefetched `tf.data.Dataset` of (a, b).

    Batches are float32 `(a (B, H, W, C), b (B, H, W, C'))`. With `shuffle`, A and B are shuffled
    independently (different permutations, reshuffled every epoch), so a and b of a batch are not
    pairs. An epoch holds min(N_a, N_b) pairs: the larger domain contributes a different random
    subset each epoch (its first min(N_a, N_b) examples without `shuffle`).

    Args:
        spec_a, spec_b, transform_b, split, seed, image_size, limit, data_dir, download: as in
            `unpaired_arrays` (`seed` also seeds the two shuffles).
        batch_size: pairs per batch.
        shuffle: reshuffle both domains every epoch.
        drop_remainder: drop the last incomplete batch.
        return_info: also return the `DataInfo`.

    Returns:
        The dataset, or `(dataset, info)` when `return_info`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    data = unpaired_arrays(spec_a, spec_b, transform_b, split=split, seed=seed, image_size=image_size, limit=limit,
                           data_dir=data_dir, download=download)
    domains = []
    for offset, images in enumerate((data.a, data.b)):
        ds = tf.data.Dataset.from_tensor_slices(images)
        if shuffle:
            ds = ds.shuffle(len(images), seed=seed * 2 + offset, reshuffle_each_iteration=True)
        domains.append(ds)
    ds = tf.data.Dataset.zip(tuple(domains)).batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
    return (ds, data.info) if return_info else ds


__all__ = ["PairData", "UnpairedData", "pair_arrays", "pairs", "unpaired_arrays", "unpaired", "inpaint_masks",
           "TASKS"]

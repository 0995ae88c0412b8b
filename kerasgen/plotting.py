"""Pictures with Pillow only: image grids, 2-D scatter plots and 2-D density maps."""

from __future__ import annotations

import math
import os

import numpy as np
from PIL import Image

from kerasgen.data.scaling import to_display


def image_grid(images, columns: int | None = None, scale: int = 1, pad: int = 1) -> Image.Image:
    """A grid of images in [-1, 1], shape (N, H, W, C) with C in (1, 3)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"expected images (N, H, W, 1 or 3), got shape {images.shape}")
    n, h, w, c = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    pixels = to_display(images)
    canvas = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, c), 255, np.uint8)
    for i in range(n):
        r, col = divmod(i, columns)
        canvas[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + col * (w + pad) : pad + col * (w + pad) + w] = pixels[i]
    img = Image.fromarray(canvas[..., 0] if c == 1 else canvas)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    return img


def bounds_of(points, margin: float = 0.1):
    """((x0, y0), (x1, y1)) around the central 99% of 2-D points, widened by `margin` of the span."""
    points = np.asarray(points, np.float64)
    lo, hi = np.percentile(points, 0.5, axis=0), np.percentile(points, 99.5, axis=0)
    pad = margin * np.maximum(hi - lo, 1e-6)
    return tuple(lo - pad), tuple(hi + pad)


def scatter_2d(points, size: int = 400, bounds=None) -> Image.Image:
    """A 2-D scatter plot of points (N, 2) as a greyscale density image."""
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"expected points (N, 2), got shape {points.shape}")
    lo, hi = (np.asarray(b, float) for b in (bounds or bounds_of(points)))
    hist, _, _ = np.histogram2d(points[:, 1], points[:, 0], bins=size, range=[[lo[1], hi[1]], [lo[0], hi[0]]])
    hist = np.log1p(hist[::-1])
    img = 255 - (255 * hist / max(hist.max(), 1e-12)).astype(np.uint8)
    return Image.fromarray(img)


def density_grid(log_prob, bounds, size: int = 200):
    """Evaluates a 2-D log-density on a size x size grid over bounds ((x0, y0), (x1, y1)).

    Returns:
        (density (size, size) with rows from y0 to y1, cell area); density.sum() * area
        approximates the mass inside the bounds.
    """
    (x0, y0), (x1, y1) = bounds
    xs, ys = np.linspace(x0, x1, size), np.linspace(y0, y1, size)
    gx, gy = np.meshgrid(xs, ys)
    points = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    density = np.exp(np.asarray(log_prob(points), np.float64)).reshape(size, size)
    return density, (xs[1] - xs[0]) * (ys[1] - ys[0])


def density_image(log_prob, bounds, size: int = 400) -> Image.Image:
    """A greyscale picture of a 2-D density (dark = dense), e.g. `density_image(flow.log_prob, b)`."""
    density, _ = density_grid(log_prob, bounds, size)
    img = 255 - (255 * density[::-1] / max(density.max(), 1e-300)).astype(np.uint8)
    return Image.fromarray(img)


def save_image(img: Image.Image, path: str) -> str:
    """Writes a PIL image atomically (a temporary file renamed into place)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp.png"
    img.save(tmp)
    os.replace(tmp, path)
    return path


def drawable(data_shape) -> bool:
    """Whether samples of this per-example shape can be drawn: images (H, W, 1 or 3) or 2-D points (2,)."""
    data_shape = tuple(data_shape)
    return (len(data_shape) == 3 and data_shape[-1] in (1, 3)) or data_shape == (2,)


def samples_image(samples, scale: int = 4) -> Image.Image:
    """A picture of samples: an image grid (`image_grid`, drawn `scale` times larger) for images
    (N, H, W, C) in [-1, 1], a 400 x 400 scatter (`scatter_2d`) for 2-D points (N, 2).

    Raises:
        ValueError: samples of another shape.
    """
    samples = np.asarray(samples)
    if samples.ndim == 4:
        return image_grid(samples, scale=scale)
    if samples.ndim == 2 and samples.shape[1] == 2:
        return scatter_2d(samples)
    raise ValueError(f"cannot draw samples of shape {samples.shape} (need images or 2-D points)")


def save_samples(samples, path: str, scale: int = 4) -> str:
    """Writes samples as a PNG: an image grid for images, a scatter for 2-D points (`samples_image`)."""
    save_image(samples_image(samples, scale), path)
    return path


def displayable_like(images, shape) -> np.ndarray:
    """Images (N, h, w, c) in [-1, 1] as (N, *shape) for drawing beside images of `shape` (H, W, 1 or 3):
    enlarged by pixel repetition (a smaller source), channels past the first 3 dropped (an inpainting
    mask), grey repeated to RGB or RGB averaged to grey."""
    x = np.asarray(images, np.float32)
    h, w, c = shape
    if x.shape[-1] not in (1, 3):
        x = x[..., :3] if x.shape[-1] > 3 else x[..., :1]
    if x.shape[-1] != c:
        x = np.repeat(x, 3, axis=-1) if c == 3 else x.mean(axis=-1, keepdims=True)
    if x.shape[1:3] != (h, w):
        if h % x.shape[1] or w % x.shape[2]:
            raise ValueError(f"cannot draw images of shape {x.shape[1:]} beside {tuple(shape)}")
        x = np.repeat(np.repeat(x, h // x.shape[1], axis=1), w // x.shape[2], axis=2)
    return x


def translation_image(sources, outputs, targets=None, per_row: int = 4, scale: int = 4) -> Image.Image:
    """A grid of (source, output[, target]) triples, `per_row` triples per row; sources are drawn at the
    outputs' size (`displayable_like`). All in [-1, 1]."""
    outputs = np.asarray(outputs, np.float32)
    shape = outputs.shape[1:]
    columns = [displayable_like(sources, shape), outputs] + ([] if targets is None else [np.asarray(targets)])
    tiles = np.stack(columns, axis=1).reshape(-1, *shape)
    return image_grid(tiles, columns=per_row * len(columns), scale=scale)

"""`SampleGrid`: writes a PNG of fixed-seed samples during training; `SamplePictures`, the
mechanism it shares with `TensorBoardSamples` (what to draw, when, and when not)."""

from __future__ import annotations

import os

import keras
import numpy as np

from kerasgen.plotting import drawable, samples_image, save_image


def default_sample_count(data_shape) -> int:
    """Samples per picture unless told: 64 images (an 8 x 8 grid), 2,000 points for 2-D data (a
    scatter needs many)."""
    return 64 if len(tuple(data_shape)) == 3 else 2000


class SamplePictures(keras.callbacks.Callback):
    """Base of the callbacks that draw `n` samples with a fixed seed every `every` epochs and
    hand the picture to `write_picture(image, epoch)`.

    The samples are `model.sample(n, seed=seed)` (a conditional model cycles its classes 0, 1, ...),
    so successive pictures show how one set of noise draws evolves. Images are drawn as a grid
    (`plotting.image_grid`, `scale` times larger), 2-D points as a 400 x 400 scatter
    (`plotting.scatter_2d`); other data (vectors of another size) give no pictures. Nothing is drawn
    for an epoch whose samples hold NaN or infinity (a diverged model).

    Translation models draw no samples: given `sources` (and `targets`), the picture is a grid of
    (source, translation[, target]) triples of those fixed images instead (`plotting.translation_image`).

    Args:
        every: epochs between pictures (>= 1); pictures follow epochs every, 2 * every, ...
        n: samples (images) or points (2-D data); None: `default_sample_count` (64 or 2,000).
        seed: noise seed.
        scale: pixel size of image grids.
        sources, targets: fixed source images (N, ...) [and their targets] of a translation model.
    """

    def __init__(self, every: int = 1, n: int | None = None, seed: int = 0, scale: int = 4, sources=None,
                 targets=None):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if n is not None and n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.every, self.n, self.seed, self.scale = every, n, seed, scale
        self.sources = None if sources is None else np.asarray(sources, np.float32)[: n or 16]
        self.targets = None if targets is None else np.asarray(targets, np.float32)[: n or 16]

    def picture(self):
        """The PIL picture of the model's fixed-seed samples now, or None (data that cannot be
        drawn, or samples that are not finite)."""
        if self.sources is not None:
            from kerasgen.plotting import translation_image

            outputs = self.model.translate(self.sources)
            if not np.isfinite(outputs).all() or not drawable(outputs.shape[1:]):
                return None
            return translation_image(self.sources, outputs, self.targets, scale=self.scale)
        shape = tuple(self.model.data_shape)
        if not drawable(shape):
            return None
        samples = self.model.sample(self.n or default_sample_count(shape), seed=self.seed)
        if not np.isfinite(samples).all():
            return None  # a diverged model (StopOnNonFinite ends the run): no picture of NaNs
        return samples_image(samples, self.scale)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        image = self.picture()
        if image is not None:
            self.write_picture(image, epoch)

    def write_picture(self, image, epoch: int) -> None:  # pragma: no cover - abstract
        """Stores the picture taken after epoch index `epoch` (0-based, as Keras counts)."""
        raise NotImplementedError


class SampleGrid(SamplePictures):
    """Saves `out_dir/samples_epoch_XXXX.png` (XXXX: the epochs done, from 0001) every `every` epochs.

    See `SamplePictures` for what is drawn: an image grid, or a scatter for 2-D data.

    Args:
        out_dir: folder for the PNG files (created when missing).
        every: epochs between grids.
        n: number of samples (images) or points (2-D data); None: 64 images or 2,000 points.
        seed: noise seed.
        scale: pixel size of image grids.
        sources, targets: for translation models, the fixed images to translate (see `SamplePictures`).
    """

    def __init__(self, out_dir, every: int = 1, n: int | None = None, seed: int = 0, scale: int = 4, sources=None,
                 targets=None):
        super().__init__(every=every, n=n, seed=seed, scale=scale, sources=sources, targets=targets)
        self.out_dir = out_dir
        self.written: list[str] = []

    def write_picture(self, image, epoch: int) -> None:
        path = os.path.join(self.out_dir, f"samples_epoch_{epoch + 1:04d}.png")
        self.written.append(save_image(image, path))

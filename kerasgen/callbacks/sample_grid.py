"""`SampleGrid`: writes a PNG of fixed-seed samples during training."""

from __future__ import annotations

import os

import keras
import numpy as np

from kerasgen.plotting import save_samples


class SampleGrid(keras.callbacks.Callback):
    """Saves `out_dir/samples_epoch_XXXX.png` every `every` epochs.

    Nothing is written for an epoch whose samples hold NaN or infinity (a diverged model).
    The samples use the same seed every time, so the grids show how one set of
    noise vectors evolves. Images are drawn as a grid; 2-D data as a scatter.

    Args:
        out_dir: folder for the PNG files (created when missing).
        every: epochs between grids.
        n: number of samples (images) or points (2-D data; at least 1,000 is useful).
        seed: noise seed.
    """

    def __init__(self, out_dir, every: int = 1, n: int = 64, seed: int = 0):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.out_dir, self.every, self.n, self.seed = out_dir, every, n, seed
        self.written: list[str] = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        samples = self.model.sample(self.n, seed=self.seed)
        if not np.isfinite(samples).all():
            return  # a diverged model (StopOnNonFinite ends the run): no grid of NaNs
        path = os.path.join(self.out_dir, f"samples_epoch_{epoch + 1:04d}.png")
        self.written.append(save_samples(samples, path))

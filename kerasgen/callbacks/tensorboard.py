"""`TensorBoardSamples`: sample pictures and the run's configuration in TensorBoard, beside Keras'
own `keras.callbacks.TensorBoard` (which writes the epoch scalars: losses, and FID/KID when
`SampleQuality` runs before it).

    >>> callbacks = [kg.callbacks.SampleQuality(real, "digits", every=5),  # adds fid/kid to the logs
    ...              *kg.callbacks.tensorboard_callbacks("logs", every=5, config={"preset": "dcgan"})]
    >>> model.fit(ds, epochs=50, callbacks=callbacks)
    $ tensorboard --logdir logs
"""

from __future__ import annotations

import importlib.util
import json
import os

import numpy as np

from kerasgen.callbacks.sample_grid import SamplePictures

CONFIG_TAG = "config"
SAMPLES_TAG = "samples"


def tensorboard_available() -> bool:
    """Whether the `tensorboard` package (which provides `tf.summary.scalar`, `image` and `text`) is installed."""
    return importlib.util.find_spec("tensorboard") is not None


def config_markdown(config: dict) -> str:
    """The configuration as a two-column Markdown table (key, value); values that are not strings are
    written as compact JSON, pipes escaped so that a value stays in its cell.

    Example:
        >>> print(config_markdown({"preset": "gan", "seed": 0}))
        | key | value |
        | --- | --- |
        | `preset` | `gan` |
        | `seed` | `0` |
    """
    def cell(value) -> str:
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
        return "`" + " ".join(text.split()).replace("`", "'").replace("|", "\\|") + "`"

    rows = ["| key | value |", "| --- | --- |"]
    rows += [f"| {cell(str(key))} | {cell(value)} |" for key, value in config.items()]
    return "\n".join(rows)


class TensorBoardSamples(SamplePictures):
    """Writes, with `tf.summary`, into `log_dir/train` (the folder Keras' TensorBoard callback writes
    the training scalars to, so TensorBoard shows them as one run):

    - `samples`: a picture of `n` fixed-seed samples every `every` epochs (an image grid for image
      data, a scatter for 2-D data, nothing for other vectors; see `SamplePictures`), one PNG per
      picture, at step = the epoch index as Keras' TensorBoard counts it (0-based), so it lines up
      with the `epoch_*` scalars;
    - `config`: `config` as a Markdown table (`config_markdown`), once, at the step of the first
      epoch this callback sees (0 for a new run).

    Args:
        log_dir: the TensorBoard log folder (`tensorboard --logdir log_dir`).
        every: epochs between pictures (>= 1).
        n: samples per picture; None: 64 images or 2,000 points.
        seed: noise seed (the same every time).
        config: a JSON-ready dict describing the run (e.g. `run.json`), or None for no text.
        scale: pixel size of image grids.
        sources, targets: for translation models, the fixed images to translate (see `SamplePictures`).

    Raises:
        ImportError: the tensorboard package is not installed.
    """

    def __init__(self, log_dir, every: int = 1, n: int | None = None, seed: int = 0, config: dict | None = None,
                 scale: int = 4, sources=None, targets=None):
        super().__init__(every=every, n=n, seed=seed, scale=scale, sources=sources, targets=targets)
        if not tensorboard_available():
            raise ImportError("TensorBoard summaries need the tensorboard package: pip install tensorboard")
        self.log_dir = os.fspath(log_dir)
        self.config = config
        self.written_steps: list[int] = []  # steps of the pictures written
        self._writer = None
        self._config_written = False

    def _summary_writer(self):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "train"))
        return self._writer

    def on_epoch_begin(self, epoch, logs=None):
        if self.config is None or self._config_written:
            return
        import tensorflow as tf

        with self._summary_writer().as_default():
            tf.summary.text(CONFIG_TAG, config_markdown(self.config), step=epoch)
        self._writer.flush()
        self._config_written = True

    def write_picture(self, image, epoch: int) -> None:
        import tensorflow as tf

        pixels = np.asarray(image.convert("RGB") if image.mode not in ("L", "RGB") else image, np.uint8)
        if pixels.ndim == 2:
            pixels = pixels[..., None]
        with self._summary_writer().as_default():
            tf.summary.image(SAMPLES_TAG, pixels[None], step=epoch, max_outputs=1)
        self._writer.flush()
        self.written_steps.append(epoch)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def tensorboard_callbacks(log_dir, every: int = 1, config: dict | None = None, n: int | None = None,
                          seed: int = 0, sources=None, targets=None) -> list:
    """[Keras' `TensorBoard` (epoch scalars only: no graph, no profiling), `TensorBoardSamples`] for
    `log_dir`; put them after callbacks that add to the logs (`SampleQuality`).

    Raises:
        ImportError: the tensorboard package is not installed.
    """
    import keras

    pictures = TensorBoardSamples(log_dir, every=every, n=n, seed=seed, config=config, sources=sources,
                                  targets=targets)
    scalars = keras.callbacks.TensorBoard(os.fspath(log_dir), update_freq="epoch", write_graph=False,
                                          profile_batch=0)
    return [scalars, pictures]

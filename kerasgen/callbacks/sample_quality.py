"""`SampleQuality`: logs FID and/or KID of fixed-seed samples against a reference set during training."""

from __future__ import annotations

import keras
import numpy as np

from kerasgen.metrics import distances
from kerasgen.metrics.features import embed, get_extractor

QUALITY_METRICS = ("fid", "kid")


class SampleQuality(keras.callbacks.Callback):
    """Every `every` epochs, draws `n` samples (same seed each time) and adds their FID and/or KID
    against `real` to the epoch's logs, so they appear in `History`, the progress bar, CSVLogger
    and TensorBoard. Epochs in between log nothing for these keys.

    The reference features (and FID statistics) are computed once, at the start of training.

    Args:
        real: (N, ...) reference examples in the data range (e.g. held-out data), or None when
            `reference` is given for FID only.
        features: extractor name ("digits", "inception"), callable, or None for the raw values.
        every: epochs between evaluations (>= 1).
        n: samples drawn per evaluation.
        metrics: any of "fid", "kid".
        seed: sampling seed.
        clip: (low, high) to clip samples to before extraction; by default the extractor's
            `value_range` (image extractors reject values outside it), else no clipping.
        reference: cached (mean, cov) reference statistics for FID (see `reference_statistics`).
        kid_subsets: subsets for KID; each of min(1000, n // 2) examples.
    """

    def __init__(self, real=None, features=None, every: int = 5, n: int = 1000, metrics=QUALITY_METRICS,
                 seed: int = 0, clip=None, reference=None, kid_subsets: int = 10):
        super().__init__()
        metrics = tuple(metrics)
        unknown = set(metrics) - set(QUALITY_METRICS)
        if not metrics or unknown:
            raise ValueError(f"metrics must be a non-empty subset of {QUALITY_METRICS}, got {metrics}")
        if every < 1 or n < 4:
            raise ValueError(f"every must be >= 1 and n >= 4, got every={every}, n={n}")
        if real is None and ("kid" in metrics or reference is None):
            raise ValueError("pass the reference examples `real` (KID needs them; FID needs them or `reference`)")
        self.real, self.reference = real, reference
        self.extractor = get_extractor(features)
        self.every, self.n, self.metrics_to_log, self.seed, self.kid_subsets = every, n, metrics, seed, kid_subsets
        self.clip = clip if clip is not None else getattr(self.extractor, "value_range", None)
        self.real_features = None
        self.values: dict[int, dict] = {}  # epoch (1-based) -> {metric: value}

    @classmethod
    def on_held_out(cls, spec: str, metrics=QUALITY_METRICS, split: str = "test", seed: int = 0, image_size=None,
                    n_samples: int | None = None, features="auto", limit: int | None = 10000, crop=None,
                    data_dir: str | None = None, download: bool | None = None, **kwargs):
        """A `SampleQuality` against the held-out split of data spec `spec`, in the feature space
        `kerasgen evaluate` uses by default (`metrics.report.default_features`: the digit classifier
        for grey-scale images, Inception for RGB, the raw values for vectors).

        Args:
            spec: a data spec (`kerasgen.data.load_arrays`).
            metrics: any of "fid", "kid", as a sequence or a comma-separated string.
            split, seed, image_size, n_samples, crop, data_dir, download: as for `load_arrays` (use the
                training run's own).
            features: "auto" or any `features` of the constructor.
            limit: the reference holds at most this many examples (the first ones), or None for all.
            **kwargs: `every`, `n`, `clip`, `kid_subsets` of the constructor.
        """
        from kerasgen import data
        from kerasgen.metrics.report import default_features

        if isinstance(metrics, str):
            metrics = [m.strip().lower() for m in metrics.split(",") if m.strip()]
        arrays = data.load_arrays(spec, split=split, seed=seed, image_size=image_size, n_samples=n_samples,
                                  crop=crop, limit=limit, data_dir=data_dir, download=download)
        if features == "auto":
            features = default_features(arrays.info.data_shape, arrays.info.is_image)
        return cls(arrays.x[:limit], features=features, metrics=metrics, seed=seed, **kwargs)

    def on_train_begin(self, logs=None):
        if self.real is not None and self.real_features is None:
            self.real_features = embed(self.real, self.extractor)
        if "fid" in self.metrics_to_log and self.reference is None:
            self.reference = (self.real_features.mean(0), np.cov(self.real_features, rowvar=False))

    def evaluate(self) -> dict:
        """FID/KID of `n` fresh samples of the model now."""
        samples = np.asarray(self.model.sample(self.n, seed=self.seed))
        if self.clip is not None:
            samples = np.clip(samples, *self.clip)
        fake = embed(samples, self.extractor)
        out = {}
        if "fid" in self.metrics_to_log:
            out["fid"] = distances.frechet_distance(*self.reference, fake.mean(0), np.cov(fake, rowvar=False))
        if "kid" in self.metrics_to_log:
            size = min(1000, self.n // 2, len(self.real_features) // 2)
            out["kid"] = distances.kid(self.real_features, fake, subsets=self.kid_subsets, subset_size=size,
                                       seed=self.seed).mean
        return out

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        values = self.evaluate()
        self.values[epoch + 1] = values
        if logs is not None:
            logs.update(values)

"""Feature extractors for sample-quality metrics, and `embed`, which turns examples into features.

An extractor maps a batch of images to (N, F) feature vectors (`__call__`) and, when it has a
classifier head, to (N, K) class probabilities (`probabilities`, used by the Inception score).
Both checks the images first: 4-D (N, H, W, C), the channels it accepts, finite, and within
`value_range` (default (-1, 1), the range kerasgen's image data and samples use).

Resizing: `tf.image.resize` to the extractor's input size, with the method the extractor names
(`area` for the digit classifier, the analogue of how the 8x8 digits were made from 32x32 bitmaps
by counting pixels in 4x4 blocks; `bilinear` for Keras' Inception), after scaling the values to
[0, 1]. The FID Inception graph resizes inside itself, as the original code did (`inception_fid`).

Extractors:
- `DigitFeatures`: a small CNN classifier of grey-scale digits, trained by
  `python -m kerasgen.metrics.digit_classifier` on scikit-learn's 8x8 digits; its weights ship in
  the package, so digit FID/KID/IS are reproducible offline. Features: the 64 units before the
  classifier layer.
- `InceptionFeatures` ("inception"): Keras' Inception-v3 (2048 pool features; probabilities over the
  1,000 ImageNet classes with the full weights), from Keras' weight cache, downloaded there on first
  use unless downloads are off, checked against Keras' published md5. Keras' Inception-v3 weights
  are not the network of the reference FID code: its FID compares kerasgen runs with each other.
- `InceptionFIDFeatures` ("inception-fid", `kerasgen.metrics.inception_fid`): the 2015-12-05
  Inception graph and preprocessing of the original TensorFlow FID code, for FIDs comparable with
  published tables.
"""

from __future__ import annotations

import os

import numpy as np

DEFAULT_VALUE_RANGE = (-1.0, 1.0)
RANGE_TOLERANCE = 1e-3  # relative to the range width: allows float rounding, not unclipped samples


def embed(x, features=None, batch_size: int = 256) -> np.ndarray:
    """Features of the examples `x`, float64 (N, F).

    Args:
        x: (N, ...) examples.
        features: None (the examples themselves, flattened), an extractor name ("digits",
            "inception"), or any callable mapping a batch to (B, F) (a Keras model included).
        batch_size: examples per call of `features`.

    Raises:
        ValueError: on an empty batch or non-finite features.
    """
    x = np.asarray(x)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"expected a non-empty batch of examples (N, ...), got shape {x.shape}")
    extractor = get_extractor(features)
    if extractor is None:
        out = x.reshape(len(x), -1)
    else:
        out = np.concatenate([np.asarray(extractor(x[i:i + batch_size])) for i in range(0, len(x), batch_size)])
        out = out.reshape(len(x), -1)
    out = out.astype(np.float64)
    if not np.isfinite(out).all():
        raise ValueError("the features contain NaN or infinite values")
    return out


def extractor_name(features) -> str:
    """A name that identifies a feature space (stored with cached reference statistics)."""
    if features is None:
        return "identity"
    if isinstance(features, str):
        return features
    return str(getattr(features, "name", type(features).__name__))


def get_extractor(features):
    """An extractor from a name ("digits", "inception", "inception-fid", "identity"/None) or a callable
    (returned as is). Named extractors are built once per process and reused."""
    if features is None or features == "identity":
        return None
    if isinstance(features, str):
        from kerasgen.metrics.inception_fid import InceptionFIDFeatures

        factories = {"digits": DigitFeatures, "inception": InceptionFeatures, "inception-fid": InceptionFIDFeatures}
        if features not in factories:
            raise ValueError(f"unknown feature extractor {features!r}; use one of "
                             f"{', '.join(['identity', *factories])} or pass a callable")
        return _cached(features, factories[features])
    if not callable(features):
        raise TypeError(f"features must be None, a name or a callable, got {type(features).__name__}")
    return features


_EXTRACTORS: dict = {}


def _cached(name, factory):
    if name not in _EXTRACTORS:
        _EXTRACTORS[name] = factory()
    return _EXTRACTORS[name]


class ImageFeatureExtractor:
    """Base of the image extractors: checks, scales and resizes images, then runs `self.network`.

    Subclasses set `name`, `image_size` (H, W), `channels` (accepted input channel counts),
    `resize_method` and build `self.feature_model` ((B, H, W, C) in the network's range -> (B, F))
    and optionally `self.classifier_model` (-> (B, K) probabilities).
    """

    name = "image"
    image_size: tuple = (0, 0)
    channels: tuple = (1, 3)
    resize_method = "bilinear"
    network_channels = 3

    def __init__(self, value_range=DEFAULT_VALUE_RANGE):
        lo, hi = (float(v) for v in value_range)
        if not hi > lo:
            raise ValueError(f"value_range must be (low, high) with low < high, got {value_range}")
        self.value_range = (lo, hi)
        self.feature_model = None
        self.classifier_model = None

    def check(self, images) -> np.ndarray:
        """`images` as float32 (N, H, W, C) after checking shape, channels, values and range.

        Raises:
            ValueError: naming the first problem found.
        """
        x = np.asarray(images)
        if x.ndim != 4 or x.shape[-1] not in self.channels:
            raise ValueError(f"{self.name} features need images of shape (N, H, W, C) with C in {self.channels}, "
                             f"got shape {x.shape}")
        if len(x) == 0:
            raise ValueError("no images given")
        if x.dtype.kind not in "fiu":
            raise ValueError(f"images must be numeric, got dtype {x.dtype}")
        x = x.astype(np.float32)
        if not np.isfinite(x).all():
            raise ValueError("images contain NaN or infinite values")
        lo, hi = self.value_range
        slack = RANGE_TOLERANCE * (hi - lo)
        if x.min() < lo - slack or x.max() > hi + slack:
            raise ValueError(f"image values in [{x.min():g}, {x.max():g}] fall outside value_range ({lo:g}, {hi:g}); "
                             "clip samples to the data range or pass value_range")
        return x

    def prepare(self, images) -> np.ndarray:
        """Checked images scaled to [0, 1] and resized to `image_size`, float32 (N, H, W, network channels)."""
        import tensorflow as tf

        x = self.check(images)
        lo, hi = self.value_range
        x = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
        if x.shape[1:3] != tuple(self.image_size):
            x = tf.image.resize(x, self.image_size, method=self.resize_method).numpy()
        if x.shape[-1] != self.network_channels:
            x = np.repeat(x, self.network_channels, axis=-1) if x.shape[-1] == 1 else x.mean(-1, keepdims=True)
        return x.astype(np.float32)

    def to_network_range(self, x01: np.ndarray) -> np.ndarray:
        """Maps prepared [0, 1] images to the network's input range (identity by default)."""
        return x01

    def __call__(self, images) -> np.ndarray:
        """(N, F) float32 features of images in `value_range`."""
        x = self.to_network_range(self.prepare(images))
        return np.asarray(self.feature_model(x, training=False))

    def probabilities(self, images) -> np.ndarray:
        """(N, K) float32 class probabilities of images in `value_range`."""
        if self.classifier_model is None:
            raise ValueError(f"the {self.name} extractor has no classifier head; {self._no_head_hint()}")
        x = self.to_network_range(self.prepare(images))
        return np.asarray(self.classifier_model(x, training=False))

    def _no_head_hint(self) -> str:
        return "use an extractor with class probabilities"


class DigitFeatures(ImageFeatureExtractor):
    """Features (64) and class probabilities (10) of grey-scale digit images from kerasgen's bundled
    digit classifier (>= 97% on held-out scikit-learn digits).

    Input: (N, H, W, 1) images in `value_range` (default (-1, 1)), any size: they are resized to 8x8
    by area averaging. Bright digits on a dark background, like the scikit-learn digits and MNIST.

    Args:
        value_range: the range of the input values.
        weights: a weights `.npz` written by `kerasgen.metrics.digit_classifier` (default: the bundled one).
    """

    name = "digits"
    image_size = (8, 8)
    channels = (1,)
    resize_method = "area"
    network_channels = 1

    def __init__(self, value_range=DEFAULT_VALUE_RANGE, weights: str | None = None):
        super().__init__(value_range)
        from kerasgen.metrics import digit_classifier

        classifier = digit_classifier.load(weights)
        self.feature_model = digit_classifier.feature_model(classifier)
        self.classifier_model = digit_classifier.probability_model(classifier)


INCEPTION_FILES = {True: "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
                   False: "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"}
INCEPTION_URL = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
# the md5 digests Keras publishes for these files (keras.applications.inception_v3)
INCEPTION_MD5 = {True: "9a0d58056eeedaa3f26cb7ebd46da564", False: "bcbd6486424b2319ff4ef7d526e38f63"}
PUBLISHED = "published"


def keras_cache_dir() -> str:
    """The folder where Keras keeps downloaded weights: $KERAS_HOME/models or ~/.keras/models."""
    from kerasgen.downloads import keras_cache_dir as cache_dir

    return cache_dir()


class InceptionFeatures(ImageFeatureExtractor):
    """Inception-v3 pool features (2048) and, with the full weights, ImageNet class probabilities.

    Input: (N, H, W, 1 or 3) images in `value_range` (default (-1, 1)), resized to 299x299
    bilinearly; grey-scale is repeated to three channels; then scaled to [-1, 1] as Inception expects.
    These are Keras' Inception-v3 weights, not the network of the original TensorFlow FID code:
    FIDs in this space compare kerasgen runs with each other. For FIDs comparable with published
    tables use `InceptionFIDFeatures` (`features="inception-fid"`).

    Args:
        weights: path to a Keras Inception-v3 weights file, with the classifier top
            (`inception_v3_weights_tf_dim_ordering_tf_kernels.h5`, features and probabilities) or without
            (`..._notop.h5`, features only). None takes these files from Keras' cache
            (`keras_cache_dir()`, preferring the full one) and, when neither is there, downloads the
            full one into it as `keras.applications.InceptionV3` does, unless downloads are off.
        include_top: whether `weights` holds the classifier top (inferred from the file name when None).
        value_range: the range of the input values.
        file_hash: the digest the weights file must have: "published" (default: the md5 Keras
            publishes for the file), a 32-digit md5 or 64-digit sha256, or None for a file of your
            own (not checked).
        download: False never downloads; None downloads unless `KERASGEN_OFFLINE=1` or
            `kerasgen.downloads.offline()`.

    Raises:
        kerasgen.downloads.Unavailable: no weights here and downloading is off or failed.
        kerasgen.downloads.ChecksumMismatch: the weights file is not the published one.
        FileNotFoundError: `weights` names a missing file.
    """

    name = "inception"
    image_size = (299, 299)
    channels = (1, 3)
    resize_method = "bilinear"
    network_channels = 3

    def __init__(self, weights: str | None = None, include_top: bool | None = None,
                 value_range=DEFAULT_VALUE_RANGE, file_hash: str | None = PUBLISHED, download: bool | None = None):
        super().__init__(value_range)
        import keras

        weights, include_top = self._find_weights(weights, include_top, file_hash, download)
        network = keras.applications.InceptionV3(include_top=include_top, weights=None,
                                                 input_shape=(*self.image_size, 3), pooling="avg")
        network.load_weights(weights)
        self.weights_path = weights
        if include_top:
            pool = network.get_layer("avg_pool").output
            self.feature_model = keras.Model(network.input, pool)
            self.classifier_model = network
        else:
            self.feature_model = network

    @staticmethod
    def _find_weights(weights, include_top, file_hash, download):
        from kerasgen import downloads

        prepare = "kerasgen download inception"
        if weights is not None:
            if not os.path.isfile(weights):
                raise FileNotFoundError(f"no Inception-v3 weights file at {weights}")
            if include_top is None:
                include_top = "notop" not in os.path.basename(weights)
            expected = INCEPTION_MD5[include_top] if file_hash == PUBLISHED else file_hash
            return downloads.verify(weights, expected, "the Inception-v3 weights file", prepare), include_top
        tops = (True, False) if include_top is None else (include_top,)
        present = [top for top in tops if os.path.isfile(os.path.join(keras_cache_dir(), INCEPTION_FILES[top]))]
        top = (present or tops)[0]  # a file already in the cache (the full one first), else download the first
        expected = INCEPTION_MD5[top] if file_hash == PUBLISHED else file_hash
        return downloads.fetch(INCEPTION_FILES[top], INCEPTION_URL + INCEPTION_FILES[top], expected,
                               f"Keras' Inception-v3 weights ({INCEPTION_FILES[top]})", prepare, download), top

    def to_network_range(self, x01):
        return x01 * 2.0 - 1.0

    def _no_head_hint(self) -> str:
        return f"load the full weights ({INCEPTION_FILES[True]}) for the Inception score"

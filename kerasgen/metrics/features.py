"""Feature extractors for sample-quality metrics, and `embed`, which turns examples into features.

An extractor maps a batch of images to (N, F) feature vectors (`__call__`) and, when it has a
classifier head, to (N, K) class probabilities (`probabilities`, used by the Inception score).
Both checks the images first: 4-D (N, H, W, C), the channels it accepts, finite, and within
`value_range` (default (-1, 1), the range kerasgen's image data and samples use).

Resizing is the same everywhere: `tf.image.resize` to the extractor's input size, with the
method the extractor names (`area` for the digit classifier, the analogue of how the 8x8 digits
were made from 32x32 bitmaps by counting pixels in 4x4 blocks; `bilinear` for Inception, as the
original TensorFlow FID code did), after scaling the values to [0, 1].

Extractors:
- `DigitFeatures`: a small CNN classifier of grey-scale digits, trained by
  `python -m kerasgen.metrics.digit_classifier` on scikit-learn's 8x8 digits; its weights ship in
  the package, so digit FID/KID/IS are reproducible offline. Features: the 64 units before the
  classifier layer.
- `InceptionFeatures`: Keras' Inception-v3 (2048 pool features; probabilities over the 1,000
  ImageNet classes when the full weights are there), from a local weights file or the Keras cache.
  It never downloads. Keras' Inception-v3 weights are not the exact network of the reference FID
  code, so its FID is comparable between kerasgen runs, not with published tables.
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
    """An extractor from a name ("digits", "inception", "identity"/None) or a callable (returned as is)."""
    if features is None or features == "identity":
        return None
    if isinstance(features, str):
        factories = {"digits": DigitFeatures, "inception": InceptionFeatures}
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

    def prepare(self, images) -> np.ndarray:
        """Checked images scaled to [0, 1] and resized to `image_size`, float32 (N, H, W, network channels)."""
        import tensorflow as tf

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


def keras_cache_dir() -> str:
    """The folder where Keras keeps downloaded weights: $KERAS_HOME/models or ~/.keras/models."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models")


class InceptionFeatures(ImageFeatureExtractor):
    """Inception-v3 pool features (2048) and, with the full weights, ImageNet class probabilities.

    Input: (N, H, W, 1 or 3) images in `value_range` (default (-1, 1)), resized to 299x299
    bilinearly; grey-scale is repeated to three channels; then scaled to [-1, 1] as Inception expects.

    Args:
        weights: path to a Keras Inception-v3 weights file, with the classifier top
            (`inception_v3_weights_tf_dim_ordering_tf_kernels.h5`, features and probabilities) or without
            (`..._notop.h5`, features only). None looks for these files in the Keras cache
            (`keras_cache_dir()`), preferring the full one. Nothing is downloaded.
        include_top: whether `weights` holds the classifier top (inferred from the file name when None).
        value_range: the range of the input values.

    Raises:
        FileNotFoundError: when no weights file is found, saying where to put one.
    """

    name = "inception"
    image_size = (299, 299)
    channels = (1, 3)
    resize_method = "bilinear"
    network_channels = 3

    def __init__(self, weights: str | None = None, include_top: bool | None = None,
                 value_range=DEFAULT_VALUE_RANGE):
        super().__init__(value_range)
        import keras

        weights, include_top = self._find_weights(weights, include_top)
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
    def _find_weights(weights, include_top):
        if weights is not None:
            if not os.path.isfile(weights):
                raise FileNotFoundError(f"no Inception-v3 weights file at {weights}")
            if include_top is None:
                include_top = "notop" not in os.path.basename(weights)
            return weights, include_top
        cache = keras_cache_dir()
        for top in ((True, False) if include_top is None else (include_top,)):
            path = os.path.join(cache, INCEPTION_FILES[top])
            if os.path.isfile(path):
                return path, top
        raise FileNotFoundError(
            f"no Inception-v3 weights in the Keras cache {cache}; kerasgen never downloads them. On a machine with "
            "internet, run `python -c \"import keras; keras.applications.InceptionV3()\"` (this writes "
            f"{INCEPTION_FILES[True]} to ~/.keras/models), copy the file into {cache}, or pass "
            "InceptionFeatures(weights=PATH)")

    def to_network_range(self, x01):
        return x01 * 2.0 - 1.0

    def _no_head_hint(self) -> str:
        return f"load the full weights ({INCEPTION_FILES[True]}) for the Inception score"

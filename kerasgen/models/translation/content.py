"""Feature spaces for the content (perceptual) loss of translation models: differentiable, in-graph.

A content loss compares the generated and the real target in the features of a fixed network
(Johnson et al. 2016; SRGAN's "VGG loss", Ledig et al. 2017) rather than pixel by pixel. Choices:

- "digits": kerasgen's bundled digit classifier (64 features before its softmax), for grey-scale
  images; inputs are mapped from [-1, 1] to [0, 1] and resized to 8x8 inside the graph with
  antialiased bilinear filtering (differentiable; the metric `kerasgen.metrics.DigitFeatures`
  averages areas, which has no gradient);
- "inception": the metrics' Keras Inception-v3 feature space (2048 pool features; weights from
  Keras' cache, fetched on first use unless downloads are off), preprocessed the same way in-graph
  (`metric_space_features`); "inception-fid" (a frozen graph fed 8-bit levels) has no gradient;
- "vgg19": Keras' VGG19 up to `block5_conv4` (SRGAN's VGG54) with ImageNet weights from Keras'
  cache (downloaded on first use unless downloads are off), grey-scale repeated to 3 channels and
  VGG's own preprocessing;
- a Keras model (or any callable) mapping target images (B, H, W, C) in [-1, 1] to features.

The feature network is frozen: it is not part of the model's trainable variables.
"""

from __future__ import annotations

import keras
import tensorflow as tf

FEATURE_SPACES = ("digits", "inception", "vgg19")


def metric_space_features(name):
    """A `kerasgen.metrics` image feature space ("digits", "inception") as a frozen,
    differentiable function of [-1, 1] images (B, H, W, C) of any size -> features (B, F).

    The same network as the metric, with its preprocessing written in-graph: [-1, 1] -> [0, 1],
    resized to the network's input size with antialiased bilinear filtering (differentiable, where the
    metric may average areas, which has no gradient), grey repeated to RGB or RGB averaged to grey as
    the network needs, then the network's own input range. Inception weights come from the Keras cache
    (see `kerasgen.metrics.features`).
    """
    from kerasgen.metrics import features as metric_features

    extractor = metric_features.get_extractor(name)
    network = extractor.feature_model
    network.trainable = False
    size, wanted = tuple(extractor.image_size), extractor.network_channels

    def call(x):
        x01 = (tf.cast(x, tf.float32) + 1.0) / 2.0
        if tuple(x01.shape[1:3]) != size:
            x01 = tf.image.resize(x01, size, method="bilinear", antialias=True)
        if x01.shape[-1] != wanted:
            x01 = tf.repeat(x01, wanted, axis=-1) if x01.shape[-1] == 1 else tf.reduce_mean(x01, -1, keepdims=True)
        return network(extractor.to_network_range(x01), training=False)

    call.network = network
    return call


def vgg19_features(download: bool | None = None):
    """VGG19 `block5_conv4` features (SRGAN's VGG54) of [-1, 1] images, frozen; weights from Keras' cache."""
    from kerasgen import downloads

    if not downloads.allowed(download):
        path = downloads.keras_cache_dir() + "/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
        import os

        if not os.path.isfile(path):
            raise downloads.Unavailable("Keras' VGG19 weights", path, "python -c 'import keras; "
                                        "keras.applications.VGG19(include_top=False)'",
                                        downloads.offline_reason(download))
    vgg = keras.applications.VGG19(include_top=False, weights="imagenet")
    vgg.trainable = False
    features = keras.Model(vgg.input, vgg.get_layer("block5_conv4").output)

    def call(x):
        x = tf.cast(x, tf.float32)
        if x.shape[-1] == 1:
            x = tf.repeat(x, 3, axis=-1)
        return features(keras.applications.vgg19.preprocess_input((x + 1.0) * 127.5), training=False)

    call.network = features
    return call


def resolve(spec):
    """A callable (B, H, W, C) [-1, 1] -> features for a content loss, or None.

    Raises:
        ValueError: an unknown name.
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec in ("digits", "inception"):
            return metric_space_features(spec)
        if spec == "inception-fid":
            raise ValueError("'inception-fid' is a frozen graph fed 8-bit levels, which passes no gradient; "
                             "use 'inception' (the same architecture in Keras) for a content loss")
        if spec == "vgg19":
            return vgg19_features()
        raise ValueError(f"unknown content feature space {spec!r}; use one of {', '.join(FEATURE_SPACES)}, "
                         "a Keras model or None")
    if isinstance(spec, dict):
        spec = keras.saving.deserialize_keras_object(spec)
    if isinstance(spec, keras.layers.Layer):
        spec.trainable = False
    if not callable(spec):
        raise TypeError(f"content must be a feature-space name, a Keras model or a callable, got {type(spec).__name__}")
    return spec


def content_config(spec):
    """What `get_config` stores for a content choice: the name, a serialised Keras model, or None."""
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, keras.layers.Layer):
        return keras.saving.serialize_keras_object(spec)
    raise ValueError("a content loss given as a plain callable cannot be saved; pass a Keras model or a name")

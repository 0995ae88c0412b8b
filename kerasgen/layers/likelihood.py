"""`DecoderLikelihood`: the decoder's observation model p(x | decoder output)."""

from __future__ import annotations

import math

import keras
from keras import ops

from kerasgen.losses import divergences

LIKELIHOODS = ("bernoulli", "gaussian", "logistic")
_DEFAULT_SCALE = {"bernoulli": None, "gaussian": 1.0, "logistic": "learned"}
_LEARNED_INIT = {"gaussian": 1.0, "logistic": 0.1}


@keras.saving.register_keras_serializable(package="kerasgen")
class DecoderLikelihood(keras.layers.Layer):
    """Negative log-likelihood of data under the decoder's output, and its mean.

    Kinds (x is in model space: images in [-1, 1], vectors standardised):
    - "bernoulli": the decoder gives logits; targets are (x + 1) / 2 in [0, 1]
      (binary data gives a true likelihood; grey levels the usual cross-entropy).
    - "gaussian": the decoder gives the mean; the standard deviation is fixed
      (`scale` a float) or one learned value per feature (`scale="learned"`).
    - "logistic": discretised logistic over `num_bins` levels in [-1, 1] (8-bit
      images); the decoder gives the location, the log-scale is learned per
      feature (or fixed with a float `scale`).

    Args:
        kind: one of "bernoulli", "gaussian", "logistic".
        data_shape: shape of one example.
        scale: None (the kind's default), a positive float, or "learned".
        num_bins: levels of the discretised logistic.
    """

    def __init__(self, kind, data_shape, scale=None, num_bins=256, **kwargs):
        kwargs.setdefault("dtype", "float32")  # likelihoods are computed in float32 under mixed precision
        super().__init__(**kwargs)
        if kind not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {kind!r}; use one of {', '.join(LIKELIHOODS)}")
        scale = _DEFAULT_SCALE[kind] if scale is None else scale
        if kind == "bernoulli" and scale is not None:
            raise ValueError("the bernoulli likelihood has no scale")
        if isinstance(scale, str) and scale != "learned":
            raise ValueError(f"scale must be a positive number or 'learned', got {scale!r}")
        if not isinstance(scale, str) and scale is not None and not float(scale) > 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        self.kind = kind
        self.data_shape = tuple(int(s) for s in data_shape)
        self.scale = scale if isinstance(scale, str) or scale is None else float(scale)
        self.num_bins = int(num_bins)
        self.log_scale = None
        if kind != "bernoulli":
            learned = self.scale == "learned"
            init = _LEARNED_INIT[kind] if learned else self.scale
            self.log_scale = self.add_weight(shape=self.data_shape, trainable=learned, name="log_scale",
                                             initializer=keras.initializers.Constant(math.log(init)))
        self.built = True

    def nll(self, x, decoded):
        """Per-example -log p(x | decoded) in nats, float32 (B,); x and decoded (B, *data_shape)."""
        if self.kind == "bernoulli":
            return divergences.bernoulli_nll((ops.cast(x, "float32") + 1.0) / 2.0, decoded)
        if self.kind == "gaussian":
            return divergences.gaussian_nll(x, decoded, self.log_scale)
        return divergences.discretized_logistic_nll(x, decoded, self.log_scale, self.num_bins)

    def mean(self, decoded):
        """The decoder's prediction in model space: E[x] (bernoulli: 2 sigmoid - 1; else the location)."""
        decoded = ops.cast(decoded, "float32")
        if self.kind == "bernoulli":
            return ops.sigmoid(decoded) * 2.0 - 1.0
        if self.kind == "logistic":
            return ops.clip(decoded, -1.0, 1.0)
        return decoded

    @property
    def is_discrete(self) -> bool:
        """Whether the likelihood is a probability mass (bits/dim then mean the usual thing)."""
        return self.kind in ("bernoulli", "logistic")

    def call(self, decoded):
        return self.mean(decoded)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "data_shape": list(self.data_shape),
                "scale": self.scale, "num_bins": self.num_bins}

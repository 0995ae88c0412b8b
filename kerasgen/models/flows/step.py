"""Base classes of flow steps: Keras 3 layers that own a bijector's weights and build the TFP
bijector on demand.

A `Flow` is a list of steps; `step.bijector(context)` returns a `tfp.bijectors.Bijector`
mapping noise-side z to data-side x whose parameters are this layer's variables (so
Keras tracks, saves and optimises them). Steps compute in float32 whatever the global
precision policy: log-determinants are sums of many terms.

`FlowStep` works on vectors, `ImageStep` on images (H, W, C). The steps themselves live with
their bijectors and conditioner networks, one module per flow family: `coupling`,
`autoregressive`, `linear`, `planar`, `residual`, `continuous` and `multiscale`.
"""

from __future__ import annotations

import keras
import numpy as np

LOG_SCALE_BOUND = 3.0  # affine couplings and autoregressive steps soft-clamp log-scales to [-3, 3]


class FlowStep(keras.layers.Layer):
    """Base class: one invertible step on vectors of size `event_dim` (image steps: `ImageStep`).

    Args:
        event_dim: size D of the vectors.
        context_dim: size of the context vector conditioners take (0: unconditional).
    """

    def __init__(self, event_dim, context_dim=0, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.event_dim, self.context_dim = int(event_dim), int(context_dim)

    @property
    def event_shape(self):
        """Shape of one example on the step's data side."""
        return (self.event_dim,)

    @property
    def latent_shape(self):
        """Shape of one example on the step's noise side (the next step's `event_shape`)."""
        return self.event_shape

    def bijector(self, context=None, seed=None):  # pragma: no cover - abstract
        """The step's `tfb.Bijector` (z -> x); `context` (B, context_dim) for conditional steps;
        `seed` (a stateless seed, given in training) for steps with stochastic estimators."""
        raise NotImplementedError

    def export_bijector(self, context=None):
        """The bijector an exported graph uses: the evaluation bijector, unless a step needs a
        loop-free form for export (FFJORD)."""
        return self.bijector(context)

    def call(self, z, context=None):
        """Applies the step forward (z -> x)."""
        return self.bijector(context).forward(z)

    def _no_context(self):
        if self.context_dim:
            raise ValueError(f"{type(self).__name__} does not take a context")

    def get_config(self):
        return {**super().get_config(), "event_dim": self.event_dim, "context_dim": self.context_dim}


class ImageStep(FlowStep):
    """Base class of steps on images of shape `event_shape` = (H, W, C)."""

    def __init__(self, event_shape, context_dim=0, **kwargs):
        kwargs.pop("event_dim", None)
        shape = tuple(int(d) for d in event_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"{type(self).__name__} works on images (H, W, C); got event_shape {event_shape}")
        super().__init__(int(np.prod(shape)), context_dim, **kwargs)
        self._image_shape = shape
        self.built = True  # weights (if any) are made in __init__; fit must not trace a call to build them

    @property
    def event_shape(self):
        return self._image_shape

    def get_config(self):
        config = super().get_config()
        config.pop("event_dim")
        return {**config, "event_shape": list(self._image_shape)}

"""`GenerativeModel`: what every kerasgen algorithm shares.

- noise drawn from a `keras.random.SeedGenerator` held by the model, folded with
  the replica id so each `tf.distribute` replica draws its own noise, and saved
  in `.keras` files so resumed training continues exactly;
- losses reduced over the global batch (`global_mean`);
- optional feature standardisation for vector data, learned from the data on
  the first `fit` and undone in `sample`;
- optimiser helpers: defaults from the preset, loss scaling under mixed_float16.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasgen.layers.standardize import Standardize

_SEED_KEY = "seed_generator_state"
_ADAPT_MAX_EXAMPLES = 200_000


def deserialize_network(obj):
    """A Keras model given as an instance or as its serialised config."""
    if isinstance(obj, dict):
        return keras.saving.deserialize_keras_object(obj)
    if not isinstance(obj, keras.layers.Layer):
        raise TypeError(f"expected a Keras model, got {type(obj).__name__}")
    return obj


def uses_float16(*networks) -> bool:
    """Whether any layer of the networks computes in float16 (mixed_float16)."""
    return any(
        getattr(layer, "compute_dtype", None) == "float16"
        for net in networks
        for layer in getattr(net, "layers", [net])
    )


def resolve_optimizer(spec, default_config, float16: bool):
    """An optimiser from "auto" (the preset default), a name, config or instance.

    Under float16 it is wrapped in `keras.optimizers.LossScaleOptimizer`, so the
    train step can call `scale_loss` on each optimiser for its own loss.
    """
    if isinstance(spec, str) and spec == "auto":
        spec = {"class_name": default_config["class_name"], "config": dict(default_config["config"])}
    opt = keras.optimizers.get(spec)
    if float16 and not isinstance(opt, keras.optimizers.LossScaleOptimizer):
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


def adam(learning_rate=2e-4, beta_1=0.5, beta_2=0.999):
    """Serialised Adam config, the form presets store their defaults in."""
    return {"class_name": "Adam", "config": {"learning_rate": learning_rate, "beta_1": beta_1, "beta_2": beta_2}}


class GenerativeModel(keras.Model):
    """Base class of kerasgen algorithms (subclasses own `train_step`).

    Args:
        data_shape: shape of one example.
        standardize: learn feature-wise standardisation of the data (vectors).
        preset: the preset name this model was built from, if any.
        seed: seed of the model's noise generator.
    """

    def __init__(self, data_shape, standardize=False, preset=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.data_shape = tuple(int(s) for s in data_shape)
        self.standardize = bool(standardize)
        self.preset = preset
        self.seed = seed
        self.standardizer = Standardize(self.data_shape, name="standardizer") if standardize else None
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")

    # ---- noise -------------------------------------------------------------
    def step_seeds(self, count: int):
        """`count` stateless seeds (2,) for this step, distinct per replica."""
        seed = tf.cast(self.seed_generator.next(), tf.int64)
        replica_id = tf.distribute.get_replica_context().replica_id_in_sync_group
        seed = tf.random.experimental.stateless_fold_in(seed, tf.cast(replica_id, tf.int64))
        return tf.unstack(tf.random.experimental.stateless_split(seed, num=count))

    @staticmethod
    def global_mean(per_example):
        """Sum of per-example values over this replica / global batch size."""
        return tf.nn.compute_average_loss(tf.cast(per_example, tf.float32))

    # ---- data scale ----------------------------------------------------------
    def to_model_space(self, x):
        """Data space -> the space the networks work in (standardised if asked)."""
        x = ops.cast(x, "float32")
        return self.standardizer(x) if self.standardizer is not None else x

    def to_data_space(self, x):
        """Inverse of `to_model_space`."""
        x = ops.cast(x, "float32")
        return self.standardizer.inverse(x) if self.standardizer is not None else x

    def adapt(self, data) -> None:
        """Learns the standardisation from data (array or dataset); no-op without one."""
        if self.standardizer is None:
            return
        if isinstance(data, tf.data.Dataset):
            parts, n = [], 0
            for batch in data.as_numpy_iterator():
                x = batch[0] if isinstance(batch, tuple) else batch
                parts.append(x)
                n += len(x)
                if n >= _ADAPT_MAX_EXAMPLES:
                    break
            data = np.concatenate(parts)
        self.standardizer.adapt(np.asarray(data))

    def fit(self, x=None, *args, **kwargs):
        """`keras.Model.fit`, after learning the standardisation on first use."""
        if self.standardizer is not None and not self.standardizer.is_adapted and x is not None:
            self.adapt(x)
        return super().fit(x, *args, **kwargs)

    def check_data(self, x):
        """Raises a clear error when a batch's example shape is not `data_shape`."""
        shape = tuple(x.shape[1:])
        if shape != self.data_shape:
            raise ValueError(f"{type(self).__name__} expects examples of shape {self.data_shape}, got {shape}")

    # ---- persistence -----------------------------------------------------------
    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[_SEED_KEY] = ops.convert_to_numpy(self.seed_generator.state)

    def load_own_variables(self, store):
        keys = list(store.keys())
        if _SEED_KEY in keys:
            self.seed_generator.state.assign(np.asarray(store[_SEED_KEY]))
        rest = {k: store[k] for k in keys if k != _SEED_KEY}
        super().load_own_variables(rest)

    def get_config(self):
        return {
            "name": self.name,
            "data_shape": list(self.data_shape),
            "standardize": self.standardize,
            "preset": self.preset,
            "seed": self.seed,
        }

    # ---- API every family implements ---------------------------------------------
    def sample(self, n, seed=None, **kwargs):  # pragma: no cover - abstract
        """Returns n samples in data space as a numpy array."""
        raise NotImplementedError

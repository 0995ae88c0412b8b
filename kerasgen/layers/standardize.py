"""Feature-wise standardisation learned from data, with its inverse."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="kerasgen")
class Standardize(keras.layers.Layer):
    """y = (x - mean) / std per feature, with `inverse(y)` = y * std + mean.

    The statistics are non-trainable weights set by `adapt` from data and saved
    with the model, so models take vector data on the user's own scale and give
    samples back on it. It always computes in float32 and its statistics are never autocast, so
    data keep full precision at the model's boundary under a mixed policy too.

    Args:
        data_shape: shape of one example, e.g. (2,).
        min_std: floor on std, so constant features do not divide by zero.

    Example:
        >>> s = Standardize((2,))
        >>> s.adapt(np.array([[0.0, 10.0], [2.0, 30.0]]))
        >>> s(np.array([[1.0, 20.0]])).numpy().tolist()
        [[0.0, 0.0]]
    """

    def __init__(self, data_shape, min_std=1e-6, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.data_shape = tuple(int(s) for s in data_shape)
        self.min_std = float(min_std)
        self.mean = self.add_weight(shape=self.data_shape, initializer="zeros", trainable=False, name="mean",
                                    autocast=False)
        self.std = self.add_weight(shape=self.data_shape, initializer="ones", trainable=False, name="std",
                                    autocast=False)
        self.adapted = self.add_weight(shape=(), initializer="zeros", trainable=False, name="adapted",
                                    autocast=False)
        self.built = True

    @property
    def is_adapted(self) -> bool:
        """Whether `adapt` has set the statistics."""
        return bool(ops.convert_to_numpy(self.adapted) > 0)

    def adapt(self, data) -> None:
        """Sets mean and std from an array (N, *data_shape) or a dataset of such batches."""
        if hasattr(data, "as_numpy_iterator"):
            batches = [b[0] if isinstance(b, tuple) else b for b in data.as_numpy_iterator()]
            data = np.concatenate(batches)
        x = np.asarray(data, dtype=np.float64)
        if x.shape[1:] != self.data_shape:
            raise ValueError(f"Standardize expects examples of shape {self.data_shape}, got {x.shape[1:]}")
        if not np.isfinite(x).all():
            raise ValueError("Standardize.adapt: data contain NaN or infinite values")
        self.mean.assign(x.mean(axis=0).astype("float32"))
        self.std.assign(np.maximum(x.std(axis=0), self.min_std).astype("float32"))
        self.adapted.assign(1.0)

    def call(self, x):
        x = ops.cast(x, "float32")
        return (x - self.mean) / self.std

    def inverse(self, y):
        """Maps standardised values back to the data scale."""
        return ops.cast(y, "float32") * self.std + self.mean

    def get_config(self):
        return {**super().get_config(), "data_shape": list(self.data_shape), "min_std": self.min_std}

"""Weight-normalised dense layer with data-dependent initialisation (Salimans & Kingma 2016)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasgen")
class WeightNormDense(keras.layers.Layer):
    """y = activation(x @ (scale * v / ||v||) + bias), each output column of v normalised to unit norm.

    As in Salimans et al.'s semi-supervised GAN code (openai/improved-gan, `nn.DenseLayer`): the
    optimiser moves the direction v, whose norm grows with each step, so the layer's effective step
    shrinks over training; the scale is learned or, with `train_scale=False`, fixed at the value the
    data-dependent initialisation gives it.

    Data-dependent initialisation (`initialize_weight_norm`): one eager pass over a batch of data sets
    scale and bias so that the pre-activations have mean 0 and std `init_std` per unit on that batch
    (each layer sees the already initialised layers before it). The non-trainable weight
    `initialized` records it (saved with the model), so it happens once.

    Args:
        units: output width.
        activation: Keras activation name or callable (None: linear).
        train_scale: learn the scale (else it stays at its initial or data-initialised value).
        scale_init: initial scale of every column (before any data-dependent initialisation).
        data_init: whether `initialize_weight_norm` initialises this layer.
        init_std: std of the pre-activations after data-dependent initialisation.
        direction_initializer: initialiser of v (default normal with std 0.1, as their code): only
            its scale matters, which sets how far an optimiser step turns the direction.
    """

    def __init__(self, units, activation=None, train_scale=True, scale_init=1.0, data_init=True, init_std=1.0,
                 direction_initializer=None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.train_scale = bool(train_scale)
        self.scale_init = float(scale_init)
        self.data_init = bool(data_init)
        self.init_std = float(init_std)
        self.direction_initializer = keras.initializers.get(
            direction_initializer or keras.initializers.RandomNormal(stddev=0.1))
        self._initializing = False

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.direction = self.add_weight(shape=(fan_in, self.units), name="direction",
                                         initializer=self.direction_initializer)
        self.scale = self.add_weight(shape=(self.units,), name="scale", trainable=self.train_scale,
                                     initializer=keras.initializers.Constant(self.scale_init))
        self.bias = self.add_weight(shape=(self.units,), name="bias", initializer="zeros")
        self.initialized = self.add_weight(shape=(), name="initialized", initializer="zeros", trainable=False,
                                           autocast=False)

    def kernel(self):
        """The effective kernel scale * v / ||v|| (fan_in, units)."""
        v = self.direction
        return v * (self.scale / ops.sqrt(ops.sum(ops.square(v), axis=0) + 1e-6))

    def call(self, x):
        y = ops.matmul(x, ops.cast(self.kernel(), x.dtype))
        if self._initializing:
            y32 = ops.cast(y, "float32")
            mean = ops.mean(y32, axis=0)
            std = ops.sqrt(ops.mean(ops.square(y32 - mean), axis=0) + 1e-12)
            factor = self.init_std / std
            self.scale.assign(ops.cast(self.scale, "float32") * factor)
            self.bias.assign(-mean * factor)
            self.initialized.assign(1.0)
            y = ops.cast((y32 - mean) * factor, x.dtype)
        else:
            y = y + ops.cast(self.bias, y.dtype)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation), "train_scale": self.train_scale,
                "scale_init": self.scale_init, "data_init": self.data_init, "init_std": self.init_std,
                "direction_initializer": keras.initializers.serialize(self.direction_initializer)}


def weight_norm_layers(model, pending=True):
    """The model's `WeightNormDense` layers with `data_init` (only those not yet initialised when `pending`)."""
    layers = [layer for layer in model._flatten_layers() if isinstance(layer, WeightNormDense) and layer.data_init]
    if pending:
        layers = [layer for layer in layers if layer.built and float(ops.convert_to_numpy(layer.initialized)) == 0.0]
    return layers


def initialize_weight_norm(model, x, **call_kwargs) -> bool:
    """Data-dependent initialisation of a model's uninitialised `WeightNormDense` layers: one eager
    call `model(x, training=True, **call_kwargs)` in which each such layer sets its scale and bias
    from its pre-activations on x. Returns whether any layer was initialised."""
    layers = weight_norm_layers(model)
    if not layers:
        return False
    for layer in layers:
        layer._initializing = True
    try:
        model(x, training=True, **call_kwargs)
    finally:
        for layer in layers:
            layer._initializing = False
    return True


__all__ = ["WeightNormDense", "initialize_weight_norm", "weight_norm_layers"]

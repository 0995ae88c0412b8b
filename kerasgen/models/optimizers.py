"""Optimiser defaults and how kerasgen compiles: serialised preset defaults, loss scaling under
mixed_float16, and the `compile` keyword defaults measured on a 2-core CPU."""

from __future__ import annotations

import keras
import tensorflow as tf

DEFAULT_STEPS_PER_EXECUTION = 4


def adam(learning_rate=2e-4, beta_1=0.5, beta_2=0.999):
    """Serialised Adam config, the form presets store their defaults in."""
    return {"class_name": "Adam", "config": {"learning_rate": learning_rate, "beta_1": beta_1, "beta_2": beta_2}}


def rmsprop(learning_rate=5e-5):
    """Serialised RMSprop config (WGAN with clipping)."""
    return {"class_name": "RMSprop", "config": {"learning_rate": learning_rate}}


def uses_float16(*networks) -> bool:
    """Whether any layer of the networks (searched recursively) computes in float16 (mixed_float16)."""
    return any(
        getattr(layer, "compute_dtype", None) == "float16"
        for net in networks
        for layer in (net._flatten_layers() if hasattr(net, "_flatten_layers") else [net])
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


def loss_scale(optimizer):
    """The optimiser's current loss scale as float32 (1 without loss scaling); penalties that take
    gradients of a scaled loss divide by it."""
    return tf.cast(optimizer.dynamic_scale, tf.float32) if hasattr(optimizer, "dynamic_scale") else 1.0


def set_compile_defaults(kwargs: dict) -> dict:
    """kerasgen's compile defaults, measured on a 2-core CPU (`benchmarks/speed.py`): no XLA (it
    slowed the convolutional GANs and the flows) and 4 steps per execution (one Python round trip
    per 4 steps: +5-10% for a conv VAE, more for small models; callbacks' batch hooks and the
    progress bar then see every 4th step). Under a tf.distribute strategy (compile inside its
    scope) the default stays 1: several steps per execution are not supported there by these
    models' steps."""
    kwargs.setdefault("jit_compile", False)
    if not tf.distribute.has_strategy():
        kwargs.setdefault("steps_per_execution", DEFAULT_STEPS_PER_EXECUTION)
    return kwargs

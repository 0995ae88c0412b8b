"""Optimiser defaults and how kerasgen compiles: serialised preset defaults, loss scaling under
mixed_float16, and the `compile` keyword defaults measured on a 2-core CPU."""

from __future__ import annotations

import types

import keras
import tensorflow as tf

DEFAULT_STEPS_PER_EXECUTION = 4


def adam(learning_rate=2e-4, beta_1=0.5, beta_2=0.999, epsilon=None):
    """Serialised Adam config, the form presets store their defaults in (epsilon: Keras' default when None)."""
    config = {"learning_rate": learning_rate, "beta_1": beta_1, "beta_2": beta_2}
    if epsilon is not None:
        config["epsilon"] = epsilon
    return {"class_name": "Adam", "config": config}


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


@keras.saving.register_keras_serializable(package="kerasgen")
class SkipNonFinite(keras.optimizers.LossScaleOptimizer):
    """Wraps an optimiser so that a step whose gradients hold NaN or infinity changes nothing (no
    variable, no moment, no iteration count) and is counted in `skipped`.

    It is a `LossScaleOptimizer` whose scale stays 1 (so `scale_loss` and the unscaling are exact
    no-ops): Keras' own machinery for skipping non-finite steps, under every tf.distribute strategy,
    without loss scaling. Under mixed_float16 models use a real `LossScaleOptimizer`, which skips
    such steps too (and lowers its scale).

    Args:
        inner_optimizer: the optimiser that makes the finite steps.
    """

    def __init__(self, inner_optimizer, **kwargs):
        kwargs.pop("initial_scale", None)
        kwargs.pop("dynamic_growth_steps", None)
        super().__init__(inner_optimizer, initial_scale=1.0, dynamic_growth_steps=1, **kwargs)

    @property
    def skipped(self):
        """Steps skipped so far (an int variable)."""
        return self.step_counter

    def _stateful_handle_finite_grads(self, grads, trainable_variables):
        self.inner_optimizer.apply(grads, trainable_variables=trainable_variables)

    def _stateful_handle_non_finite_grads(self):
        self.step_counter.assign_add(1)


def skipped_steps(optimizers) -> int:
    """Steps skipped for non-finite gradients by the `SkipNonFinite` optimisers among `optimizers`."""
    return sum(int(opt.skipped.numpy()) for opt in optimizers if isinstance(opt, SkipNonFinite))


FUSED_ADAM_DTYPES = (tf.float32, tf.float64)


def _fused_adam_scalars(optimizer, learning_rate, dtype):
    """(beta_1^t, beta_2^t, lr, beta_1, beta_2, epsilon) as `dtype` tensors, computed at the first
    variable of each `apply` (`_fused_adam_backend_update_step` clears them) and shared by the rest."""
    cached = optimizer._fused_adam_scalars
    if cached is not None and cached[0] == dtype:
        return cached[1]
    step = tf.cast(optimizer.iterations + 1, dtype)
    beta_1, beta_2 = tf.cast(optimizer.beta_1, dtype), tf.cast(optimizer.beta_2, dtype)  # floats or tensors
    scalars = (tf.pow(beta_1, step), tf.pow(beta_2, step), tf.cast(learning_rate, dtype), beta_1, beta_2,
               tf.cast(optimizer.epsilon, dtype))
    optimizer._fused_adam_scalars = (dtype, scalars)
    return scalars


def _fused_adam_backend_update_step(self, grads, trainable_variables, learning_rate):
    """Keras' update of every variable, with the step's scalars computed afresh for this `apply`, and
    every op of the update after all of its gradients. The kernel changes a weight in place where Keras'
    update writes new values; without that wait a model with two optimisers and a gradient penalty
    (`fgan-kl` on vectors) took other steps at 4 steps per execution than at 1, and other steps from
    run to run, drifting apart by 1e-3 of a weight within 300 steps."""
    self._fused_adam_scalars = None
    try:
        with tf.control_dependencies([g for g in grads if g is not None and not isinstance(g, tf.IndexedSlices)]):
            return type(self)._backend_update_step(self, grads, trainable_variables, learning_rate)
    finally:
        self._fused_adam_scalars = None


def _fused_adam_update_step(self, gradient, variable, learning_rate):
    """`keras.optimizers.Adam.update_step` in one kernel per variable (`ResourceApplyAdam`), bound
    to an Adam instance by `fuse_adam`. Keras' update formula:
    alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t), m += (g - m)(1 - beta_1),
    v += (g^2 - v)(1 - beta_2), x -= alpha m / (sqrt(v) + epsilon), t = iterations + 1; the kernel
    forms 1 - beta in the variable's dtype where Keras rounds Python's, so a beta that float32 does
    not hold exactly (0.999) moves the moments by about 1e-5 of their size. Sparse gradients
    (`tf.IndexedSlices`, from embeddings) and variables other than float32 / float64 take Keras'
    own update: Keras squares each slice before summing repeated indices, the kernel would square
    their sum."""
    base_variable = variable.value if isinstance(variable, keras.Variable) else variable
    if isinstance(gradient, tf.IndexedSlices) or base_variable.dtype not in FUSED_ADAM_DTYPES:
        return keras.optimizers.Adam.update_step(self, gradient, variable, learning_rate)
    index = self._get_variable_index(variable)
    beta1_power, beta2_power, lr, beta_1, beta_2, epsilon = _fused_adam_scalars(self, learning_rate, base_variable.dtype)
    tf.raw_ops.ResourceApplyAdam(
        var=base_variable.handle, m=self._momentums[index].value.handle, v=self._velocities[index].value.handle,
        beta1_power=beta1_power, beta2_power=beta2_power, lr=lr, beta1=beta_1, beta2=beta_2, epsilon=epsilon,
        grad=tf.cast(gradient, base_variable.dtype))


def fuse_adam(optimizer):
    """Gives a plain `keras.optimizers.Adam` (not amsgrad; inside a `LossScaleOptimizer` too) the
    one-kernel update `_fused_adam_update_step` and returns the optimiser. Keras' Adam builds about
    40 graph ops per variable, a fifth of a 2-D spline flow's training graph and most of the time
    to trace Glow's step: op count is what a small model's step costs on a CPU. The optimiser's
    class, config, variables and saved form are unchanged; other optimisers are returned as they are."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    if type(inner) is keras.optimizers.Adam and not inner.amsgrad and keras.backend.backend() == "tensorflow":
        inner._fused_adam_scalars = None
        inner._backend_update_step = types.MethodType(_fused_adam_backend_update_step, inner)
        inner.update_step = types.MethodType(_fused_adam_update_step, inner)
    return optimizer


def resolve_optimizer(spec, default_config, float16: bool, skip_nonfinite: bool = False):
    """An optimiser from "auto" (the preset default), a name, config or instance.

    A plain Adam gets the one-kernel update (`fuse_adam`). Under float16 it is wrapped in `keras.optimizers.LossScaleOptimizer`, so the
    train step can call `scale_loss` on each optimiser for its own loss; otherwise, with
    `skip_nonfinite`, in `SkipNonFinite`.
    """
    if isinstance(spec, str) and spec == "auto":
        spec = {"class_name": default_config["class_name"], "config": dict(default_config["config"])}
    opt = fuse_adam(keras.optimizers.get(spec))
    if isinstance(opt, keras.optimizers.LossScaleOptimizer):
        return opt
    if float16:
        return keras.optimizers.LossScaleOptimizer(opt)
    return SkipNonFinite(opt) if skip_nonfinite else opt


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

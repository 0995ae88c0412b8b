"""What both export formats share: a float32 copy of the model, its generator-only functions with
explicit input specs, fixed verification inputs, and the parity check.

Every function computes in float32 and returns a dict of named float32 (or uint8, or int32)
tensors. Noise is always an input (random ops do not export); only the SavedModel's `sample`
signature draws it, with a stateless generator.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

ATOL, RTOL = 1e-4, 1e-5  # export parity: |exported - keras| <= ATOL + RTOL * |keras|, float32


class ExportMismatchError(ValueError):
    """An exported artifact disagrees with the Keras model beyond the tolerance."""


def _uses_mixed_policy(model) -> bool:
    return any(layer.dtype_policy.name.startswith("mixed") for layer in model._flatten_layers())


def _float32_config(obj):
    if isinstance(obj, dict):
        return {k: _float32_config(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_float32_config(v) for v in obj]
    if isinstance(obj, str) and obj.startswith("mixed_"):
        return "float32"
    return obj


def float32_copy(model):
    """`model` itself when it computes in float32; else the same model rebuilt under the float32
    policy with its weights (a mixed-precision graph does not export cleanly to ONNX)."""
    if not _uses_mixed_policy(model):
        return model
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        copy = type(model).from_config(_float32_config(model.get_config()))
    finally:
        keras.mixed_precision.set_global_policy(previous)
    copy.set_weights(model.get_weights())
    return copy


def num_classes(model):
    return getattr(model, "num_classes", None) or None


def to_uint8(x):
    """[-1, 1] images -> uint8 [0, 255] (rounded, clipped)."""
    return tf.cast(tf.clip_by_value(tf.round((x + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def generate_spec(model) -> dict:
    """Input specs of the generator: the noise [and labels (B,) int32]."""
    noise = model.export_noise()
    specs = {noise["name"]: tf.TensorSpec([None, *noise["shape"]], tf.as_dtype(noise["dtype"]), name=noise["name"])}
    if num_classes(model):
        specs["labels"] = tf.TensorSpec([None], tf.int32, name="labels")
    return specs


def is_translation(model) -> bool:
    """Whether the model maps source images to target images (`export_translations`) rather than
    generating from noise."""
    return hasattr(model, "export_translations")


def source_from_uint8(source, masked):
    """uint8 [0, 255] sources -> float32 [-1, 1]; with `masked` the last (mask) channel 255 -> 1, 0 -> 0."""
    x = tf.cast(source, tf.float32)
    if not masked:
        return x / 127.5 - 1.0
    return tf.concat([x[..., :-1] / 127.5 - 1.0, x[..., -1:] / 255.0], axis=-1)


def translation_functions(model, uint8=False) -> dict:
    """name -> (fn(source) -> {"translated"}, {"source": spec}) for each direction the model exports:
    "translate" (A -> B, or source -> target) and, for CycleGAN, "translate_b_to_a". Sources are float32
    in [-1, 1] (uint8 [0, 255] with `uint8`, outputs then uint8 too)."""
    masked = bool(getattr(model, "masked", False))
    out = {}
    for name, (shape, run) in model.export_translations().items():
        def translate(source, run=run):
            x = source_from_uint8(source, masked) if uint8 else source
            y = tf.cast(run(x), tf.float32)
            return {"translated": to_uint8(y) if uint8 else y}

        out[name] = (translate, {"source": tf.TensorSpec([None, *shape], tf.uint8 if uint8 else tf.float32,
                                                         name="source")})
    return out


def functions(model, uint8=False) -> dict:
    """Generator-only functions of a float32 model: name -> (python fn of positional tensors, specs dict).

    "generate": noise [, labels] -> {"samples"}; every name of `model.export_functions()` (VAE
    "encode", flow "log_prob"). `uint8` maps image samples to uint8 [0, 255]. Translation models
    give their `translation_functions` instead.
    """
    if is_translation(model):
        return translation_functions(model, uint8)
    if uint8 and len(model.data_shape) != 3:
        raise ValueError("uint8 output is for images; this model generates vectors")

    def generate(noise, labels=None):
        x = tf.cast(model.export_generate(noise, labels), tf.float32)
        return {"samples": to_uint8(x) if uint8 else x}

    out = {"generate": (generate, generate_spec(model))}
    for name, (fn, specs, _) in model.export_functions().items():
        out[name] = (fn, specs)
    return out


def sample_function(model, generate):
    """`sample(num_samples, seed)`: noise drawn in-graph with a stateless generator; labels cycle
    over the classes."""
    classes = num_classes(model)

    def sample(num_samples, seed):
        seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
        noise = model.prior_noise(num_samples, seed)
        labels = tf.range(num_samples, dtype=tf.int32) % classes if classes else None
        return generate(noise, labels)

    return sample, {"num_samples": tf.TensorSpec([], tf.int32, name="num_samples"),
                    "seed": tf.TensorSpec([], tf.int64, name="seed")}


def verification_inputs(model, specs, batch, seed=0) -> dict:
    """Fixed numpy inputs for `specs`: noise from the model's prior, labels cycling, and data
    inputs `x` generated by the model itself (valid by construction); translation sources uniform
    in the source range (a masked model's mask channel 0 or 1)."""
    if is_translation(model):
        spec = specs["source"]
        rng = np.random.default_rng(seed + 7)
        shape = (batch, *[int(d) for d in spec.shape[1:]])
        source = rng.uniform(-1.0, 1.0, shape).astype(np.float32)
        if getattr(model, "masked", False):
            source[..., -1] = rng.integers(0, 2, shape[:-1])
        if spec.dtype == tf.uint8:
            levels = np.round((source + 1.0) * 127.5)
            if getattr(model, "masked", False):
                levels[..., -1] = source[..., -1] * 255
            source = levels.astype(np.uint8)
        return {"source": source}
    noise_name = model.export_noise()["name"]
    noise = model.prior_noise(batch, tf.constant([seed, 7], tf.int64)).numpy()
    labels = (np.arange(batch) % num_classes(model)).astype(np.int32) if num_classes(model) else None
    out = {}
    for name in specs:
        if name == noise_name:
            out[name] = noise
        elif name == "labels":
            out[name] = labels
        elif name == "x":
            out[name] = np.asarray(model.export_generate(noise, labels), np.float32)
        else:
            raise ValueError(f"no verification input for {name!r}")
    return out


def reference(fn, specs, inputs) -> dict:
    """Keras' own outputs of `fn` on numpy inputs (in spec order)."""
    result = fn(*[tf.constant(inputs[name]) for name in specs])
    return {k: np.asarray(v) for k, v in result.items()}


def compare(name, got: dict, want: dict, batch) -> float:
    """Max |got - want| over the outputs; raises `ExportMismatchError` past ATOL + RTOL |want|."""
    worst = 0.0
    for key, expected in want.items():
        actual = np.asarray(got[key])
        if actual.shape != expected.shape:
            raise ExportMismatchError(f"{name}/{key} at batch {batch}: shape {actual.shape}, Keras {expected.shape}")
        diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
        if not np.all(diff <= ATOL + RTOL * np.abs(expected.astype(np.float64))):
            raise ExportMismatchError(f"{name}/{key} at batch {batch} differs from Keras by up to {diff.max():.3g} "
                                      f"(tolerance {ATOL:g} + {RTOL:g} |value|)")
        worst = max(worst, float(diff.max()) if diff.size else 0.0)
    return worst


VERIFY_BATCHES = (1, 3)

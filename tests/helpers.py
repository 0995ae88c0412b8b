"""Checks every generative model needs, shared by the tests of each family."""

from __future__ import annotations

import functools
import os
import tempfile

import numpy as np

import kerasgen as kg

DATA_KINDS = ("vectors", "images", "pairs", "unpaired")

SMALL = dict(base_filters=8, hidden=(32, 32))


def build(name, data_shape, num_classes=10, **kwargs):
    """A small instance of preset `name` (conditional presets get `num_classes`)."""
    preset = kg.registry.get_preset(name)
    classes = num_classes if preset.needs_classes else None
    return kg.models.get(name, data_shape=data_shape, num_classes=classes, **{**SMALL, **kwargs})


def fake_data(data_shape, n=32, num_classes=10, seed=0):
    """Images in [-1, 1] or vectors on an arbitrary scale, with int labels."""
    rng = np.random.default_rng(seed)
    if len(data_shape) == 3:
        x = rng.uniform(-1, 1, (n, *data_shape)).astype("float32")
    else:
        x = (rng.normal(size=(n, *data_shape)) * 3.0 + 10.0).astype("float32")
    return x, (np.arange(n) % num_classes).astype("int32")


def fit_few_steps(model, x, y, steps=2, batch_size=16):
    """Fits `steps` batches and returns the last value of every metric."""
    n = steps * batch_size
    args = (x[:n], y[:n]) if getattr(model, "num_classes", None) else (x[:n],)
    history = model.fit(*args, batch_size=batch_size, epochs=1, shuffle=False, verbose=0).history
    return {k: v[-1] for k, v in history.items()}


def assert_trains_under_xla(name):
    """Preset `name` (small, 8x8 images) fits two steps with an XLA-compiled train step, finite metrics."""
    model = build(name, (8, 8, 1), seed=2)
    model.compile(jit_compile=True)
    assert_finite_metrics(fit_few_steps(model, *fake_data((8, 8, 1))))
    # rejects: XLA silently off (Keras turns jit_compile off, with only a warning, when a layer has
    # supports_jit=False; or compile dropping the keyword): the step above would then run unjitted
    assert model.jit_compile is True


def assert_finite_metrics(metrics):
    assert metrics, "fit returned no metrics"
    for name, value in metrics.items():
        assert np.isfinite(value), f"metric {name} is not finite: {value}"


def assert_samples(samples, n, data_shape, is_image):
    assert samples.shape == (n, *data_shape)
    assert samples.dtype == np.float32
    assert np.isfinite(samples).all()
    if is_image:
        assert samples.min() >= -1.0 and samples.max() <= 1.0


def build_fit_sample(name, shape, metric_names, seed=1):
    """Builds preset `name` small, fits two steps, checks metrics and samples.

    Returns:
        (model, x, samples): the fitted model, its training data and 5 samples for seed 3.
    """
    model = build(name, shape, seed=seed)
    model.compile()
    x, y = fake_data(shape)
    metrics = fit_few_steps(model, x, y)
    assert_finite_metrics(metrics)
    assert set(metric_names) <= set(metrics)
    samples = model.sample(5, seed=3)
    assert_samples(samples, 5, shape, is_image=len(shape) == 3)
    np.testing.assert_array_equal(samples, model.sample(5, seed=3))
    return model, x, samples


def train_save_resume(name, seed, path):
    """Fits preset `name` one epoch, saves it, then fits two more epochs both on the
    original and on a reloaded copy.

    Returns:
        (model, resumed_model, uninterrupted_history, resumed_history).
    """
    x, _ = fake_data((8, 8, 1), n=64)
    model = build(name, (8, 8, 1), seed=seed)
    model.compile()
    model.fit(x, batch_size=16, epochs=1, shuffle=False, verbose=0)
    kg.io.save_model(model, path)
    uninterrupted = model.fit(x, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    resumed_model = kg.models.load(path)
    resumed = resumed_model.fit(x, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    return model, resumed_model, uninterrupted, resumed


# ---- the preset contract (tests/test_presets.py) --------------------------------------------
def contract_cases():
    """(preset, data kind) for every registered preset and each data kind it declares."""
    return [(name, kind) for name, preset in kg.models.list().items() for kind in preset.data]


def contract_data(name, kind):
    """The contract's data of preset `name` on `kind`: inpainting gets pairs with holes."""
    return data_for("inpaint-pairs" if name == "inpaint" else kind)


def batch_of(model, data, start, stop):
    """The positional `fit` arguments of examples [start, stop): (x,), (x, labels) for conditional
    models, (source, target) or (a, b) for translation models."""
    if getattr(model, "conditional", False) or hasattr(model, "translate"):
        return data.x[start:stop], data.y[start:stop]
    return (data.x[start:stop],)


@functools.lru_cache(maxsize=None)
def data_for(kind):
    """`ArrayData` of one kind: "vectors" (64 toy2d:8gaussians points labelled with their mode, 8 classes),
    "images" (scikit-learn's 8x8 digits, 10 classes, 17 levels), "rgb" (an npz of 48 random RGB
    32x32 uint8 images, 4 classes); for translation `x` holds the sources and `y` the targets:
    "pairs" (digits, 2x super-resolution), "inpaint-pairs" (digits with box holes), "unpaired" (digits
    and inverted digits, unpaired)."""
    if kind == "vectors":
        x = kg.data.load_arrays("toy2d:8gaussians", n_samples=64, seed=0).x
        mode = np.round(np.arctan2(x[:, 1], x[:, 0]) / (np.pi / 4)).astype(int) % 8
        return kg.data.arrays.from_arrays(x, mode, "toy2d:8gaussians")
    if kind == "images":
        return kg.data.load_arrays("digits")
    if kind in ("pairs", "inpaint-pairs"):  # digits: 2x super-resolution (4x4 -> 8x8), or inpainting boxes
        pairs = kg.data.pair_arrays("digits", "inpaint" if kind == "inpaint-pairs" else "superres", factor=2)
        return kg.data.arrays.ArrayData(pairs.source, pairs.target, pairs.info)
    if kind == "unpaired":  # digits (A) and inverted digits (B), 763 of each, in independent orders
        domains = kg.data.unpaired_arrays("digits", transform_b="invert")
        n = min(len(domains.a), len(domains.b))
        order = np.random.default_rng(0).permutation(n)
        return kg.data.arrays.ArrayData(domains.a[:n], domains.b[order], domains.info)
    if kind == "rgb":
        rng = np.random.default_rng(0)
        path = os.path.join(tempfile.mkdtemp(prefix="kerasgen-rgb-"), "rgb32.npz")
        np.savez(path, x=rng.integers(0, 256, (48, 32, 32, 3), dtype=np.uint8), y=np.arange(48) % 4)
        return kg.data.load_arrays(f"npz:{path}", split="all")
    raise ValueError(kind)


def preset_model(name, info, **overrides):
    """Preset `name` in its small configuration, from the data info alone."""
    return kg.models.get(name, data=info, **{"seed": 1, **kg.registry.get_preset(name).small, **overrides})


def small_export_model(name):
    """A small untrained instance for export checks: on vectors for flows that model them, else on
    images; standardisation learned; every weight moved off its initial value (zero-initialised output
    layers make fresh couplings the identity, which would export without exercising their graphs)."""
    preset = kg.registry.get_preset(name)
    kind = "vectors" if preset.family == "flow" and preset.supports("vectors") else "images"
    data = data_for(kind)
    model = preset_model(name, data.info, seed=0)
    model.adapt(data.x)
    return perturb_weights(model, 0.05)


def perturb_weights(model, scale, seed=1):
    """Adds seeded N(0, scale^2) noise to every trainable weight (in place) and returns the model:
    a few training steps from zero-initialised output layers leave flows and decoders near the
    identity, which checks of invertibility, log-determinants or exports would pass trivially."""
    rng = np.random.default_rng(seed)
    for var in model.trainable_variables:
        var.assign(var.numpy() + scale * rng.standard_normal(var.shape).astype(var.dtype))
    return model


def fit_and_average_generator(model, x, batch_size, decay):
    """Fits `model` one epoch on x (in order, one step per execution) and returns (the closed-form weight average of
    its generator after each update, float64 arrays: a_t = d_t a_{t-1} + (1 - d_t) w_t with d_t the warmed-up decay,
    a_0 the initial weights; the number of updates)."""
    import keras

    average = [w.numpy().astype("float64") for w in model.generator.weights]
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append([w.numpy() for w in model.generator.weights]))
    model.fit(x, batch_size=batch_size, epochs=1, shuffle=False, verbose=0, callbacks=[record])
    for t, weights in enumerate(seen, start=1):
        d = min(decay, (1.0 + t) / (10.0 + t))  # worked out here, not by the code under test
        average = [d * a + (1 - d) * w for a, w in zip(average, weights)]
    return average, len(seen)

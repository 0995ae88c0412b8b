"""Image flows: dequantisation, logit, squeeze and factor-out, checkerboard and channel masks, Glow's
ActNorm and invertible 1x1 convolution, and the discrete likelihood they report."""

import math

import numpy as np
import pytest
import tensorflow as tf

import kerasgen as kg
from kerasgen.models import flows
from tests.helpers import assert_finite_metrics, fit_few_steps

SHAPE = (8, 8, 1)
# nice, realnvp, nsf and glow are multi-scale; maf stands for the vector presets on flattened pixels
IMAGE_FLOWS = ["nice", "realnvp", "nsf", "glow", "maf"]
SMALL = {"glow": dict(channels=8, num_steps=2), "maf": dict(hidden=(32, 32), num_steps=2)}


def small_image_flow(name, **kw):
    return kg.models.get(name, data_shape=SHAPE, num_levels=17, seed=0, **{**SMALL.get(name, dict(channels=8)), **kw})


def digits(n=256, split="train"):
    return kg.data.load_arrays("digits", split=split).x[:n]


@pytest.fixture(scope="module")
def trained():
    """Each preset after a few epochs on 256 digits (17 levels), with its NLL history."""
    x = digits()

    class Trained(dict):  # trained on first use, so deselected presets cost nothing
        def __missing__(self, name):
            model = small_image_flow(name)
            model.compile()
            self[name] = (model, model.fit(x, batch_size=64, epochs=3, shuffle=False, verbose=0).history["nll"])
            return self[name]

    return Trained()


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow)
                                  for n in ("glow", "nice", "realnvp", "nsf", "maf")])
def test_training_lowers_the_nll_and_every_variable_gets_a_gradient(name, trained):
    model, history = trained[name]
    assert history[-1] < history[0] - 1.0
    with tf.GradientTape() as tape:
        nll = -tf.reduce_mean(model._log_prob(digits(32), None, noise_seed=tf.constant([1, 2])))
    grads = tape.gradient(nll, model.trainable_variables)
    for var, grad in zip(model.trainable_variables, grads):
        assert grad is not None and np.abs(grad.numpy()).max() > 0, f"{var.path} gets no gradient"


def test_save_and_reload_keep_log_prob_samples_and_actnorm(tmp_path):
    model = small_image_flow("glow")
    model.initialize(digits(64))  # ActNorm's data-dependent initialisation, as the first batch does
    path = str(tmp_path / "flow.keras")
    model.save(path)
    loaded = kg.models.load(path)
    x = digits(16, split="test")
    np.testing.assert_allclose(loaded.log_prob(x), model.log_prob(x), atol=1e-4)
    samples = loaded.sample(4, seed=0)
    assert samples.shape == (4, *SHAPE)
    levels = (samples + 1.0) / 2.0 * 16.0  # samples are quantised to the 17 levels in [-1, 1]
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)
    np.testing.assert_array_equal(samples, model.sample(4, seed=0))
    for step in loaded._data_init_steps():
        assert float(step.initialized.numpy()) == 1.0


def test_actnorm_data_init_standardises_its_input_and_runs_once():
    model = small_image_flow("glow")
    x = digits(128)
    model.initialize(x)
    first = model.flow_steps[-3]  # from the data side: logit, squeeze, then the first ActNorm
    assert isinstance(first, flows.ActNormStep)
    h = model._dequantize(tf.constant(x), tf.constant([0, 0]))  # the noise `initialize` draws
    for step in model.flow_steps[:-3:-1]:
        h = step.bijector().inverse(h)
    out = first.bijector().inverse(h).numpy()
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1.0, atol=1e-3)
    bias = first.bias.numpy().copy()
    # other data: no second initialisation (eagerly; the traced step's own initialisation is checked under -m slow)
    model.compile(optimizer=kg.models.base.keras.optimizers.SGD(0.0), run_eagerly=True)
    model.fit(-x, batch_size=64, epochs=1, verbose=0)
    np.testing.assert_array_equal(first.bias.numpy(), bias)

@pytest.mark.slow

def test_training_initialises_actnorm_on_the_first_batch_inside_the_step():
    model = small_image_flow("glow")
    model.compile()
    x = digits(64)
    model.train_on_batch(x)  # no `fit`: the compiled step initialises
    assert all(float(s.initialized.numpy()) == 1.0 for s in model._data_init_steps())

@pytest.mark.slow

def test_dequantised_likelihood_is_a_normalised_discrete_bound():
    """One pixel, 4 levels, a flow that is only the logit step (alpha = 0.2) on N(0, 1) noise: its
    density puts mass P(0.2 < sigmoid(z) < 0.8) on [0, 1], and exp(E_u[log p((k + u) / L)] - log L)
    summed over the levels is that mass up to a small Jensen gap (the bound is below it)."""
    from scipy.stats import norm

    shape = (1, 1, 1)
    flow = kg.models.Flow([flows.LogitStep(shape, alpha=0.2)], data_shape=shape, num_levels=4)
    x = (np.arange(4, dtype=np.float32) / 3.0 * 2.0 - 1.0).reshape(4, 1, 1, 1)
    bound = np.mean([flow.log_prob(x, seed=s) for s in range(400)], axis=0)
    mass = 2.0 * norm.cdf(math.log(0.8 / 0.2)) - 1.0
    assert mass - 0.01 < np.exp(bound).sum() < mass
    estimate = kg.metrics.log_likelihood(flow, x)
    assert estimate.bits_per_dim == pytest.approx(estimate.nll / math.log(2), rel=1e-9)


def test_noise_of_a_multiscale_flow_has_every_pixel_once():
    model = small_image_flow("realnvp")
    assert model.noise_dim == 64
    z = model.inverse(digits(4))
    assert z.shape == (4, 64)
    np.testing.assert_allclose(model.forward(z), digits(4), atol=1e-5)  # the cell centre maps back to its level


@pytest.mark.slow
@pytest.mark.parametrize("precision, name", [("mixed_bfloat16", "glow"), ("mixed_float16", "realnvp")])
def test_image_flows_train_in_float32_under_mixed_policies(precision, name):
    # rejects: a flow step, conditioner or ActNorm that follows the global mixed policy (computing in
    # bfloat16/float16), and a log-density that differs from a float32 twin's with the same weights
    # (each policy with one architecture: Glow's ActNorm and 1x1 convolutions, RealNVP's masked couplings)
    import keras

    x = digits(8)
    if True:
        keras.mixed_precision.set_global_policy(precision)
        model = small_image_flow(name)
        model.compile()
        assert_finite_metrics(fit_few_steps(model, digits(32), None))
        steps = list(model._flatten_layers(include_self=False))  # flow steps, conditioners, ActNorm, ...
        assert len(steps) > 10 and {layer.compute_dtype for layer in steps} == {"float32"}
        log_prob = model.log_prob(x, seed=0)  # under the mixed policy
        keras.mixed_precision.set_global_policy("float32")
        twin = small_image_flow(name)
        twin.set_weights(model.get_weights())
        # the same float32 computation: measured bit-identical. Conditioner features rounded to
        # bfloat16 on the way moved log_prob by 5e-6 relative (float16: 1.04e-6, only just caught)
        np.testing.assert_allclose(log_prob, twin.log_prob(x, seed=0), rtol=1e-6, atol=1e-6)

@pytest.mark.slow

def test_glow_compiles_with_xla_and_trains_mirrored(strategy):
    # the XLA step learns as the default step does: from the same weights and data, the first epoch's losses
    # agree and the later ones fall as far (measured: 164.01 -> 159.06 nats under XLA, 164.03 -> 159.62 without;
    # on 28x28 MNIST after 32 steps 5.72 against 5.76 bits/dim). Rejects an XLA step that drops the update
    # or the data-dependent initialisation
    xla, default = [], []
    for jit, history in ((True, xla), (False, default)):
        model = small_image_flow("glow")
        model.compile(jit_compile=jit)
        history.extend(model.fit(digits(64), batch_size=16, epochs=3, shuffle=False, verbose=0).history["nll"])
    np.testing.assert_allclose(xla[0], default[0], rtol=1e-3)
    assert default[0] - default[-1] > 2.0, default
    assert xla[0] - xla[-1] > 0.7 * (default[0] - default[-1]), (xla, default)
    with strategy.scope():
        model = small_image_flow("glow")
        model.compile()
    assert_finite_metrics(fit_few_steps(model, digits(32), None))
    assert all(float(s.initialized.numpy()) == 1.0 for s in model._data_init_steps())

@pytest.mark.slow

def test_conditional_image_flow_takes_labels():
    # rejects: a conditional flow that ignores its labels in log_prob or in sampling (the label
    # conditioning starts as a no-op, so two training steps must make the classes differ)
    data = kg.data.load_arrays("digits")
    model = small_image_flow("realnvp", num_classes=10)
    model.compile()
    assert_finite_metrics(fit_few_steps(model, data.x, data.y))
    assert model.sample(3, seed=0, labels=[1, 2, 3]).shape == (3, *SHAPE)
    zeros, fives = (model.log_prob(data.x[:4], labels=[k] * 4, seed=0) for k in (0, 5))  # the same noise
    ones, twos = (model.sample(256, seed=0, labels=[k] * 256) for k in (1, 2))  # the same noise
    assert np.all(np.abs(zeros - fives) > 1e-2), (zeros, fives)  # measured 0.036-0.11 nats; 0 if ignored
    # samples are quantised to 17 levels, so the still small label effect moves few pixels: measured
    # 34 of the 16,384 (each by one level, 0.125); labels ignored move none
    assert np.sum(ones != twos) >= 8 and np.abs(ones - twos).max() >= 0.125 - 1e-6, np.sum(ones != twos)
    with pytest.raises(ValueError, match="pass labels"):
        model.log_prob(data.x[:2])


def test_bad_image_input_gets_a_clear_error():
    model = small_image_flow("glow")
    with pytest.raises(ValueError, match=r"quantised data in \[-1, 1\]"):
        model.log_prob(digits(2) * 3.0)
    with pytest.raises(ValueError, match=r"expects examples of shape \(8, 8, 1\)"):
        model.log_prob(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"z must have shape \(B, 64\)"):
        model.forward(np.zeros((2, 8, 8, 1)))
    with pytest.raises(ValueError, match="models images"):
        kg.models.get("glow", data_shape=(4,))
    with pytest.raises(ValueError, match="divisible by 8"):
        kg.models.get("glow", data_shape=(12, 12, 1), num_scales=3)
    with pytest.raises(ValueError, match="channel mask needs at least 2 channels"):
        flows.ImageCouplingStep((4, 4, 1), mask="channel")
    with pytest.raises(ValueError, match="even height and width"):
        flows.SqueezeStep((5, 4, 1))
    with pytest.raises(ValueError, match=r"works on shape \(4, 4, 4\), but its data side gets \(4, 4, 1\)"):
        kg.models.Flow([flows.LogitStep((4, 4, 4))], data_shape=(4, 4, 1), num_levels=256)


def test_glow_density_gradient_has_no_per_pixel_batched_products():
    # rejects the two layouts that cost a third and a seventh of Glow's 28x28 step on a CPU (163 -> 131 ms
    # per step, then the slices' 24 ms of gradient): the 1x1 convolution as `tf.linalg.matvec`, a batched
    # (C, C) @ (C, 1) product per pixel, and the coupling's parameters taken by strided slices, whose
    # gradients write each one into a zero tensor of the full (B, H, W, C, 2) shape
    import collections

    model = small_image_flow("glow")
    x = digits(16)
    model.initialize(x)
    x_model = tf.constant(model.to_model_space(x))

    @tf.function
    def gradient(x_model):
        with tf.GradientTape() as tape:
            nll = -tf.reduce_mean(model._log_prob(x_model, None, noise_seed=tf.constant([1, 2])))
        return tape.gradient(nll, model.trainable_variables)

    ops = gradient.get_concrete_function(x_model).graph.get_operations()
    types = collections.Counter(op.type for op in ops)
    assert types["MatMul"] > 0 and types["BatchMatMulV2"] == 0, types
    sliced = [op.outputs[0].shape for op in ops if op.type == "StridedSliceGrad" and op.outputs[0].shape.rank == 5]
    assert not sliced, sliced

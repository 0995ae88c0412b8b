"""The GAN step's options against mode collapse: each changes exactly what it claims.

Minibatch layers against their definitions, packing element by element, one-sided label smoothing,
the instance-noise and feature-matching schedules, the unrolled generator update and the weight average against closed
forms on linear toys, feature matching's term and gradient; then resume, bfloat16 and
MirroredStrategy with every option on at once. (The presets pacgan, unrolled-gan, fm-gan and
fgan-* go through the preset contract and export parity in tests/test_presets.py.)
"""

import contextlib

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasgen as kg
from kerasgen.models.adversarial.options import pack, pack_cyclic

SQRT_EPS = 1e-8


# ---- layers ---------------------------------------------------------------------------------------
def test_minibatch_stddev_appends_the_mean_feature_std():
    x = np.random.default_rng(0).normal(size=(6, 4, 4, 3)).astype("float32") * [1.0, 2.0, 0.5]
    out = np.asarray(kg.layers.MinibatchStdDev()(x))
    assert out.shape == (6, 4, 4, 4)
    np.testing.assert_array_equal(out[..., :3], x)
    np.testing.assert_allclose(out[..., 3], np.sqrt(x.var(axis=0) + SQRT_EPS).mean(), rtol=1e-5)
    # groups of 2: example i belongs to group i mod 3 (members i, i + 3)
    grouped = np.asarray(kg.layers.MinibatchStdDev(group_size=2)(x))[..., 3]
    for i in range(6):
        members = x[[i % 3, i % 3 + 3]]
        np.testing.assert_allclose(grouped[i], np.sqrt(members.var(axis=0) + SQRT_EPS).mean(), rtol=1e-5)
    vectors = np.asarray(kg.layers.MinibatchStdDev()(x[:, 0, 0]))  # (B, C) -> (B, C + 1)
    np.testing.assert_allclose(vectors[:, 3], np.sqrt(x[:, 0, 0].var(axis=0) + SQRT_EPS).mean(), rtol=1e-5)
    with pytest.raises(Exception, match="divides by the group size"):
        kg.layers.MinibatchStdDev(group_size=4)(x)


def test_minibatch_discrimination_follows_salimans_et_al():
    layer = kg.layers.MinibatchDiscrimination(num_kernels=3, kernel_dim=2)
    x = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")
    out = np.asarray(layer(x))
    layer.bias.assign([0.5, 0.0, -1.0])
    out = np.asarray(layer(x))
    m = (x @ layer.kernel.numpy()).reshape(5, 3, 2)
    closeness = np.exp(-np.abs(m[:, None] - m[None, :]).sum(-1))  # (B, B, K)
    want = closeness.sum(axis=1) - 1.0 + [0.5, 0.0, -1.0]  # every other example j != i
    assert out.shape == (5, 7)
    np.testing.assert_array_equal(out[:, :4], x)
    np.testing.assert_allclose(out[:, 4:], want, rtol=1e-5)
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert (again.num_kernels, again.kernel_dim) == (3, 2)


def test_pack_places_m_examples_in_one():
    x = np.arange(8 * 2 * 2 * 3, dtype="float32").reshape(8, 2, 2, 3)
    packed = pack(tf.constant(x), 4).numpy()
    assert packed.shape == (2, 2, 2, 12)
    for i in range(2):
        for k in range(4):
            np.testing.assert_array_equal(packed[i, :, :, 3 * k:3 * k + 3], x[4 * i + k])
    vectors = np.arange(12, dtype="float32").reshape(6, 2)
    np.testing.assert_array_equal(pack(tf.constant(vectors), 3).numpy(), [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
    with pytest.raises(ValueError, match="divides by 4"):
        pack(tf.constant(x[:6]), 4)


def test_cyclic_packs_open_at_every_example():
    x = np.arange(5 * 2 * 2 * 3, dtype="float32").reshape(5, 2, 2, 3)
    packed = pack_cyclic(tf.constant(x), 3).numpy()
    assert packed.shape == (5, 2, 2, 9)
    for i in range(5):
        for k in range(3):
            np.testing.assert_array_equal(packed[i, :, :, 3 * k:3 * k + 3], x[(i + k) % 5])
    # every example sits in m packs, once at each position, and no pack repeats an example
    vectors = np.arange(4, dtype="float32").reshape(4, 1)
    np.testing.assert_array_equal(pack_cyclic(tf.constant(vectors), 3).numpy(),
                                  [[0, 1, 2], [1, 2, 3], [2, 3, 0], [3, 0, 1]])
    unpacked = tf.constant(vectors)
    assert pack_cyclic(unpacked, 1) is unpacked
    with pytest.raises(ValueError, match="at least 3 examples"):
        pack_cyclic(tf.constant(vectors[:2]), 3)


# ---- networks and checks -----------------------------------------------------------------------------
def _layers_of(model, cls):
    return [layer for layer in model._flatten_layers() if isinstance(layer, cls)]


def test_networks_are_built_for_the_options_and_checked():
    gan = kg.models.GAN("mlp", "mlp", latent_dim=4, data_shape=(2,), pack=3, minibatch_stddev=True,
                        minibatch_discrimination=5, feature_matching=0.5)
    d = gan.discriminator
    assert tuple(d.inputs[0].shape[1:]) == (6,)
    assert len(_layers_of(d, kg.layers.MinibatchStdDev)) == 1
    assert [layer.num_kernels for layer in _layers_of(d, kg.layers.MinibatchDiscrimination)] == [5]
    assert "features" in d.output
    config = gan.get_config()
    assert (config["pack"], config["minibatch_stddev"], config["minibatch_discrimination"],
            config["feature_matching"]) == (3, True, 5, 0.5)
    # presets size their networks for the options, on images too
    image = kg.models.get("dcgan", data_shape=(8, 8, 1), base_filters=4, pack=2, minibatch_stddev=True)
    assert tuple(image.discriminator.inputs[0].shape[1:]) == (8, 8, 2)
    assert len(_layers_of(image.discriminator, kg.layers.MinibatchStdDev)) == 1
    # the user's networks must fit the options
    g, plain = kg.networks.mlp_generator((2,), 4), kg.networks.mlp_discriminator((2,))
    for options, message in [(dict(pack=2), r"pack=2 gives \(4,\)"), (dict(minibatch_stddev=True), "MinibatchStdDev"),
                             (dict(minibatch_discrimination=3), "MinibatchDiscrimination"),
                             (dict(feature_matching=1.0), "'features' head"),
                             (dict(label_smoothing=0.1, loss="hinge"), "label_smoothing needs a loss with a real target"),
                             (dict(label_smoothing=1.0), r"\[0, 1\)"), (dict(ema_decay=1.0), "ema_decay"),
                             (dict(pack_mode="overlapping"), "pack_mode must be one of 'disjoint', 'cyclic'")]:
        with pytest.raises(ValueError, match=message):
            kg.models.GAN(g, plain, latent_dim=4, **options)
    with pytest.raises(ValueError, match="pack > 1 cannot be combined with per-example heads"):
        kg.models.get("infogan", data_shape=(2,), hidden=(8,), pack=2)


# ---- the step, on linear toys --------------------------------------------------------------------------
def _constant_generator(dim=2):
    """z -> b: a generator whose output is its bias (the kernel sees 0 and gets a zero gradient)."""
    return keras.Sequential([keras.Input((3,)), keras.layers.Rescaling(0.0), keras.layers.Dense(dim, name="g")])


def _linear_critic(w, c=0.0, features=False):
    x = keras.Input((len(w),))
    dense = keras.layers.Dense(1, name="d", kernel_initializer=keras.initializers.Constant(np.reshape(w, (-1, 1))),
                               bias_initializer=keras.initializers.Constant(c))
    out = {"logit": dense(x), "features": x} if features else dense(x)
    return keras.Model(x, out)


def _recorded_calls(network):
    """Records the inputs of every call of `network` (eager steps)."""
    calls, call = [], network.call

    def recording(inputs, *args, **kwargs):
        calls.append(np.array(inputs))
        return call(inputs, *args, **kwargs)

    network.call = recording
    return calls


@pytest.mark.parametrize("distributed", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["one-device", "mirrored"])
def test_unrolled_generator_update_is_the_closed_form_and_leaves_the_discriminator_alone(distributed, strategy):
    """Wasserstein loss, linear critic f(x) = w.x + c, generator output b: a discriminator SGD step
    moves w by -lr_d (b - r) (r: the mean real example); k unrolled steps of size eta give
    w_k = w' - k eta (b - r), and the generator's loss -w_k.b has the gradient -w' + k eta (2 b - r):
    the discriminator's reaction is in it exactly. Under two replicas the inner gradients must be
    summed over the replicas (each replica sees half the batch) for the same update."""
    w, lr_d, lr_g, eta, k = np.array([0.3, -0.7]), 0.05, 0.1, 0.2, 3
    real = np.random.default_rng(0).normal(size=(16, 2)).astype("float32") + [1.0, -2.0]
    models = {}
    for steps in (0, k):
        with strategy.scope() if distributed else contextlib.nullcontext():
            gan = kg.models.GAN(_constant_generator(), _linear_critic(w), latent_dim=3, loss="wasserstein",
                                unrolled_steps=steps, unrolled_learning_rate=eta, seed=5)
            gan.generator.set_weights([np.zeros((3, 2), "float32"), np.array([0.5, 0.25], "float32")])
            gan.compile(g_optimizer=keras.optimizers.SGD(lr_g), d_optimizer=keras.optimizers.SGD(lr_d))
        gan.fit(real, batch_size=16, epochs=1, shuffle=False, verbose=0)  # one traced step
        models[steps] = gan
    b, r = np.array([0.5, 0.25]), real.mean(axis=0)
    w_after = w - lr_d * (b - r)  # the discriminator update comes first, the same in both
    for gan in models.values():
        np.testing.assert_allclose(gan.discriminator.get_weights()[0][:, 0], w_after, rtol=1e-5)
    np.testing.assert_allclose(models[0].generator.get_weights()[1], b + lr_g * w_after, rtol=1e-5)
    np.testing.assert_allclose(models[k].generator.get_weights()[1], b - lr_g * (-w_after + k * eta * (2 * b - r)),
                               rtol=1e-5)


def test_unrolling_leaves_the_discriminator_exactly_as_a_plain_step():
    # rejects: an unrolled copy whose updates (or spectral norm's power iteration in it) reach the
    # discriminator's variables; and one that skips the discriminator's own call in the generator step
    # (spectral normalisation then moves its state differently from a plain step). Eager steps: tracing the
    # second-order gradient through spectral normalisation's conditional takes about 40 s on 2 cores.
    x = kg.data.load_arrays("toy2d:8gaussians", n_samples=32, seed=0).x
    plain = kg.models.get("sngan", data_shape=(2,), latent_dim=4, hidden=(16, 16), seed=3)
    unrolled = kg.models.get("sngan", data_shape=(2,), latent_dim=4, hidden=(16, 16), seed=3, unrolled_steps=3)
    unrolled.set_weights(plain.get_weights())
    for model in (plain, unrolled):
        model.compile(run_eagerly=True)
        model.fit(x, batch_size=32, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(plain.discriminator.weights, unrolled.discriminator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    moved = [np.abs(a.numpy() - b.numpy()).max() for a, b in zip(plain.generator.weights, unrolled.generator.weights)]
    assert max(moved) > 1e-6  # the generator's update did change


def test_label_smoothing_moves_only_the_real_target():
    # a critic whose logit is c everywhere: with smoothing a the real term is the cross-entropy against 1 - a
    c, a = 1.5, 0.2
    softplus = lambda t: np.logaddexp(0.0, t)  # noqa: E731
    want = {("non_saturating", 0.0): (softplus(-c) + softplus(c), softplus(-c)),
            ("non_saturating", a): (softplus(c) - (1 - a) * c + softplus(c), softplus(-c)),
            ("least_squares", a): (0.5 * (c - (1 - a)) ** 2 + 0.5 * c**2, 0.5 * (c - 1) ** 2)}
    for (loss, smoothing), (d_loss, g_loss) in want.items():
        gan = kg.models.GAN(_constant_generator(), _linear_critic([0.0, 0.0], c), latent_dim=3, loss=loss,
                            label_smoothing=smoothing)
        gan.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.SGD(0.0), run_eagerly=True)
        history = gan.fit(np.ones((16, 2), "float32"), batch_size=16, verbose=0).history
        np.testing.assert_allclose([history["d_loss"][0], history["g_loss"][0]], [d_loss, g_loss], rtol=1e-6)


def test_instance_noise_anneals_to_zero_at_the_end_of_its_schedule():
    sigma, steps = 0.5, 2
    g = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8)])
    d = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    gan = kg.models.GAN(g, d, latent_dim=3, instance_noise=sigma, instance_noise_steps=steps, seed=1)
    gan.compile(run_eagerly=True)
    calls = _recorded_calls(d)
    real = np.random.default_rng(0).normal(size=(64 * 3, 8)).astype("float32")
    gan.fit(real, batch_size=64, epochs=1, shuffle=False, verbose=0)
    assert len(calls) == 3 * 3  # per step: real and fake for D's update, fake for G's
    for step in range(3):
        seen = calls[3 * step] - real[64 * step:64 * (step + 1)]
        scale = sigma * max(0.0, 1.0 - step / steps)  # 0.5, 0.25, then 0 from step 2 on
        if scale:
            assert abs(seen.std() / scale - 1.0) < 0.1, (step, seen.std())
        else:
            np.testing.assert_array_equal(seen, 0.0)
    assert float(gan.options.noise_scale(steps)) == 0.0 == float(gan.options.noise_scale(10 * steps))


def test_pacgan_step_shows_the_discriminator_packs_of_real_and_of_generated():
    g = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    gan = kg.models.GAN(g, d, latent_dim=3, pack=2, seed=1)
    gan.compile(run_eagerly=True)
    calls = _recorded_calls(d)
    real = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
    history = gan.fit(real, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    assert [c.shape for c in calls] == [(4, 4)] * 3
    np.testing.assert_array_equal(calls[0], real.reshape(4, 4))  # pack i = (real 2i, real 2i + 1)
    assert np.isfinite(history["d_loss"][0])
    with pytest.raises(Exception, match="divides by 2"):
        gan.fit(real[:6], batch_size=3, epochs=1, verbose=0)


def test_cyclic_pacgan_step_shows_the_discriminator_a_pack_per_example():
    g = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    gan = kg.models.GAN(g, d, latent_dim=3, pack=2, pack_mode="cyclic", seed=1)
    assert gan.get_config()["pack_mode"] == "cyclic"
    gan.compile(run_eagerly=True)
    calls = _recorded_calls(d)
    real = np.random.default_rng(0).normal(size=(6, 2)).astype("float32")
    history = gan.fit(real, batch_size=6, epochs=1, shuffle=False, verbose=0).history  # 6 need not divide by 2
    assert [c.shape for c in calls] == [(6, 4)] * 3
    np.testing.assert_array_equal(calls[0], np.concatenate([real, np.roll(real, -1, axis=0)], axis=1))
    fake = calls[1]  # each generated example opens one pack and closes the one before
    np.testing.assert_array_equal(fake[:, 2:], np.roll(fake[:, :2], -1, axis=0))
    assert np.isfinite(history["d_loss"][0])


def test_feature_matching_adds_its_term_and_gradient():
    """Features f(x) = x, generator output b, frozen linear critic: the reported term is ||r - b||^2 and the
    generator's gradient -w + 2 lam (b - r)."""
    w, lam, lr_g = np.array([0.3, -0.7]), 0.5, 0.1
    gan = kg.models.GAN(_constant_generator(), _linear_critic(w, features=True), latent_dim=3, loss="wasserstein",
                        feature_matching=lam)
    b = np.array([0.5, 0.25], "float32")
    gan.generator.set_weights([np.zeros((3, 2), "float32"), b])
    gan.compile(g_optimizer=keras.optimizers.SGD(lr_g), d_optimizer=keras.optimizers.SGD(0.0), run_eagerly=True)
    real = np.random.default_rng(0).normal(size=(16, 2)).astype("float32") + [1.0, -2.0]
    history = gan.fit(real, batch_size=16, epochs=1, shuffle=False, verbose=0).history
    r = real.mean(axis=0)
    np.testing.assert_allclose(history["feature_loss"][0], np.sum((r - b) ** 2), rtol=1e-5)
    np.testing.assert_allclose(gan.generator.get_weights()[1], b - lr_g * (-w + 2 * lam * (b - r)), rtol=1e-5)


def test_feature_matching_schedule_scales_the_generators_gradient_down_to_zero():
    """The feature-matching test's toy with `feature_matching_steps=2` and every batch of the same real examples:
    the generator's bias moves by lr (w - 2 lam_t (b_t - r)) with lam_t = lam, lam / 2, then 0 from step 2 on,
    while the reported term stays the unweighted ||r - b_t||^2."""
    w, lam, lr_g, steps = np.array([0.3, -0.7]), 0.5, 0.1, 2
    gan = kg.models.GAN(_constant_generator(), _linear_critic(w, features=True), latent_dim=3, loss="wasserstein",
                        feature_matching=lam, feature_matching_steps=steps)
    b = np.array([0.5, 0.25])
    gan.generator.set_weights([np.zeros((3, 2), "float32"), b.astype("float32")])
    gan.compile(g_optimizer=keras.optimizers.SGD(lr_g), d_optimizer=keras.optimizers.SGD(0.0), run_eagerly=True)
    batch = np.random.default_rng(0).normal(size=(16, 2)).astype("float32") + [1.0, -2.0]
    r = batch.mean(axis=0)
    for t in range(4):
        history = gan.fit(batch, batch_size=16, epochs=1, shuffle=False, verbose=0).history
        np.testing.assert_allclose(history["feature_loss"][0], np.sum((r - b) ** 2), rtol=1e-5, err_msg=f"step {t}")
        b = b - lr_g * (-w + 2 * lam * max(0.0, 1.0 - t / steps) * (b - r))
        np.testing.assert_allclose(gan.generator.get_weights()[1], b, rtol=1e-5, err_msg=f"step {t}")
    assert [float(gan.options.feature_matching_weight(t)) for t in (0, 1, 2, 50)] == [lam, lam / 2, 0.0, 0.0]
    assert float(kg.models.GAN(_constant_generator(), _linear_critic(w, features=True), latent_dim=3,
                               feature_matching=lam).options.feature_matching_weight(10**6)) == lam  # no schedule
    for bad, message in [(dict(feature_matching=lam, feature_matching_steps=0), "feature_matching_steps must be >= 1"),
                         (dict(feature_matching_steps=5), "set feature_matching > 0")]:
        with pytest.raises(ValueError, match=message):
            kg.models.GAN(_constant_generator(), _linear_critic(w, features=True), latent_dim=3, **bad)


def test_ema_weights_are_the_closed_form_average_and_are_what_samples_and_export_use():
    """Constant gradient -w on the generator's output b (frozen linear critic, Wasserstein loss, SGD lr):
    b_t = b_0 + t lr w. The average is a_t = d_t a_{t-1} + (1 - d_t) b_t with the warmed-up decay
    d_t = min(d, (1 + t) / (10 + t)), below d for t < 12.5 at d = 0.6; after 20 steps it is
    b_0 + lr w (20 - sum_{s=1}^{20} prod_{t=s}^{20} d_t)."""
    w, lr, decay, steps = np.array([0.3, -0.7]), 0.1, 0.6, 20
    gan = kg.models.GAN(_constant_generator(), _linear_critic(w), latent_dim=3, loss="wasserstein", ema_decay=decay)
    b0 = gan.generator.get_weights()[1].copy()
    gan.compile(g_optimizer=keras.optimizers.SGD(lr), d_optimizer=keras.optimizers.SGD(0.0))
    gan.fit(np.zeros((16 * steps, 2), "float32"), batch_size=16, epochs=1, verbose=0)
    np.testing.assert_allclose(gan.generator.get_weights()[1], b0 + steps * lr * w, rtol=1e-5)
    d = np.minimum(decay, (1.0 + np.arange(1, steps + 1)) / (10.0 + np.arange(1, steps + 1)))
    lag = sum(np.prod(d[s:]) for s in range(steps))  # how many steps behind b_T the average is
    average = b0 + lr * w * (steps - lag)
    plain = b0 + lr * w * (steps - decay * (1 - decay**steps) / (1 - decay))  # the average without the warm-up
    assert np.abs(average - plain).max() > 1e-4
    np.testing.assert_allclose(gan.ema_generator.get_weights()[1], average, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(gan.ema_generator.get_weights()[0], gan.generator.get_weights()[0])  # no gradient
    # sampling and the exported function use the average, not the last weights
    np.testing.assert_allclose(gan.sample(3, seed=0), np.tile(average, (3, 1)), rtol=1e-5, atol=1e-7)
    z = tf.constant(np.random.default_rng(0).normal(size=(3, 3)), tf.float32)
    np.testing.assert_allclose(np.asarray(gan.export_generate(z)), np.tile(average, (3, 1)), rtol=1e-5, atol=1e-7)


# ---- resume, precision, strategies with every option on -----------------------------------------------------
ALL_OPTIONS = dict(pack=2, pack_mode="cyclic", minibatch_stddev=True, minibatch_discrimination=4, feature_matching=0.5,
                   feature_matching_steps=3, label_smoothing=0.1, instance_noise=0.3, instance_noise_steps=5, unrolled_steps=2, ema_decay=0.9)


def _all_options_model(shape=(2,), **kwargs):
    return kg.models.get("gan", data_shape=shape, latent_dim=4, hidden=(16, 16), seed=2, **{**ALL_OPTIONS, **kwargs})


def test_every_option_at_once_resumes_exactly(tmp_path):
    # rejects: a reload that loses the weight average, the noise schedule's clock or the options' config.
    # (Unrolling is stateless, and the unrolled-gan preset resumes exactly in the preset contract.)
    x = kg.data.load_arrays("toy2d:8gaussians", n_samples=64, seed=0).x
    model = _all_options_model(unrolled_steps=0)
    model.compile(run_eagerly=True)
    model.fit(x[:32], batch_size=16, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "m.keras")
    kg.io.save_model(model, path)
    loaded = kg.models.load(path)
    assert {k: loaded.get_config()[k] for k in ALL_OPTIONS} == {**ALL_OPTIONS, "unrolled_steps": 0}
    loaded.run_eagerly = True
    uninterrupted = model.fit(x[32:], batch_size=16, epochs=1, shuffle=False, verbose=0).history
    assert loaded.fit(x[32:], batch_size=16, epochs=1, shuffle=False, verbose=0).history == uninterrupted
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)
    assert not np.allclose(model.ema_generator.get_weights()[0], model.generator.get_weights()[0])


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(2,), (8, 8, 1)], ids=["vectors", "images"])
def test_every_option_at_once_trains_under_mixed_bfloat16(shape):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = _all_options_model(shape, base_filters=4)
    model.compile()
    assert "bfloat16" in {layer.compute_dtype for layer in model.discriminator._flatten_layers()}
    x = np.random.default_rng(0).uniform(-1, 1, (32, *shape)).astype("float32")
    history = model.fit(x, batch_size=16, epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in history.values()), history
    samples = model.sample(4, seed=0)
    assert samples.dtype == np.float32 and np.isfinite(samples).all()


@pytest.mark.slow
def test_every_option_at_once_trains_under_mirrored_strategy(strategy):
    # the per-replica batch (8) holds at least one pack. (No comparison with one device: the minibatch
    # layers see each replica's batch, so the discriminator's outputs depend on how the batch is split; the
    # unrolled update's exactness under two replicas is checked on the linear toy above.)
    x = kg.data.load_arrays("toy2d:8gaussians", n_samples=64, seed=0).x
    with strategy.scope():
        mirrored = _all_options_model()
        mirrored.compile()
    history = mirrored.fit(tf.data.Dataset.from_tensor_slices(x).batch(16), epochs=1, verbose=0).history
    assert set(history) == {"d_loss", "g_loss", "feature_loss"}
    assert all(np.isfinite(v[-1]) for v in history.values()), history
    assert int(mirrored.g_optimizer.iterations.numpy()) == 4
    assert not np.allclose(mirrored.ema_generator.get_weights()[0], mirrored.generator.get_weights()[0])


@pytest.mark.slow
def test_the_exported_generator_is_the_weight_average(tmp_path):
    # rejects: an export that serves the last generator weights instead of their average
    x = kg.data.load_arrays("toy2d:8gaussians", n_samples=64, seed=0).x
    model = kg.models.get("gan", data_shape=(2,), latent_dim=4, hidden=(16, 16), seed=2, ema_decay=0.5)
    model.compile(g_optimizer=keras.optimizers.Adam(0.05), d_optimizer=keras.optimizers.Adam(0.05))
    model.fit(x, batch_size=16, epochs=2, verbose=0)
    z = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    average = model.generate(z)
    last = np.asarray(model.to_data_space(model.generator(z)))
    assert np.abs(average - last).max() > 1e-2
    files = kg.export.onnx(model, str(tmp_path / "gan.onnx"))
    np.testing.assert_allclose(kg.export.OnnxGenerator(files["generate"]).generate(z), average, atol=1e-4)
    served = tf.saved_model.load(kg.export.saved_model(model, str(tmp_path / "saved")))
    np.testing.assert_allclose(served.signatures["serving_default"](z=tf.constant(z))["samples"].numpy(), average,
                               atol=1e-4)

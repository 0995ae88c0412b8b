"""BEGAN's equilibrium control and convergence measure, VEEGAN's players and terms; resume, bfloat16
and MirroredStrategy for both (the preset contract in test_presets.py covers build, reload, export)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasgen as kg
from helpers import build, fake_data, fit_and_average_generator, fit_few_steps


def _constant_generator(latent_dim, value):
    """z -> `value` (D,) whatever z: a Dense layer with a zero kernel."""
    value = np.asarray(value, np.float32)
    layer = keras.layers.Dense(len(value), kernel_initializer="zeros",
                               bias_initializer=keras.initializers.Constant(value))
    return keras.Sequential([keras.Input((latent_dim,)), layer])


def _linear(inputs, units, kernel, bias=None):
    dense = keras.layers.Dense(units)
    model = keras.Sequential([keras.Input((inputs,)), dense])
    dense.set_weights([np.asarray(kernel, np.float32).reshape(inputs, units),
                       np.zeros(units, np.float32) if bias is None else np.asarray(bias, np.float32)])
    return model


def _zero_autoencoder(dim):
    """D(v) = 0, so L(v) = mean |v|."""
    return _linear(dim, dim, np.zeros((dim, dim)))


def _frozen(model, eagerly=False):
    model.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.SGD(0.0), run_eagerly=eagerly,
                  steps_per_execution=1)
    return model


# ---- BEGAN -----------------------------------------------------------------------------------
def test_began_one_step_follows_the_paper_in_closed_form():
    # rejects: k_t updated with another sign, gain or gamma; L(v) other than the mean of |v - D(v)|;
    # the discriminator's loss weighted by the updated k instead of k_t; M_global off its formula
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    autoencoder = _linear(3, 3, rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3))
    model = kg.models.BEGAN(_constant_generator(4, [0.2, -0.4, 0.9]), autoencoder, latent_dim=4, gamma=0.7,
                            lambda_k=0.05, k_initial=0.3)
    _frozen(model)
    real_error = np.abs(x - autoencoder(x).numpy()).mean(axis=1)
    np.testing.assert_allclose(model.reconstruction_error(x), real_error, rtol=1e-6)
    fake = np.array([[0.2, -0.4, 0.9]], np.float32)
    fake_error = float(np.abs(fake - autoencoder(fake).numpy()).mean())
    logs = {k: v[0] for k, v in model.fit(x, batch_size=16, epochs=1, verbose=0).history.items()}
    lx = real_error.mean()
    np.testing.assert_allclose([logs["real_error"], logs["fake_error"], logs["g_loss"]], [lx, fake_error, fake_error],
                               rtol=1e-5)
    np.testing.assert_allclose(logs["d_loss"], lx - 0.3 * fake_error, rtol=1e-5)  # k_t, before its update
    k_next = np.clip(0.3 + 0.05 * (0.7 * lx - fake_error), 0.0, 1.0)
    assert abs(k_next - 0.3) > 1e-3  # the step moves k
    np.testing.assert_allclose([logs["k"], float(model.k.numpy())], [k_next, k_next], rtol=1e-6)
    np.testing.assert_allclose(logs["m_global"], lx + abs(0.7 * lx - fake_error), rtol=1e-5)


@pytest.mark.parametrize("gamma,k_initial,bound", [(1.0, 0.0, 1.0), (0.0, 1.0, 0.0)])
def test_began_k_stays_in_the_unit_interval(gamma, k_initial, bound):
    # D(v) = 0: L(x) = mean |x| = 1, L(G(z)) = 0.1; lambda_k = 10 would move k by +9 (gamma 1) or -1 per step
    x = np.where(np.arange(48 * 2).reshape(48, 2) % 2, 1.0, -1.0).astype("float32")
    model = _frozen(kg.models.BEGAN(_constant_generator(2, [0.1, -0.1]), _zero_autoencoder(2), latent_dim=2,
                                    gamma=gamma, lambda_k=10.0, k_initial=k_initial), eagerly=True)
    ks = []
    for _ in range(3):
        model.fit(x, batch_size=16, epochs=1, verbose=0, callbacks=[keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: ks.append(float(model.k.numpy())))])
    assert ks == [bound] * 9


def test_began_k_is_saved_and_training_resumes_exactly(tmp_path):
    x, _ = fake_data((2,), n=32)
    model = kg.models.BEGAN("mlp", "mlp", latent_dim=2, data_shape=(2,), standardize=True, seed=3, k_initial=0.4,
                            lambda_k=0.05)
    model.compile(run_eagerly=True)  # (the traced step resumes exactly in the preset contract)
    model.fit(x, batch_size=16, epochs=1, verbose=0)
    assert 0.0 < float(model.k.numpy()) != 0.4
    path = str(tmp_path / "began.keras")
    kg.io.save_model(model, path)
    loaded = kg.models.load(path)
    loaded.run_eagerly = True
    assert float(loaded.k.numpy()) == float(model.k.numpy())
    assert loaded.fit(x, batch_size=16, epochs=1, verbose=0).history == model.fit(x, batch_size=16, epochs=1,
                                                                                  verbose=0).history
    assert float(loaded.k.numpy()) == float(model.k.numpy())


def test_began_preset_names_its_data_kind():
    # its defaults found 0-2 of the grid's 25 modes; the preset declares images only, the class takes MLPs
    with pytest.raises(ValueError, match="preset 'began' models images, not vectors"):
        kg.models.get("began", data_shape=(2,))
    assert "began" not in kg.models.list(family="adversarial", data="vectors")
    # the size overrides every GAN preset takes still build (MLP widths unused)
    model = kg.models.get("began", data_shape=(8, 8, 1), base_filters=8, hidden=(32, 32), code_dim=8)
    assert model.data_shape == (8, 8, 1)


@pytest.mark.slow  # 5 s: two replicas
def test_began_k_follows_the_global_batch_under_mirrored_strategy(strategy):
    # each replica sees half the batch: |x| = 1 on the first, 3 on the second; k must follow the global
    # L(x) = 2 on both replicas (one replica's mean, 1 or 3, gives another k)
    x = np.concatenate([np.ones((8, 2)), 3 * np.ones((8, 2))]).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices(x).batch(16)
    with strategy.scope():
        model = _frozen(kg.models.BEGAN(_constant_generator(2, [0.5, 0.5]), _zero_autoencoder(2), latent_dim=2,
                                        gamma=0.5, lambda_k=0.1, k_initial=0.2), eagerly=True)
    logs = model.fit(ds, epochs=1, verbose=0).history
    k_next = 0.2 + 0.1 * (0.5 * 2.0 - 0.5)
    np.testing.assert_allclose([logs["real_error"][0], logs["m_global"][0]], [2.0, 2.0 + 0.5], rtol=1e-6)
    for value in model.k.values if hasattr(model.k, "values") else [model.k]:
        np.testing.assert_allclose(float(np.asarray(value)), k_next, rtol=1e-6)
    np.testing.assert_allclose(float(model.k.numpy()), k_next, rtol=1e-6)


def test_bad_arguments_are_refused_clearly():
    g, d = _constant_generator(2, [0.0, 0.0]), _zero_autoencoder(2)
    with pytest.raises(ValueError, match=r"gamma \(the diversity ratio\) must lie in \[0, 1\]"):
        kg.models.BEGAN(g, d, latent_dim=2, gamma=1.5)
    with pytest.raises(ValueError, match="eta must be 1"):
        kg.models.BEGAN(g, d, latent_dim=2, eta=3)
    with pytest.raises(ValueError, match=r"autoencoder returning one tensor of the data's shape \(2,\)"):
        kg.models.BEGAN(g, kg.networks.mlp_discriminator((2,)), latent_dim=2)
    with pytest.raises(ValueError, match=r"VEEGAN reconstructor must return one tensor of shape \(2,\)"):
        kg.models.VEEGAN("mlp", kg.networks.mlp_reconstructor((2,), 3), "mlp", latent_dim=2, data_shape=(2,))
    with pytest.raises(ValueError, match=r"VEEGAN discriminator must take \[x, z\]"):
        kg.models.VEEGAN("mlp", "mlp", kg.networks.mlp_discriminator((2,)), latent_dim=2, data_shape=(2,))
    for option in ({"loss": "hinge"}, {"ema_decay": 0.99}, {"pack": 2}):  # GAN's options BEGAN's step does not use
        with pytest.raises(ValueError, match=f"BEGAN's step does not take GAN's option.*{next(iter(option))}"):
            kg.models.BEGAN(g, d, latent_dim=2, **option)
    kg.models.BEGAN(g, d, latent_dim=2, ema_decay=None, pack=1, loss="non_saturating")  # GAN's defaults pass


@pytest.mark.slow
def test_began_m_global_falls_on_digits():
    # the preset's defaults (base_filters 16), 8x8 digits, batch 64, 8 epochs of 28 steps: measured
    # M_global 0.913 -> 0.334 (k_t rising to 0.012)
    ds, info = kg.data.load("digits", batch_size=64, return_info=True)
    model = kg.models.get("began", data=info, seed=0, base_filters=16)
    model.compile()
    history = model.fit(ds, epochs=8, verbose=0).history
    m = history["m_global"]
    assert m[-1] < 0.7 * m[0], m
    assert all(0.0 <= k <= 1.0 for k in history["k"])


# ---- VEEGAN ----------------------------------------------------------------------------------
def _known_veegan(reconstruction_weight=1.0):
    """Linear G (2 -> 2), F (2 -> 2) and D([x, z]) = c.x + a.z with known weights."""
    g = _linear(2, 2, [[1.0, 0.5], [-0.3, 2.0]], [0.1, -0.2])
    f = _linear(2, 2, [[0.4, 0.0], [0.2, -0.7]], [0.3, 0.0])
    x_in, z_in = keras.Input((2,)), keras.Input((2,))
    logit = keras.layers.Dense(1)(keras.layers.Concatenate()([x_in, z_in]))
    d = keras.Model([x_in, z_in], logit)
    d.set_weights([np.array([[0.25], [0.75], [0.5], [-1.0]], np.float32), np.array([0.1], np.float32)])
    return kg.models.VEEGAN(g, f, d, latent_dim=2, reconstruction_weight=reconstruction_weight), g, f, d


def test_veegan_terms_are_the_papers_for_known_networks():
    # rejects: a reconstruction other than ||z - F(G(z))||^2 (a mean over dimensions, F(x) of real data),
    # discriminator pairs swapped or built from the wrong networks, a generator term other than -D(z, G(z))
    model, g, f, d = _known_veegan()
    rng = np.random.default_rng(0)
    x, z = rng.normal(size=(8, 2)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")
    d_loss, g_loss, reconstruction = (t.numpy() for t in model._terms(tf.constant(x), tf.constant(z), False))
    fake = g(z).numpy()
    np.testing.assert_allclose(reconstruction, ((z - f(fake).numpy()) ** 2).sum(axis=1), rtol=1e-5)
    real_logit = d([x, f(x).numpy()]).numpy()[:, 0]
    fake_logit = d([fake, z]).numpy()[:, 0]
    softplus = lambda v: np.log1p(np.exp(v))  # noqa: E731
    np.testing.assert_allclose(d_loss, softplus(-real_logit) + softplus(fake_logit), rtol=1e-5)
    np.testing.assert_allclose(g_loss, -fake_logit, rtol=1e-5)


def test_veegan_unary_scores_each_play_the_game_and_the_terms_add():
    # a discriminator with BigBiGAN's unary scores: each score gets the logistic loss, the generator -(sum of the
    # scores of its pairs); rejects the unary scores ignored, or the joint score's loss alone
    model, g, f, _ = _known_veegan()
    x_in, z_in = keras.Input((2,)), keras.Input((2,))
    d = keras.Model([x_in, z_in], {"logit": keras.layers.Dense(1)(keras.layers.Concatenate()([x_in, z_in])),
                                   "x_logit": keras.layers.Dense(1)(x_in), "z_logit": keras.layers.Dense(1)(z_in)})
    model = kg.models.VEEGAN(g, f, d, latent_dim=2)
    rng = np.random.default_rng(3)
    x, z = rng.normal(size=(8, 2)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")
    d_loss, g_loss, _ = (t.numpy() for t in model._terms(tf.constant(x), tf.constant(z), False))
    real, fake = d([x, f(x).numpy()]), d([g(z).numpy(), z])
    softplus = lambda v: np.log1p(np.exp(v))  # noqa: E731
    want_d = sum(softplus(-real[k].numpy()[:, 0]) + softplus(fake[k].numpy()[:, 0]) for k in real)
    np.testing.assert_allclose(d_loss, want_d, rtol=1e-5)
    np.testing.assert_allclose(g_loss, -sum(fake[k].numpy()[:, 0] for k in fake), rtol=1e-5)
    with pytest.raises(ValueError, match="must return 'logit'"):
        kg.models.VEEGAN(g, f, keras.Model([x_in, z_in], {"x_logit": keras.layers.Dense(1)(x_in)}), latent_dim=2)
    # the preset: unary scores and three layers of 256 on vectors, the paper's discriminator on images; the user's wins
    vectors = kg.models.get("veegan", data_shape=(2,))
    assert set(vectors.discriminator.output) == {"logit", "x_logit", "z_logit"}
    assert vectors.options.ema_decay == 0.99
    assert kg.models.get("veegan", data_shape=(2,), ema_decay=None).options.ema_decay is None
    assert [l.units for l in vectors.generator.layers if "dense_" in l.name] == [256] * 3
    assert not isinstance(kg.models.get("veegan", data_shape=(2,), unary_scores=False).discriminator.output, dict)
    images = kg.models.get("veegan", data_shape=(8, 8, 1), base_filters=8)
    assert not isinstance(images.discriminator.output, dict) and images.options.ema_decay is None


def test_veegan_averages_its_generator_and_refuses_the_gan_options_its_step_ignores(tmp_path):
    # the weight average follows every step (it was never updated once: `sample` drew from the initial weights)
    model = kg.models.get("veegan", data_shape=(2,), hidden=(8, 8), ema_decay=0.9, seed=0)
    model.compile(g_optimizer=keras.optimizers.SGD(0.05), d_optimizer=keras.optimizers.SGD(0.05), steps_per_execution=1)
    x = np.random.default_rng(4).normal(size=(40, 2)).astype("float32")
    initial = model.generator.weights[0].numpy()
    average, updates = fit_and_average_generator(model, x, 8, 0.9)
    assert updates == 5 and not np.allclose(average[0], initial)
    for want, got in zip(average, model.ema_generator.weights):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "veegan.keras")
    model.save(path)
    loaded = kg.models.load(path)
    assert loaded.options.ema_decay == 0.9
    np.testing.assert_allclose(loaded.sample(5, seed=1), model.sample(5, seed=1), atol=1e-6)
    for option in ({"pack": 2}, {"penalty": "r1"}, {"feature_matching": 1.0}, {"n_critic": 5}):
        with pytest.raises(ValueError, match=f"does not take GAN's option.*{next(iter(option))}"):
            kg.models.get("veegan", data_shape=(2,), hidden=(8, 8), **option)


def test_veegan_step_reports_the_reconstruction_of_its_noise():
    # the reported term is ||z - F(G(z))||^2 of the step's own noise (drawn again from the saved seed state)
    model, g, f, _ = _known_veegan()
    _frozen(model)
    x = np.random.default_rng(1).normal(size=(16, 2)).astype("float32")
    state = model.seed_generator.state.numpy()
    (seed,) = model.step_seeds(1)
    z = model.codes.draw(16, seed)[0].numpy()
    model.seed_generator.state.assign(state)
    logs = model.fit(x, batch_size=16, epochs=1, verbose=0).history
    np.testing.assert_allclose(logs["reconstruction"][0], ((z - f(g(z)).numpy()) ** 2).sum(axis=1).mean(), rtol=1e-5)


def test_veegan_reconstructor_learns_from_the_reconstruction_alone():
    # Algorithm 1: F's gradient is that of the reconstruction term (the adversarial term does not involve F);
    # G's has both. Rejects a reconstructor left out of the player, or trained adversarially on (F(x), x).
    x = np.random.default_rng(2).normal(size=(16, 2)).astype("float32")
    moved = {}
    for weight in (0.0, 1.0):
        model, g, f, d = _known_veegan(reconstruction_weight=weight)
        model.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1), run_eagerly=True)
        before = [w.copy() for w in f.get_weights()], [w.copy() for w in g.get_weights()]
        model.fit(x, batch_size=16, epochs=1, verbose=0)
        moved[weight] = [max(float(np.abs(a - b).max()) for a, b in zip(old, net.get_weights()))
                         for old, net in zip(before, (f, g))]
    assert moved[0.0][0] == 0.0 and moved[0.0][1] > 1e-3  # F still, G moved by the adversarial term
    assert moved[1.0][0] > 1e-3 and moved[1.0][1] > 1e-3


@pytest.mark.slow
def test_veegan_resumes_exactly(tmp_path):
    from helpers import train_save_resume

    model, resumed_model, uninterrupted, resumed = train_save_resume("veegan", 5, str(tmp_path / "veegan.keras"))
    assert resumed == uninterrupted
    for a, b in zip(model.weights, resumed_model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["began", "veegan"])
def test_mixed_bfloat16_trains(name):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = build(name, (8, 8, 1), seed=1)
    model.compile()
    assert "bfloat16" in {layer.compute_dtype for layer in model._flatten_layers()}
    metrics = fit_few_steps(model, *fake_data((8, 8, 1)))
    assert all(np.isfinite(v) for v in metrics.values())
    if name == "began":
        assert model.k.dtype == "float32" and 0.0 <= float(model.k.numpy()) <= 1.0
    samples = model.sample(3, seed=0)
    assert samples.dtype == np.float32 and np.isfinite(samples).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["began", "veegan"])
def test_mirrored_strategy_matches_one_device_scale(name, strategy):
    x, _ = fake_data((8, 8, 1), n=64)
    ds = tf.data.Dataset.from_tensor_slices(x).batch(16)
    single = build(name, (8, 8, 1), seed=1)
    single.compile()
    with strategy.scope():
        mirrored = build(name, (8, 8, 1), seed=1)
        mirrored.compile()
    mirrored.set_weights(single.get_weights())  # same start; only the noise differs
    two = mirrored.fit(ds, epochs=1, verbose=0).history
    one = single.fit(ds, epochs=1, verbose=0).history
    for key in one:
        a, b = two[key][-1], one[key][-1]
        assert np.isfinite(a)
        assert abs(a - b) <= 0.25 * abs(b) + 0.05, (key, a, b)

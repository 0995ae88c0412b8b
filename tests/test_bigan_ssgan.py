"""GANs that infer (BiGAN / ALI) and classify (the semi-supervised GAN), and the few-labels data."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasgen as kg
from kerasgen.losses import adversarial
from kerasgen.models.adversarial.bigan import encoder_generator_loss
from kerasgen.models.optimizers import adam
from tests.helpers import data_for, fake_data, fit_and_average_generator, perturb_weights


def _softplus(t):
    return np.logaddexp(0.0, t)


def _log_softmax(l):
    return l - np.logaddexp.reduce(l, axis=1, keepdims=True)


# ---- BiGAN --------------------------------------------------------------------------------------------
def _linear_bigan(latent_dim=2, dim=3):
    g = keras.Sequential([keras.Input((latent_dim,)), keras.layers.Dense(dim, name="g_dense")])
    e = keras.Sequential([keras.Input((dim,)), keras.layers.Dense(latent_dim, name="e_dense")])
    x_in, z_in = keras.Input((dim,)), keras.Input((latent_dim,))
    d = keras.Model([x_in, z_in], keras.layers.Dense(1, name="d_dense")(keras.layers.Concatenate()([x_in, z_in])))
    return kg.models.BiGAN(g, e, d, latent_dim=latent_dim, seed=3), g, e, d


def test_bigan_discriminator_judges_encoder_pairs_real_and_generator_pairs_fake():
    model, g, e, d = _linear_bigan()
    model.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1), run_eagerly=True)
    calls, d_call = [], d.call

    def recording_call(inputs, *args, **kwargs):
        x, z = (np.array(t) for t in inputs)
        out = d_call(inputs, *args, **kwargs)
        # what the encoder and the generator make of these inputs with their weights at this moment
        calls.append((x, z, e(x).numpy(), g(z).numpy(), np.array(out).reshape(-1)))
        return out

    d.call = recording_call
    before = {net.name: [w.numpy().copy() for w in net.weights] for net in (g, e, d)}
    real = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    history = model.fit(real, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    assert len(calls) == 2
    (x_r, z_r, e_of_x, _, real_logit), (x_f, z_f, _, g_of_z, fake_logit) = calls
    np.testing.assert_allclose(x_r, real)  # (x, E(x)) ...
    np.testing.assert_allclose(z_r, e_of_x, atol=1e-6)
    np.testing.assert_allclose(x_f, g_of_z, atol=1e-6)  # ... and (G(z), z)
    assert np.abs(z_f).max() > 0 and not np.allclose(z_f, z_r)
    # the first pair is labelled real, the second fake; G and E play with the labels swapped
    np.testing.assert_allclose(history["d_loss"][0], np.mean(_softplus(-real_logit) + _softplus(fake_logit)), rtol=1e-5)
    np.testing.assert_allclose(history["g_loss"][0], np.mean(_softplus(real_logit) + _softplus(-fake_logit)), rtol=1e-5)
    for net in (g, e, d):  # every network gets a gradient: the encoder's only path is through the real pair
        assert any(not np.allclose(a, b.numpy()) for a, b in zip(before[net.name], net.weights)), net.name


def test_bigan_unary_scores_each_play_the_game_and_the_losses_add():
    """BigBiGAN's discriminator: the joint score and the scores of x alone and z alone each get the loss,
    and the players minimise the sums."""
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    e = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x_in, z_in = keras.Input((3,)), keras.Input((2,))
    d = keras.Model([x_in, z_in], {"logit": keras.layers.Dense(1)(keras.layers.Concatenate()([x_in, z_in])),
                                   "x_logit": keras.layers.Dense(1)(x_in), "z_logit": keras.layers.Dense(1)(z_in)})
    model = kg.models.BiGAN(g, e, d, latent_dim=2, seed=3)
    model.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1), run_eagerly=True)
    calls, d_call = [], d.call

    def recording_call(inputs, *args, **kwargs):
        out = d_call(inputs, *args, **kwargs)
        calls.append({name: np.array(v).reshape(-1) for name, v in out.items()})
        return out

    d.call = recording_call
    real = np.random.default_rng(1).normal(size=(8, 3)).astype("float32")
    history = model.fit(real, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    (r, f) = calls
    assert set(r) == {"logit", "x_logit", "z_logit"}
    d_loss = sum(_softplus(-r[k]) + _softplus(f[k]) for k in r)
    g_loss = sum(_softplus(r[k]) + _softplus(-f[k]) for k in r)
    np.testing.assert_allclose(history["d_loss"][0], np.mean(d_loss), rtol=1e-5)
    np.testing.assert_allclose(history["g_loss"][0], np.mean(g_loss), rtol=1e-5)
    # the joint score alone would give another loss: the unary ones count
    assert abs(np.mean(_softplus(-r["logit"]) + _softplus(f["logit"])) - np.mean(d_loss)) > 0.1


@pytest.mark.parametrize("builder", ["mlp", "dcgan"])
def test_joint_discriminator_unary_scores_see_one_input_each(builder):
    data_shape = (3,) if builder == "mlp" else (8, 8, 1)
    make = kg.networks.mlp_joint_discriminator if builder == "mlp" else kg.networks.conv_joint_discriminator
    kw = dict(hidden=(16, 8)) if builder == "mlp" else dict(base_filters=4, hidden=(16,))
    d = make(data_shape, 2, dropout=0.0, unary_scores=True, **kw)
    rng = np.random.default_rng(0)
    x, x2 = (rng.normal(size=(4, *data_shape)).astype("float32") for _ in range(2))
    z, z2 = (rng.normal(size=(4, 2)).astype("float32") for _ in range(2))
    out, other_z, other_x = d([x, z]), d([x, z2]), d([x2, z])
    assert set(out) == {"logit", "x_logit", "z_logit"}
    assert all(v.shape == (4, 1) and v.dtype == "float32" for v in out.values())
    np.testing.assert_allclose(other_z["x_logit"], out["x_logit"], atol=1e-6)  # x alone
    np.testing.assert_allclose(other_x["z_logit"], out["z_logit"], atol=1e-6)  # z alone
    assert not np.allclose(other_x["x_logit"], out["x_logit"]) and not np.allclose(other_z["z_logit"], out["z_logit"])
    assert not np.allclose(other_z["logit"], out["logit"]) and not np.allclose(other_x["logit"], out["logit"])
    plain = make(data_shape, 2, dropout=0.0, **kw)  # the paper's: one logit, the layer names of saved models
    assert not isinstance(plain.output, dict) and ("x_dense" in [l.name for l in plain.layers]) == (builder == "mlp")


@pytest.mark.parametrize("builder", ["mlp", "dcgan"])
def test_unary_paths_have_one_layer_per_hidden_width(builder):
    if builder == "mlp":
        widths, d = (16, 8, 4), kg.networks.mlp_joint_discriminator((3,), 2, hidden=(16, 8, 4), unary_scores=True)
        assert [d.get_layer(f"x_dense_{i}").units for i in range(3)] == [16, 8, 4]
        assert tuple(d.get_layer("x_logit").kernel.shape) == (4, 1)
    else:
        widths, d = (16, 8), kg.networks.conv_joint_discriminator((8, 8, 1), 2, base_filters=4, hidden=(16, 8),
                                                                  unary_scores=True)
    assert [d.get_layer(f"z_dense_{i}").units for i in range(len(widths))] == list(widths)
    assert tuple(d.get_layer("z_logit").kernel.shape) == (widths[-1], 1)


@pytest.mark.parametrize("builder", ["mlp", "dcgan"])
def test_unary_scores_are_float32_under_mixed_bfloat16(builder):
    from kerasgen.models.adversarial.bigan import SCORES

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    shape = (3,) if builder == "mlp" else (8, 8, 1)
    d = (kg.networks.mlp_joint_discriminator(shape, 2, hidden=(8, 8), unary_scores=True) if builder == "mlp" else
         kg.networks.conv_joint_discriminator(shape, 2, base_filters=4, hidden=(8,), unary_scores=True))
    out = d([np.zeros((2, *shape), "float32"), np.zeros((2, 2), "float32")])
    assert {k: keras.backend.standardize_dtype(v.dtype) for k, v in out.items()} == dict.fromkeys(SCORES, "float32")
    assert d.get_layer("z_dense_0").compute_dtype == "bfloat16"  # (the conftest restores float32)


def test_joint_scores_are_float32_and_checked_when_the_discriminator_runs():
    from kerasgen.models.adversarial.bigan import SCORES, joint_scores

    x_in, z_in = keras.Input((3,)), keras.Input((2,))
    bf = "mixed_bfloat16"
    d = keras.Model([x_in, z_in], {"logit": keras.layers.Dense(1, dtype=bf)(keras.layers.Concatenate()([x_in, z_in])),
                                   "x_logit": keras.layers.Dense(1, dtype=bf)(x_in),
                                   "z_logit": keras.layers.Dense(1, dtype=bf)(z_in)})
    scores = joint_scores(d, tf.zeros((4, 3)), tf.zeros((4, 2)), False)
    assert list(scores) == sorted(SCORES)
    assert all(v.dtype == tf.float32 and tuple(v.shape) == (4, 1) for v in scores.values())

    class NoJoint(keras.Model):  # a subclassed model's outputs are known only when it runs
        def __init__(self, **kw):
            super().__init__(**kw)
            self.a, self.b = keras.layers.Dense(1), keras.layers.Dense(1)

        def call(self, inputs, training=False):
            return {"x_logit": self.a(inputs[0]), "z_logit": self.b(inputs[1])}

    with pytest.raises(ValueError, match="must return 'logit'"):
        joint_scores(NoJoint(), tf.zeros((4, 3)), tf.zeros((4, 2)), False)


def test_a_discriminator_dict_with_an_unknown_or_misshapen_score_is_refused():
    x_in, z_in = keras.Input((3,)), keras.Input((2,))
    joint = keras.layers.Dense(1)(keras.layers.Concatenate()([x_in, z_in]))
    unknown = keras.Model([x_in, z_in], {"logit": joint, "features": keras.layers.Dense(4)(x_in)})
    wide = keras.Model([x_in, z_in], {"logit": joint, "x_logit": keras.layers.Dense(2)(x_in)})
    for algorithm in (lambda d: kg.models.BiGAN("mlp", "mlp-latent", d, latent_dim=2, data_shape=(3,)),
                      lambda d: kg.models.VEEGAN("mlp", "mlp", d, latent_dim=2, data_shape=(3,))):
        with pytest.raises(ValueError, match=r"got \['features', 'logit'\]"):
            algorithm(unknown)
        with pytest.raises(ValueError, match=r"each score of the discriminator must have shape \(B, 1\).*x_logit"):
            algorithm(wide)


def test_bigan_rejects_a_discriminator_dict_without_the_joint_logit():
    x_in, z_in = keras.Input((3,)), keras.Input((2,))
    d = keras.Model([x_in, z_in], {"x_logit": keras.layers.Dense(1)(x_in), "z_logit": keras.layers.Dense(1)(z_in)})
    with pytest.raises(ValueError, match="must return 'logit'"):
        kg.models.BiGAN("mlp", "mlp-latent", d, latent_dim=2, data_shape=(3,))


@pytest.mark.parametrize("name", ["non_saturating", "minimax", "wasserstein", "hinge", "least_squares"])
def test_encoder_generator_loss_is_the_discriminators_with_the_pairs_swapped(name):
    real, fake = np.array([0.3, -1.2, 2.0], "float32"), np.array([-0.4, 0.9, 1.5], "float32")
    expected = {
        "non_saturating": _softplus(-fake) + _softplus(real),  # -log D(G(z), z) - log(1 - D(x, E(x)))
        "minimax": -(_softplus(-real) + _softplus(fake)),  # log D(x, E(x)) + log(1 - D(G(z), z))
        "wasserstein": real - fake,
        "hinge": np.maximum(0, 1 - fake) + np.maximum(0, 1 + real),
        "least_squares": 0.5 * (fake - 1) ** 2 + 0.5 * real**2,
    }[name]
    got = encoder_generator_loss(adversarial.get(name), tf.constant(real), tf.constant(fake))
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-6)


@pytest.mark.parametrize("kind", [pytest.param("images", marks=pytest.mark.slow), "vectors"])
def test_bigan_encode_and_reconstruct(kind):
    data = data_for(kind)
    model = kg.models.get("bigan", data=data.info, latent_dim=4, seed=0, **kg.registry.get_preset("bigan").small)
    model.compile(run_eagerly=True)  # (the traced step: the preset contract's compiled case)
    model.fit(data.x[:32], batch_size=16, epochs=1, verbose=0)
    z = model.encode(data.x[:5])
    assert z.shape == (5, 4) and z.dtype == np.float32 and np.isfinite(z).all()
    assert not np.allclose(z[0], z[1])  # codes depend on x
    recon = model.reconstruct(data.x[:5])
    assert recon.shape == (5, *data.info.data_shape) and recon.dtype == np.float32
    np.testing.assert_allclose(recon, model.generate(z), atol=1e-6)  # G(E(x))
    if kind == "images":
        assert recon.min() >= -1 and recon.max() <= 1
    else:  # back on the data's scale: vectors are standardised inside the model
        np.testing.assert_allclose(model.standardizer.mean.numpy(), data.x[:32].mean(0), atol=1e-4)
    with pytest.raises(ValueError, match="expects examples of shape"):
        model.encode(np.zeros((2, 7), "float32"))


def test_bigan_preset_takes_the_vector_recipe_and_unary_scores_on_vectors_only():
    from kerasgen.models.adversarial.inference_presets import VECTOR_EMA_DECAY, VECTOR_UNARY_SCORES

    vectors = kg.models.get("bigan", data_shape=(2,))
    assert VECTOR_UNARY_SCORES and set(vectors.discriminator.output) == {"logit", "x_logit", "z_logit"}
    assert vectors.latent_dim == 2 and [l.units for l in vectors.generator.layers if "dense_" in l.name] == [256] * 3
    assert vectors.g_optimizer_config["config"]["learning_rate"] == vectors.d_optimizer_config["config"][
        "learning_rate"] == 1e-3
    assert vectors.ema_decay == VECTOR_EMA_DECAY == 0.99 and vectors.sampling_generator is vectors.ema_generator
    assert kg.models.get("bigan", data_shape=(2,), ema_decay=None).ema_generator is None  # the user's None wins
    images = kg.models.get("bigan", data_shape=(8, 8, 1), base_filters=8)
    assert not isinstance(images.discriminator.output, dict) and images.latent_dim == 50
    assert images.ema_generator is None and images.sampling_generator is images.generator
    assert images.g_optimizer_config["config"]["learning_rate"] == 2e-4
    mine = kg.models.get("bigan", data_shape=(2,), unary_scores=False, latent_dim=8, hidden=(32, 32),
                         d_optimizer_config=adam(5e-4))
    assert not isinstance(mine.discriminator.output, dict) and mine.latent_dim == 8
    assert mine.d_optimizer_config["config"]["learning_rate"] == 5e-4
    assert kg.models.get("bigan", data_shape=(8, 8, 1), base_filters=8, unary_scores=True).discriminator.output.keys() \
        == {"logit", "x_logit", "z_logit"}


def test_bigan_weight_average_follows_every_update_and_is_what_sampling_and_export_use(tmp_path):
    # rejects: an average never updated or updated with the wrong decay, sampling or export from the last weights,
    # an average lost on reload, an out-of-range decay accepted
    model = kg.models.get("bigan", data_shape=(2,), hidden=(8, 8), ema_decay=0.8, seed=0)
    model.compile(g_optimizer=keras.optimizers.SGD(0.05), d_optimizer=keras.optimizers.SGD(0.05), steps_per_execution=1)
    x = np.random.default_rng(4).normal(size=(48, 2)).astype("float32")
    average, updates = fit_and_average_generator(model, x, 8, 0.8)
    assert updates == 6 and not np.allclose(average[0], model.generator.weights[0].numpy())
    for want, got in zip(average, model.ema_generator.weights):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)
    z = np.random.default_rng(1).normal(size=(5, 2)).astype("float32")
    averaged = model.to_data_space(model.ema_generator(z)).numpy()
    assert not np.allclose(averaged, model.to_data_space(model.generator(z)).numpy(), atol=1e-4)
    np.testing.assert_allclose(model.generate(z), averaged, atol=1e-6)
    np.testing.assert_allclose(np.asarray(model.export_generate(tf.constant(z))), averaged, atol=1e-6)
    np.testing.assert_allclose(model.reconstruct(x[:5]), model.generate(model.encode(x[:5])), atol=1e-6)
    path = str(tmp_path / "bigan.keras")
    model.save(path)
    loaded = kg.models.load(path)
    assert loaded.ema_decay == 0.8
    np.testing.assert_allclose(loaded.sample(5, seed=1), model.sample(5, seed=1), atol=1e-6)
    assert kg.models.get("bigan", data_shape=(2,), hidden=(8, 8), ema_decay=None).ema_generator is None
    with pytest.raises(ValueError, match=r"ema_decay must lie in \[0, 1\), got 1.0"):
        kg.models.get("bigan", data_shape=(2,), hidden=(8, 8), ema_decay=1.0)


def test_bigan_weight_average_copies_batch_statistics_trains_nothing_and_checks_its_decay():
    # rejects: batch-norm statistics averaged or left behind, an average with trainable weights, decay 0 refused or
    # treated as "no average", a negative or NaN decay accepted
    from kerasgen.models.adversarial.ema import check_decay

    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8), keras.layers.BatchNormalization(),
                          keras.layers.Dense(2)])
    model = kg.models.BiGAN(g, "mlp-latent", "mlp", latent_dim=2, data_shape=(2,), ema_decay=0.9, seed=0)
    assert not model.ema_generator.trainable_weights
    assert len(model.trainable_weights) == len(model.generator.trainable_weights + model.encoder.trainable_weights
                                               + model.discriminator.trainable_weights)
    model.compile(g_optimizer=keras.optimizers.SGD(0.05), d_optimizer=keras.optimizers.SGD(0.05))
    x = np.random.default_rng(2).normal(size=(32, 2)).astype("float32") + 3.0
    model.fit(x, batch_size=8, epochs=1, verbose=0)
    statistics = [(a, w) for a, w in zip(model.ema_generator.weights, g.weights) if not w.trainable]
    assert len(statistics) == 2  # the moving mean and variance, copied as they are
    for a, w in statistics:
        np.testing.assert_array_equal(a.numpy(), w.numpy())
    assert not np.allclose(statistics[0][1].numpy(), 0.0)  # they moved
    assert any(not np.allclose(a.numpy(), w.numpy()) for a, w in zip(model.ema_generator.weights, g.weights)
               if w.trainable)  # the averaged weights lag behind
    # decay 0 keeps an "average" that is the generator itself after every update
    model = kg.models.get("bigan", data_shape=(2,), hidden=(8, 8), ema_decay=0.0, seed=0)
    model.compile(g_optimizer=keras.optimizers.SGD(0.05), d_optimizer=keras.optimizers.SGD(0.05))
    model.fit(x, batch_size=8, epochs=1, verbose=0)
    for a, w in zip(model.ema_generator.weights, model.generator.weights):
        np.testing.assert_array_equal(a.numpy(), w.numpy())
    assert check_decay(0) == 0.0 and type(check_decay(0)) is float and type(check_decay(np.float32(0.5))) is float
    assert check_decay(None) is None
    for bad in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match=r"ema_decay must lie in \[0, 1\)"):
            kg.models.get("bigan", data_shape=(2,), hidden=(8, 8), ema_decay=bad)


def test_ali_gaussian_encoder_draws_in_training_and_encodes_its_mean():
    model = kg.models.BiGAN("mlp", "mlp", "mlp", latent_dim=3, data_shape=(4,), seed=0)
    x = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    mean = model.encoder(x)["mean"].numpy()
    np.testing.assert_allclose(model.encode(x), mean, atol=1e-6)
    drawn = model._encode(tf.constant(x), True, tf.constant([1, 2])).numpy()
    assert not np.allclose(drawn, mean) and np.abs(drawn - mean).max() < 10
    with pytest.raises(ValueError, match="encoder makes codes of size 3 but latent_dim is 5"):
        kg.models.BiGAN("mlp", model.encoder, "mlp", latent_dim=5, data_shape=(4,))
    with pytest.raises(ValueError, match=r"discriminator must take \[x, z\]"):
        kg.models.BiGAN("mlp", "mlp-latent", kg.networks.mlp_discriminator((4,)), latent_dim=3, data_shape=(4,))


# ---- the semi-supervised GAN --------------------------------------------------------------------------
def _paper_loss(real_logits, fake_logits, labels, k):
    """Salimans et al. 2016, section 5, as written: L = L_supervised + L_unsupervised with
    p(y = j | x) = exp(l_j) / sum_i exp(l_i) over K + 1 classes (l_{K+1} = 0 in the K-logit form)."""
    def with_fake(l):
        return l if l.shape[1] == k + 1 else np.concatenate([l, np.zeros((len(l), 1))], 1)

    p_real, p_fake = np.exp(_log_softmax(with_fake(real_logits))), np.exp(_log_softmax(with_fake(fake_logits)))
    known = labels >= 0
    p_given_real = p_real[:, :k] / p_real[:, :k].sum(1, keepdims=True)  # p(y | x, y < K + 1)
    supervised = -np.mean(np.log(p_given_real[known, labels[known]]))
    unsupervised = -np.mean(np.log(1 - p_real[:, k])) - np.mean(np.log(p_fake[:, k]))
    return supervised, unsupervised


@pytest.mark.parametrize("fake_class", [False, True], ids=["k-logits", "k-plus-one"])
def test_ssgan_loss_is_the_papers(fake_class):
    k = 4
    model = kg.models.SemiSupervisedGAN("mlp", "mlp", latent_dim=2, classes=k, data_shape=(3,), fake_class=fake_class,
                                        unsupervised_weight=0.7)
    rng = np.random.default_rng(0)
    real, fake = (rng.normal(scale=2.0, size=(10, k + fake_class)) for _ in range(2))
    labels = rng.integers(0, k, 10)
    terms = model.discriminator_terms(tf.constant(real, tf.float32), tf.constant(fake, tf.float32), tf.constant(labels))
    supervised, unsupervised = _paper_loss(real, fake, labels, k)  # fully labelled
    np.testing.assert_allclose(float(terms["supervised"]), supervised, rtol=1e-5)
    np.testing.assert_allclose(float(terms["unsupervised"]), unsupervised, rtol=1e-5)
    np.testing.assert_allclose(float(terms["d_loss"]), supervised + 0.7 * unsupervised, rtol=1e-5)
    partly = np.where(np.arange(10) % 3 == 0, labels, -1)  # the supervised term covers the labelled only
    terms = model.discriminator_terms(tf.constant(real, tf.float32), tf.constant(fake, tf.float32), tf.constant(partly))
    np.testing.assert_allclose(float(terms["supervised"]), _paper_loss(real, fake, partly, k)[0], rtol=1e-5)
    np.testing.assert_allclose(float(terms["unsupervised"]), unsupervised, rtol=1e-5)
    assert float(terms["labelled"]) == 4


def test_ssgan_supervised_term_is_exact_per_global_batch(strategy):
    """Under two replicas the shares of the supervised term sum to the mean over the global batch's
    labelled examples, however unevenly the labels fall on the replicas."""
    model = kg.models.SemiSupervisedGAN("mlp", "mlp", latent_dim=2, classes=3, data_shape=(3,))
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(8, 3)).astype("float32")
    labels = np.array([0, 2, 1, -1, -1, -1, -1, 2], "int32")  # 3 labelled on one replica, 1 on the other
    ds = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((logits, labels)).batch(8))
    per_replica = strategy.run(lambda l, y: model.discriminator_terms(l, l, y), args=next(iter(ds)))
    total = strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica["supervised"], axis=None)
    np.testing.assert_allclose(float(total), _paper_loss(logits, logits, labels, 3)[0], rtol=1e-5)


@pytest.mark.slow
def test_ssgan_discriminator_update_is_exact_under_two_replicas(strategy):
    """Without noise layers, unsupervised term or generator update, one SGD step of the discriminator on
    a partly labelled batch gives the same weights on one device and on two replicas."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1] + [-1] * 7 + [2], "int32")  # 8 labelled on one replica, 1 on the other

    def make():
        d = kg.networks.mlp_classifier((3,), 3, hidden=(8,), input_noise=0, hidden_noise=0)
        model = kg.models.SemiSupervisedGAN("mlp", d, latent_dim=2, classes=3, data_shape=(3,), unsupervised_weight=0.0)
        model.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.SGD(0.5))
        return model

    single = make()
    with strategy.scope():
        mirrored = make()
    mirrored.set_weights(single.get_weights())
    start = [w.copy() for w in single.discriminator.get_weights()]
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    one, two = (m.fit(ds, epochs=1, verbose=0).history for m in (single, mirrored))
    np.testing.assert_allclose(two["supervised_loss"], one["supervised_loss"], rtol=1e-6)
    for a, b in zip(single.discriminator.get_weights(), mirrored.discriminator.get_weights()):
        np.testing.assert_allclose(b, a, atol=1e-6)
    assert any(not np.allclose(a, b) for a, b in zip(start, single.discriminator.get_weights()))


def test_ssgan_trains_on_few_labels_and_classifies():
    data = data_for("images")
    labels = kg.data.keep_labels_per_class(data.y, 2, seed=0)
    model = kg.models.get("ssgan", data=data.info, seed=0, **kg.registry.get_preset("ssgan").small)
    assert model.classes == 10 and not model.conditional  # the generator takes no labels
    model.compile(run_eagerly=True)
    # rejects: a fit that skips the weight-normed layers' data-dependent initialisation
    from kerasgen.layers.weight_norm import weight_norm_layers
    pending = weight_norm_layers(model.discriminator)
    assert pending and not weight_norm_layers(model.discriminator, pending=False)[0].initialized.numpy()
    history = model.fit(data.x[:64], labels[:64], batch_size=32, epochs=1, verbose=0).history
    assert not weight_norm_layers(model.discriminator) and not weight_norm_layers(model.generator)
    assert set(history) == {"d_loss", "supervised_loss", "unsupervised_loss", "g_loss"}
    assert all(np.isfinite(v[-1]) for v in history.values())
    p = model.classify(data.x[:7])
    assert p.shape == (7, 10) and p.dtype == np.float32 and (p >= 0).all()
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    assert model.sample(3, seed=0).shape == (3, 8, 8, 1)
    bad = labels[:64].copy()
    bad[0] = 10
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 9\] or be -1"):
        model.fit(data.x[:64], bad, batch_size=32, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="classifies and needs labelled data"):
        kg.models.get("ssgan", data=kg.data.load_arrays("toy2d:moons", n_samples=64).info)


# ---- few labels ---------------------------------------------------------------------------------------
def test_labels_per_class_keeps_exactly_n_per_class_seeded():
    full = kg.data.load_arrays("digits")
    few = kg.data.load_arrays("digits", labels_per_class=3, seed=1)
    np.testing.assert_array_equal(few.x, full.x)
    kept = few.y >= 0
    assert set(np.unique(few.y)) == set(range(10)) | {-1}
    np.testing.assert_array_equal(np.bincount(few.y[kept], minlength=10), np.full(10, 3))
    np.testing.assert_array_equal(few.y[kept], full.y[kept])  # kept labels are the true ones
    np.testing.assert_array_equal(kg.data.load_arrays("digits", labels_per_class=3, seed=1).y, few.y)
    assert not np.array_equal(kg.data.load_arrays("digits", labels_per_class=3, seed=2).y, few.y)
    ds = kg.data.load("digits", batch_size=500, shuffle=False, labels_per_class=3, seed=1)
    np.testing.assert_array_equal(np.concatenate([y for _, y in ds.as_numpy_iterator()]), few.y)
    with pytest.raises(ValueError, match="labels_per_class needs labelled data"):
        kg.data.load("toy2d:moons", n_samples=64, labels_per_class=2)
    with pytest.raises(ValueError, match="labels_per_class must be an int >= 1"):
        kg.data.load_arrays("digits", labels_per_class=0)
    with pytest.raises(ValueError, match=r"labels_per_class=500: class \d has only \d+ examples"):
        kg.data.load_arrays("digits", labels_per_class=500)


def test_labelled_batches_append_labelled_examples_to_every_batch():
    y = kg.data.keep_labels_per_class(np.arange(40) % 4, 2, seed=0)
    x = np.arange(40, dtype="float32")[:, None]
    batches = list(kg.data.labelled_batches(x, y, 16, 5, seed=0).as_numpy_iterator())
    assert [len(b[0]) for b in batches] == [21, 21, 13]  # 16, 16, 8 of all 40, each with 5 labelled
    draws = np.concatenate([xb[-5:, 0] for xb, _ in batches]).astype(int)
    np.testing.assert_array_equal(np.concatenate([yb[-5:] for _, yb in batches]), y[draws])  # labels kept
    np.testing.assert_array_equal(np.sort(draws[:8]), np.flatnonzero(y >= 0))  # reshuffled passes over all 8
    np.testing.assert_array_equal(np.sort(np.concatenate([b[0][:-5, 0] for b in batches])), x[:, 0])
    ds = kg.data.load("digits", batch_size=32, labels_per_class=2, labelled_per_batch=8, seed=0)
    xb, yb = next(iter(ds))
    assert xb.shape == (40, 8, 8, 1) and (yb.numpy()[32:] >= 0).all()
    with pytest.raises(ValueError, match="labelled_per_batch needs labels_per_class"):
        kg.data.load("digits", labelled_per_batch=8)


# ---- export -------------------------------------------------------------------------------------------
# the two share the mechanism (a model's `onnx_functions`): one runs by default, both under -m slow
@pytest.mark.parametrize("name,function,output", [pytest.param("bigan", "encode", "z", marks=pytest.mark.slow),
                                                  ("ssgan", "classify", "probabilities")])
def test_encode_and_classify_export_to_savedmodel_and_onnx(name, function, output, tmp_path):
    data = data_for("vectors")
    model = kg.models.get(name, data=data.info, seed=0, **kg.registry.get_preset(name).small)
    model.adapt(data.x)
    perturb_weights(model, 0.05)
    x = data.x[:5]
    want = model.encode(x) if name == "bigan" else model.classify(x)
    folder = kg.export.saved_model(model, str(tmp_path / name))
    got = tf.saved_model.load(folder).signatures[function](x=tf.constant(x))[output].numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    files = kg.export.onnx(model, str(tmp_path / f"{name}.onnx"))
    assert os.path.basename(files[function]) == f"{name}.{function}.onnx"
    onnx_out = kg.export.OnnxGenerator(files["generate"]).run_function(function, x)[output]
    np.testing.assert_allclose(onnx_out, want, atol=1e-5)
    for card in (json.load(open(os.path.join(folder, "model_card.json"))), json.load(open(files["card"]))):
        assert set(card["parity"][function]) == {"batch 1", "batch 3"}  # checked at export, both formats
        assert max(card["parity"][function].values()) <= 1e-4


# ---- resume, precision, strategies (slow) -------------------------------------------------------------
def _few_labelled(n=64):
    x, y = fake_data((8, 8, 1), n=n)
    return x, np.where(np.arange(n) % 4 == 0, y, -1).astype("int32")


def _fit_args(name, x, y):
    return (x, y) if name == "ssgan" else (x,)


def _slow_kwargs(name, **kwargs):
    """The small preset on 8x8 images; `bigan` with its generator's weight average, so that it resumes, trains in
    bfloat16 and under a strategy too."""
    extra = {"ema_decay": 0.9} if name == "bigan" else {"num_classes": 10}
    return dict(data_shape=(8, 8, 1), **extra, **kwargs, **kg.registry.get_preset(name).small)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bigan", "ssgan"])
def test_resume_continues_exactly(name, tmp_path):
    x, y = _few_labelled()
    model = kg.models.get(name, **_slow_kwargs(name, seed=5))
    model.compile()
    model.fit(*_fit_args(name, x, y), batch_size=16, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "m.keras")
    kg.io.save_model(model, path)
    uninterrupted = model.fit(*_fit_args(name, x, y), batch_size=16, epochs=2, shuffle=False, verbose=0).history
    resumed_model = kg.models.load(path)
    resumed = resumed_model.fit(*_fit_args(name, x, y), batch_size=16, epochs=2, shuffle=False, verbose=0).history
    assert resumed == uninterrupted
    for a, b in zip(model.weights, resumed_model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    if name == "bigan":  # the weight average is among them, and it moved
        assert not np.allclose(model.ema_generator.get_weights()[0], model.generator.get_weights()[0])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bigan", "ssgan"])
def test_mixed_bfloat16_trains(name):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    x, y = _few_labelled(32)
    model = kg.models.get(name, **_slow_kwargs(name, seed=0))
    model.compile()
    assert "bfloat16" in {layer.compute_dtype for layer in model._flatten_layers()}
    history = model.fit(*_fit_args(name, x, y), batch_size=16, epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in history.values())
    out = model.encode(x[:3]) if name == "bigan" else model.classify(x[:3])
    assert out.dtype == np.float32 and np.isfinite(out).all()
    assert model.sample(3, seed=0).dtype == np.float32


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bigan", "ssgan"])
def test_mirrored_strategy_matches_one_device_scale(name, strategy):
    x, y = fake_data((8, 8, 1), n=64)  # fully labelled: a few labels per batch make a noisy supervised loss
    ds = tf.data.Dataset.from_tensor_slices(_fit_args(name, x, y)).batch(16)
    kwargs = _slow_kwargs(name, seed=1)
    single = kg.models.get(name, **kwargs)
    single.compile()
    with strategy.scope():
        mirrored = kg.models.get(name, **kwargs)
        mirrored.compile()
    mirrored.set_weights(single.get_weights())  # same start; only the noise differs
    two = mirrored.fit(ds, epochs=1, verbose=0).history
    one = single.fit(ds, epochs=1, verbose=0).history
    for key in one:
        a, b = two[key][-1], one[key][-1]
        assert np.isfinite(a)
        assert abs(a - b) <= 0.25 * abs(b) + 0.05, (key, a, b)

"""VAE variants and their parts: likelihoods, CVAE, IWAE, hierarchical VAE, VQ-VAE, AAE, latent tools."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.stats import multivariate_normal

import kerasgen as kg
from helpers import build, fake_data, fit_few_steps, train_save_resume
from kerasgen.losses import divergences


def test_discretised_logistic_is_a_distribution_over_the_256_levels():
    grid = np.linspace(-1, 1, 256, dtype=np.float32)[:, None]
    for mean, log_scale in ((0.1, np.log(0.05)), (-0.97, np.log(0.3)), (0.5, -8.0)):
        nll = divergences.discretized_logistic_nll(grid, np.full_like(grid, mean), log_scale)
        np.testing.assert_allclose(np.exp(-np.asarray(nll)).sum(), 1.0, atol=2e-3)
    z, m, lv = np.array([[0.3, -1.0]]), np.array([[0.0, 1.0]]), np.log(np.array([[2.0, 0.5]]))
    expected = multivariate_normal(m[0], np.diag(np.exp(lv[0]))).logpdf(z[0])
    np.testing.assert_allclose(divergences.gaussian_log_density(z, m, lv), [expected], rtol=1e-5)


def test_decoder_likelihood_scales():
    learned = kg.layers.DecoderLikelihood("gaussian", (3,), "learned")
    assert len(learned.trainable_weights) == 1
    assert kg.layers.DecoderLikelihood("gaussian", (3,)).trainable_weights == []
    assert kg.layers.DecoderLikelihood("logistic", (3,)).scale == "learned"
    with pytest.raises(ValueError, match="scale must be > 0"):
        kg.layers.DecoderLikelihood("gaussian", (3,), -1.0)
    with pytest.raises(ValueError, match="no scale"):
        kg.layers.DecoderLikelihood("bernoulli", (3,), 1.0)
    with pytest.raises(ValueError, match="bernoulli likelihood needs data in"):
        build("vae", (2,), likelihood="bernoulli")


def test_logistic_likelihood_learns_its_scale_on_8bit_digits():
    x = kg.data.load_arrays("digits").x[:512]
    x = np.round((x + 1) * 127.5) / 127.5 - 1  # on the 8-bit grid
    model = build("vae", (8, 8, 1), likelihood="logistic", latent_dim=8, hidden=(64, 64), seed=0)
    model.compile()
    start = model.observation.log_scale.numpy().copy()
    history = model.fit(x, batch_size=64, epochs=4, verbose=0).history["neg_elbo"]
    assert history[-1] < 0.9 * history[0]
    assert not np.allclose(model.observation.log_scale.numpy(), start)
    estimate = kg.metrics.log_likelihood(model, x[:32], k=20)
    assert 0 < estimate.bits_per_dim < 8  # a probability mass over 256 levels per pixel


def test_learned_gaussian_variance_trains():
    # rejects: a learned scale left out of the update (or not used by the likelihood), one updated
    # with the wrong sign, and one shared by or swapped between features
    model = build("vae", (2,), decoder_scale="learned", standardize=False, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    log_scale = model.observation.log_scale
    np.testing.assert_array_equal(log_scale.numpy(), [0.0, 0.0])  # starts at scale 1
    # unstandardised features of std 0.2 and 3: a decoder scale of 1 is too wide for the first
    # and too narrow for the second, so the learned scale must shrink on one and grow on the other
    x = (np.random.default_rng(0).normal(size=(64, 2)) * [0.2, 3.0]).astype("float32")
    history = model.fit(x, batch_size=16, epochs=5, shuffle=False, verbose=0).history  # 20 steps
    assert np.isfinite(history["neg_elbo"][-1])
    moved = log_scale.numpy()
    assert moved[0] < -0.1 and moved[1] > 0.1, moved  # measured (-0.20, 0.17): about lr per step
    assert model.get_config()["decoder_scale"] == "learned"


def test_cvae_needs_labels_and_uses_them():
    model = build("cvae", (8, 8, 1), seed=0)
    model.compile(run_eagerly=True)  # (the traced step is the contract's; eager here is 3x faster)
    x, y = fake_data((8, 8, 1))
    with pytest.raises(ValueError, match="must yield \\(x, labels\\)"):
        model.fit(x, batch_size=16, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="pass labels"):
        model.encode(x[:2])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 9\]"):
        model.sample(2, labels=[0, 10])
    with pytest.raises(ValueError, match="conditional and needs labelled data"):
        kg.models.get("cvae", data_shape=(8, 8, 1))
    plain = build("vae", (8, 8, 1))
    with pytest.raises(ValueError, match=r"encoder must take \[x, labels\]"):
        kg.models.VAE(plain.encoder, plain.decoder, latent_dim=16, num_classes=10)
    fit_few_steps(model, x, y)
    zeros, ones = model.sample(4, seed=1, labels=[0] * 4), model.sample(4, seed=1, labels=[1] * 4)
    assert np.abs(zeros - ones).max() > 1e-4  # same noise, different class, different images


def test_iwae_training_lowers_its_bound():
    """(That the objective is the K-sample bound is checked against a closed form in test_likelihood.py.)"""
    model = kg.models.get("iwae", data_shape=(8, 8, 1), hidden=(64, 64), latent_dim=8, seed=0)
    model.compile()
    history = model.fit(kg.data.load("digits", batch_size=64, seed=0), epochs=3, verbose=0).history
    assert history["neg_iwae"][-1] < history["neg_iwae"][0]
    assert all(b <= e + 1e-3 for b, e in zip(history["neg_iwae"], history["neg_elbo"]))
    with pytest.raises(ValueError, match="unknown objective"):
        build("vae", (2,), objective="wake-sleep")

@pytest.mark.slow

def test_hierarchical_vae_kl_estimators_agree_and_training_lowers_the_bound():
    model = kg.models.get("hvae", data_shape=(8, 8, 1), hidden=(64, 64), latent_dim=8, seed=0)
    model.compile()
    x = kg.data.load_arrays("digits").x[:256]
    history = model.fit(x, batch_size=64, epochs=4, verbose=0).history["neg_elbo"]
    assert history[-1] < history[0]
    terms = model.bound_terms(x[:20], k=3000)
    np.testing.assert_allclose(terms["log_weight"].mean(0), terms["elbo"].mean(0), atol=0.3)
    assert model.sample(3, seed=0).shape == (3, 8, 8, 1)
    with pytest.raises(ValueError, match="does not take labels"):
        kg.models.HierarchicalVAE(model.encoder, model.decoder, model.top_encoder, model.top_prior, 8, 4,
                                  num_classes=3)


def test_vector_quantizer_picks_the_nearest_code_with_straight_through_gradients():
    vq = kg.layers.VectorQuantizer(6, 3)
    z = tf.constant(np.random.default_rng(0).normal(size=(4, 5, 3)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(z)
        out = vq(z)
        total = tf.reduce_sum(out["quantized"] * 2.0)
    codebook = vq.codebook.numpy()
    brute = np.argmin(((z.numpy()[..., None, :] - codebook) ** 2).sum(-1), -1)
    np.testing.assert_array_equal(out["indices"].numpy(), brute)
    np.testing.assert_allclose(out["quantized"].numpy(), codebook[brute], atol=1e-6)
    np.testing.assert_allclose(tape.gradient(total, z).numpy(), 2.0)  # identity through the quantiser
    np.testing.assert_allclose(out["commitment"].numpy(), ((z.numpy() - codebook[brute]) ** 2).sum((1, 2)),
                               rtol=1e-5)


def test_vector_quantizer_ema_moves_codes_to_the_mean_of_their_vectors():
    vq = kg.layers.VectorQuantizer(4, 2, ema=True, decay=0.5, epsilon=1e-9)
    z = tf.constant(np.random.default_rng(1).normal(size=(64, 2)) * 3, tf.float32)
    indices = vq(z)["indices"]
    vq.update_ema(z, indices)
    for code in np.unique(indices.numpy()):
        np.testing.assert_allclose(vq.codebook.numpy()[code], z.numpy()[indices.numpy() == code].mean(0),
                                   rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="ema=True"):
        kg.layers.VectorQuantizer(4, 2).update_ema(z, indices)


def test_vq_vae_learns_digits_and_uses_its_codebook():
    model = kg.models.get("vq-vae", data_shape=(8, 8, 1), base_filters=16, num_codes=32, latent_dim=8, seed=0)
    model.compile()
    history = model.fit(kg.data.load("digits", batch_size=64, seed=0), epochs=4, verbose=0).history
    assert history["reconstruction"][-1] < 0.9 * history["reconstruction"][0]
    usage = model.codebook_usage(kg.data.load_arrays("digits", split="test").x)
    assert usage["perplexity"] > 2 and usage["codes_used"] > 0.1
    with pytest.raises(ValueError, match="indices must lie in"):
        model.decode(np.full((1, *model.grid_shape), 32))


def test_dead_codes_restart_on_batch_vectors():
    vq = kg.layers.VectorQuantizer(8, 2)
    z = tf.constant(np.random.default_rng(2).normal(size=(32, 2)) + 10.0, tf.float32)  # far from every code
    indices = vq(z)["indices"]
    assert len(np.unique(indices.numpy())) == 1  # collapsed onto one code
    restarted = vq.restart_dead_codes(z, indices, tf.constant([0, 1]))
    assert int(restarted) == 7  # every code but the used one starts dead: the data initialise them
    codebook = np.delete(vq.codebook.numpy(), indices.numpy()[0], axis=0)
    assert all(np.isclose(z.numpy(), code).all(1).any() for code in codebook)
    assert len(np.unique(vq(z)["indices"].numpy())) > 1

@pytest.mark.slow

def test_vq_vae_ema_under_mirrored_strategy_matches_one_device(strategy):
    x, _ = fake_data((8, 8, 1), n=64)
    ds = tf.data.Dataset.from_tensor_slices(x).batch(16)
    with strategy.scope():  # dead-code restarts draw batch vectors: replicas must agree on them
        restarting = build("vq-vae", (8, 8, 1), ema=True, seed=1)
        restarting.compile()
    restarting.fit(ds, epochs=1, verbose=0)
    copies = restarting.quantizer.codebook.value.values
    assert len(copies) == 2 and np.array_equal(copies[0].numpy(), copies[1].numpy())
    single = build("vq-vae", (8, 8, 1), ema=True, seed=1, dead_threshold=0.0)  # the EMA alone is exact
    single.compile()
    with strategy.scope():
        mirrored = build("vq-vae", (8, 8, 1), ema=True, seed=1, dead_threshold=0.0)
        mirrored.compile()
    mirrored.set_weights(single.get_weights())
    two = mirrored.fit(ds, epochs=1, verbose=0).history
    one = single.fit(ds, epochs=1, verbose=0).history
    np.testing.assert_allclose(two["reconstruction"][-1], one["reconstruction"][-1], rtol=1e-3)
    np.testing.assert_allclose(mirrored.quantizer.codebook.numpy(), single.quantizer.codebook.numpy(), atol=1e-4)
    np.testing.assert_allclose(mirrored.code_frequencies.numpy(), single.code_frequencies.numpy(), atol=1e-5)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) for n in ("aae", "vq-vae")])
def test_two_optimiser_and_codebook_models_resume_exactly(name, tmp_path):
    _, _, uninterrupted, resumed = train_save_resume(name, 2, str(tmp_path / "m.keras"))
    assert resumed == uninterrupted

@pytest.mark.slow

def test_aae_matches_the_aggregate_posterior_to_the_prior():
    from scipy import stats

    ds = kg.data.load("toy2d:moons", batch_size=128, seed=0, n_samples=4096)
    x = kg.data.load_arrays("toy2d:moons", n_samples=2000, seed=1).x
    distance = {}
    for weight in (0.0, 1.0):  # weight 0: a plain (noisy) autoencoder, nothing pulls z to the prior
        model = kg.models.get("aae", data_shape=(2,), hidden=(64, 64), latent_dim=2, seed=0,
                              adversarial_weight=weight)
        model.compile()
        model.fit(ds, epochs=30, verbose=0)
        z = model.encode(x)[0]
        distance[weight] = max(stats.kstest(z[:, i], "norm").statistic for i in range(2))
    assert distance[1.0] < 0.25 and distance[1.0] < 0.6 * distance[0.0]
    assert isinstance(model.adversarial, kg.losses.AdversarialLoss)
    with pytest.raises(ValueError, match="unknown adversarial loss"):
        build("aae", (2,), loss="energy")

@pytest.mark.slow

def test_latent_tools_on_a_trained_vae():
    model = kg.models.get("vae", data_shape=(8, 8, 1), hidden=(64, 64), latent_dim=4, seed=0)
    model.compile()
    arrays = kg.data.load_arrays("digits")
    model.fit(arrays.x[:512], batch_size=64, epochs=2, verbose=0)
    x, y = arrays.x[:200], arrays.y[:200]
    path = kg.latent.interpolate_encodings(model, x[0], x[1], steps=5)
    assert path.shape == (5, 8, 8, 1)
    np.testing.assert_allclose(path[0], model.reconstruct(x[:1])[0], atol=1e-5)
    np.testing.assert_allclose(path[-1], model.reconstruct(x[1:2])[0], atol=1e-5)
    assert kg.latent.interpolate_encodings(model, x[:3], x[3:6], steps=4, method="linear").shape == (4, 3, 8, 8, 1)
    v = kg.latent.attribute_vector(model, x, y, positive=0, negative=1)
    z = model.encode(x)[0]
    np.testing.assert_allclose(v, z[y == 0].mean(0) - z[y == 1].mean(0), atol=1e-5)
    grid = kg.latent.traversal_grid(model, dims=[0, 2], values=[-2, 0, 2])
    assert grid.shape == (2, 3, 8, 8, 1)
    np.testing.assert_allclose(grid[0, 1], grid[1, 1], atol=1e-6)  # both rows pass through z = 0
    with pytest.raises(ValueError, match="both groups need examples"):
        kg.latent.attribute_vector(model, x, y, positive=0, negative=42)
    with pytest.raises(ValueError, match=r"dims must lie in \[0, 3\]"):
        kg.latent.traversal_grid(model, dims=[4])


@pytest.mark.parametrize("posterior", [pytest.param(p, marks=pytest.mark.slow) for p in ("planar", "iaf")])
def test_flow_posterior_is_a_normalised_density_and_trains(posterior):
    model = kg.models.get("vae-flow", data_shape=(8, 8, 1), hidden=(64, 64), latent_dim=2, seed=0,
                          posterior=posterior, context_dim=8)
    model.compile()
    x = kg.data.load_arrays("digits").x[:256]
    history = model.fit(x, batch_size=64, epochs=4, verbose=0).history["neg_elbo"]
    assert history[-1] < history[0]
    # log q(z|x) = log q0(z0|x) - log|det df/dz0| with z0 = f^-1(z), the formula the bound uses
    mean, log_var, context = model._encoder_outputs(model.to_model_space(x[:1]), None, False)
    g = np.linspace(-6, 6, 241)
    zz = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2).astype(np.float32)
    flow = model._posterior_flow(tf.repeat(context, len(zz), axis=0))
    z0 = flow.inverse(zz)
    log_q = (kg.losses.divergences.gaussian_log_density(z0, mean, log_var)
             - flow.forward_log_det_jacobian(z0, event_ndims=1))
    assert abs(np.exp(log_q.numpy()).sum() * (g[1] - g[0]) ** 2 - 1.0) < 0.02
    nll = kg.metrics.log_likelihood(model, x[:32], k=50).nll
    assert nll <= kg.metrics.elbo(model, x[:32], k=20).nll + 0.5
    with pytest.raises(ValueError, match="unknown posterior flow"):
        kg.models.get("vae-flow", data_shape=(2,), posterior="sylvester")

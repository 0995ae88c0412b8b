"""The VAE family: encoders, ELBO parts against closed forms, training, distribution, resume."""

import numpy as np
import pytest
import tensorflow as tf

import kerasgen as kg
from helpers import (
    assert_trains_under_xla,
    build,
    data_for,
    fake_data,
    fit_few_steps,
    preset_model,
    train_save_resume,
)
from kerasgen.losses import divergences

ENCODERS = sorted(name for name, p in kg.models.list(family="variational").items())


@pytest.mark.parametrize("kind", ["images", "vectors"])
@pytest.mark.parametrize("name", ENCODERS)
def test_encode_and_reconstruct_shapes(name, kind):
    """What the VAE family adds to the preset contract (tests/test_presets.py): encodings and
    reconstructions of the right shapes (discrete codes for the VQ-VAE)."""
    data = data_for(kind)
    model = preset_model(name, data.info)
    x = data.x[:4]
    labels = data.y[:4] if model.conditional else None
    if name == "vq-vae":
        codes = model.encode(x)
        assert codes.shape == (4, *model.grid_shape) and codes.max() < model.num_codes
        assert model.reconstruct(x).shape == (4, *data.info.data_shape)
        assert not model.has_encoder
    else:
        mean, log_var = model.encode(x, labels)
        assert mean.shape == log_var.shape == (4, model.latent_dim)
        assert model.reconstruct(x, labels).shape == (4, *data.info.data_shape)
        assert model.has_encoder and model.likelihood_kind == "bound"


def test_kl_and_likelihoods_match_closed_forms():
    kl = divergences.gaussian_kl(np.array([[1.0, 0.0]]), np.log(np.array([[1.0, 2.0]])))
    np.testing.assert_allclose(kl, [1.0 - 0.5 * np.log(2.0)], rtol=1e-6)
    np.testing.assert_allclose(divergences.gaussian_kl(np.zeros((3, 4)), np.zeros((3, 4))), 0.0, atol=1e-7)
    np.testing.assert_allclose(divergences.bernoulli_nll(np.ones((2, 3)), np.zeros((2, 3))), 3 * np.log(2), rtol=1e-6)
    np.testing.assert_allclose(divergences.bernoulli_nll(np.array([[1.0, 0.0]]), np.array([[2.0, -1.0]])),
                               [np.log1p(np.exp(-2.0)) + np.log1p(np.exp(-1.0))], rtol=1e-6)
    x = np.array([[1.0, 3.0]])
    np.testing.assert_allclose(divergences.gaussian_nll(x, np.array([[0.0, 3.0]]), np.log(2.0)),
                               [0.5 * 0.25 + 2 * np.log(2.0) + np.log(2 * np.pi)], rtol=1e-6)


def test_kl_warmup_schedule_and_bad_arguments():
    model = build("beta-vae", (8, 8, 1))
    assert [float(model.current_beta(s)) for s in (0, 500, 1000, 5000)] == [0.0, 2.0, 4.0, 4.0]
    cyclical = build("vae", (2,), beta=2.0, kl_cycle_steps=100)
    assert cyclical.kl_warmup_steps == 50
    assert [float(cyclical.current_beta(s)) for s in (0, 25, 50, 99, 100, 125)] == [0.0, 1.0, 2.0, 2.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="must not exceed"):
        build("vae", (2,), kl_cycle_steps=10, kl_warmup_steps=20)
    with pytest.raises(ValueError, match="unknown likelihood"):
        build("vae", (2,), likelihood="poisson")
    with pytest.raises(ValueError, match="not conditional"):
        build("vae", (2,)).sample(2, labels=[0, 1])
    with pytest.raises(ValueError, match=r"z must have shape \(B, 16\)"):
        build("vae", (2,)).decode(np.zeros((2, 3)))
    model = build("vae", (8, 8, 1), beta=3.0)
    model.compile()
    one_step = fit_few_steps(model, *fake_data((8, 8, 1)), steps=1)
    assert one_step["objective"] == pytest.approx(one_step["reconstruction"] + 3.0 * one_step["kl"], rel=1e-5)
    assert one_step["neg_elbo"] == pytest.approx(one_step["reconstruction"] + one_step["kl"], rel=1e-5)
    with pytest.raises(ValueError, match=r"expects examples of shape \(8, 8, 1\), got \(28, 28, 1\)"):
        fresh = build("vae", (8, 8, 1))
        fresh.compile()
        fresh.fit(np.zeros((4, 28, 28, 1), np.float32), epochs=1, verbose=0)
    with pytest.raises(Exception, match=r"expects examples of shape \(8, 8, 1\)"):
        model.fit(np.zeros((4, 28, 28, 1), np.float32), epochs=1, verbose=0)  # traced with unknown sizes
    with pytest.raises(ValueError, match=r"expects examples of shape \(8, 8, 1\)"):
        model.encode(np.zeros((2, 8, 8), np.float32))


def test_training_lowers_the_negative_elbo_on_digits():
    model = kg.models.get("vae", data_shape=(8, 8, 1), hidden=(64, 64), latent_dim=8, seed=0)
    model.compile()
    ds = kg.data.load("digits", batch_size=64, seed=0)
    history = model.fit(ds, epochs=6, verbose=0).history["neg_elbo"]
    assert history[-1] < 0.8 * history[0]
    recon = model.reconstruct(kg.data.load_arrays("digits", split="test").x[:100])
    assert recon.min() >= -1 and recon.max() <= 1

@pytest.mark.slow

def test_mirrored_strategy_matches_one_device(strategy):
    import tensorflow as tf

    x, _ = fake_data((8, 8, 1), n=64)
    ds = tf.data.Dataset.from_tensor_slices(x).batch(16)
    single = build("conv-vae", (8, 8, 1), seed=1)
    single.compile()
    with strategy.scope():
        mirrored = build("conv-vae", (8, 8, 1), seed=1)
        mirrored.compile()
    mirrored.set_weights(single.get_weights())
    two = mirrored.fit(ds, epochs=1, verbose=0).history
    one = single.fit(ds, epochs=1, verbose=0).history
    for key in ("neg_elbo", "reconstruction"):
        assert np.isfinite(two[key][-1])
        np.testing.assert_allclose(two[key][-1], one[key][-1], rtol=0.05)


@pytest.mark.parametrize("distributed", [False, True], ids=["one-device", "mirrored"])
def test_sgd_update_is_the_same_per_global_batch(distributed, strategy):
    """With the posterior's noise switched off (log-variance -40) one SGD step is deterministic, so
    two replicas must give exactly the one-device update (a per-replica mean would double it)."""
    import keras

    x, _ = fake_data((8, 8, 1), n=32)

    def make():
        model = build("vae", (8, 8, 1), seed=0)
        head = model.encoder.get_layer("log_var")
        head.set_weights([np.zeros_like(head.get_weights()[0]), np.full_like(head.get_weights()[1], -40.0)])
        model.compile(optimizer=keras.optimizers.SGD(0.01))
        return model

    reference = make()
    start = [w.copy() for w in reference.get_weights()]
    reference.fit(x, batch_size=32, epochs=1, shuffle=False, verbose=0)
    if distributed:
        with strategy.scope():
            model = make()
        model.set_weights(start)
    else:
        model = make()
        model.set_weights(start)
    model.fit(x, batch_size=32, epochs=1, shuffle=False, verbose=0)
    moved = [np.abs(a - b).max() for a, b in zip(reference.get_weights(), start)]
    assert max(moved) > 1e-3
    for got, want in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, want, atol=1e-5)


class _Float32Outputs:
    """A network's outputs cast to float32 (what the loss terms read), for a float32 twin."""

    def __init__(self, network):
        self.network = network

    def __call__(self, inputs, training=False):
        return tf.nest.map_structure(lambda t: tf.cast(t, tf.float32), self.network(inputs, training=training))


def _loss_terms(model, x_model):
    """The per-example loss terms the model trains on, evaluated eagerly (training=False)."""
    seed = tf.constant([3, 4], tf.int32)
    if isinstance(model, kg.models.VQVAE):
        per_example, recon, _, q = model._forward(x_model, False)
        return {"loss": per_example, "reconstruction": recon, "commitment": q["commitment"], "codebook": q["codebook"]}
    if isinstance(model, kg.models.AAE):
        recon, g_loss, _ = model._autoencoder_terms(x_model, None, seed, False)
        return {"reconstruction": recon, "g_loss": g_loss}
    recon, kl_mc, kl_analytic = model._terms(x_model, None, seed, 2, False)
    return {"reconstruction": recon, "kl_mc": kl_mc, "kl_analytic": kl_analytic}


@pytest.mark.parametrize("name,precision", [("conv-vae", "mixed_bfloat16"),
                                            pytest.param("hvae", "mixed_bfloat16", marks=pytest.mark.slow),
                                            ("vq-vae", "mixed_bfloat16"), ("iwae", "mixed_float16"),
                                            ("aae", "mixed_float16")])
def test_mixed_precision_trains_with_float32_terms(name, precision):
    # rejects: loss terms (likelihood, KL, codebook, adversarial) computed in the networks' reduced
    # precision, even if cast to float32 afterwards: they must equal a float32 twin's on the same
    # network outputs
    import keras

    keras.mixed_precision.set_global_policy(precision)
    model = build(name, (8, 8, 1))
    model.compile()
    if precision == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        if name == "aae":
            assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
    x, y = fake_data((8, 8, 1))
    metrics = fit_few_steps(model, x, y)
    assert all(np.isfinite(v) for v in metrics.values())
    assert model.sample(2, seed=0).dtype == np.float32
    reduced = precision.split("_")[1]
    assert reduced in {layer.compute_dtype for layer in model.encoder._flatten_layers()}
    assert model.observation.compute_dtype == "float32"
    if name == "vq-vae":
        assert model.quantizer.compute_dtype == "float32"
    x_model = model.to_model_space(x[:8])
    terms = _loss_terms(model, x_model)  # under the mixed policy
    # a float32 twin with the same weights whose networks return the mixed model's outputs (cast to
    # float32): only the computation of the terms differs, and it must not
    keras.mixed_precision.set_global_policy("float32")
    twin = build(name, (8, 8, 1))
    twin.set_weights(model.get_weights())
    for attr in ("encoder", "decoder", "top_encoder", "top_prior", "discriminator"):
        if hasattr(twin, attr):
            setattr(twin, attr, _Float32Outputs(getattr(model, attr)))
    twin_terms = _loss_terms(twin, x_model)
    for key, value in terms.items():
        assert value.dtype == tf.float32, key
        np.testing.assert_allclose(value.numpy(), twin_terms[key].numpy(), rtol=1e-5, atol=1e-5, err_msg=key)


# one model per step kind: the ELBO step, the adversarial autoencoder, the VQ codebook, the K-sample IWAE bound
# rejects (iwae): an op XLA cannot compile in the importance-weighted objective
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) for n in ("aae", "vae", "vq-vae", "iwae")])
def test_train_step_compiles_with_xla(name):
    assert_trains_under_xla(name)

@pytest.mark.slow

def test_resume_continues_exactly(tmp_path):
    _, _, uninterrupted, resumed = train_save_resume("beta-vae", 4, str(tmp_path / "v.keras"))
    assert resumed == uninterrupted
    assert uninterrupted["beta"][-1] > 0  # the KL warm-up continued from the saved step

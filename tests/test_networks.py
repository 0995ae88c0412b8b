"""Network builders for every supported data shape, heads and conditioning inputs."""

import keras
import numpy as np
import pytest

import kerasgen as kg
from kerasgen.losses import divergences

IMAGE_SHAPES = [(8, 8, 1), (8, 8, 3), (28, 28, 1), (28, 28, 3), (32, 32, 1), (32, 32, 3), (64, 64, 1), (64, 64, 3)]


@pytest.mark.parametrize("shape", IMAGE_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_dcgan_networks_fit_image_shapes(shape):
    g = kg.networks.dcgan_generator(shape, 16, base_filters=4)
    d = kg.networks.dcgan_discriminator(shape, base_filters=4)
    x = g(np.zeros((2, 16), "float32"))
    assert tuple(x.shape) == (2, *shape)
    assert float(np.abs(x).max()) <= 1.0
    assert tuple(d(x).shape) == (2, 1)


@pytest.mark.parametrize("shape", [(2,), (5,), (8, 8, 1), (28, 28, 1)], ids=lambda s: "x".join(map(str, s)))
def test_mlp_networks_fit_vectors_and_images(shape):
    g = kg.networks.mlp_generator(shape, 6, hidden=(8,))
    d = kg.networks.mlp_discriminator(shape, hidden=(8,))
    x = g(np.zeros((3, 6), "float32"))
    assert tuple(x.shape) == (3, *shape)
    assert tuple(d(x).shape) == (3, 1)
    last = g.layers[-2]
    assert last.activation.__name__ == ("tanh" if len(shape) == 3 else "linear")


def test_stage_counts():
    assert [kg.networks.num_stages(s, s) for s in (8, 28, 32, 64)] == [1, 2, 3, 4]


def test_conditional_inputs_and_heads():
    g = kg.networks.dcgan_generator((28, 28, 1), 8, base_filters=4, num_classes=10)
    d = kg.networks.dcgan_discriminator((28, 28, 1), base_filters=4, label_input_classes=10, num_classes=10,
                                        categorical_codes=(10, 3), continuous_codes=2)
    labels = np.array([1, 2], "int32")
    x = g([np.zeros((2, 8), "float32"), labels])
    out = d([np.asarray(x), labels])
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "logit": (2, 1), "class_logits": (2, 10), "code_logits": (2, 13), "code_mean": (2, 2)}


def test_spectral_norm_wraps_layers():
    d = kg.networks.dcgan_discriminator((8, 8, 1), base_filters=4, spectral_norm=True)
    assert sum(isinstance(layer, keras.layers.SpectralNormalization) for layer in d.layers) >= 2
    with pytest.raises(ValueError, match="need image data"):
        kg.networks.dcgan_generator((2,), 4)


@pytest.mark.parametrize("build", [
    lambda **kw: kg.networks.mlp_discriminator((3,), hidden=(8, 8), **kw),
    lambda **kw: kg.networks.dcgan_discriminator((8, 8, 1), base_filters=4, **kw)])
def test_spectral_gain_multiplies_every_normalised_layer(build):
    # with the initial zero biases and LeakyReLU's positive homogeneity, a network of L normalised layers each
    # followed by `gain` computes gain**L times the 1-Lipschitz network with the same weights
    one, four = build(spectral_norm=True), build(spectral_norm=True, spectral_gain=4.0)
    normalised = [layer for layer in four.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    gains = [layer for layer in four.layers if isinstance(layer, keras.layers.Rescaling)]
    assert len(normalised) == len(gains) >= 3 and all(layer.scale == 4.0 for layer in gains)
    assert not any(isinstance(layer, keras.layers.Rescaling) for layer in one.layers)
    four.set_weights(one.get_weights())
    x = np.random.default_rng(0).normal(size=(5, *one.input_shape[1:])).astype("float32")
    expected = 4.0 ** len(normalised) * keras.ops.convert_to_numpy(one(x, training=True))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(four(x, training=True)), expected, rtol=1e-4, atol=1e-6)
    clone = keras.Model.from_config(four.get_config())
    clone.set_weights(four.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(x)), keras.ops.convert_to_numpy(four(x)), rtol=1e-6)
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="spectral_gain must be a finite number > 0"):
            build(spectral_norm=True, spectral_gain=bad)
    with pytest.raises(ValueError, match="pass spectral_norm=True"):
        build(spectral_gain=2.0)


def test_spectral_gain_scales_the_normalised_layers_output_bias_included():
    from kerasgen.networks.common import maybe_spectral

    dense = keras.layers.Dense(3, bias_initializer="ones")
    scaled = maybe_spectral(dense, True, 4.0)
    x = np.random.default_rng(1).normal(size=(4, 5)).astype("float32")
    out = keras.ops.convert_to_numpy(scaled(x, training=True))
    kernel = dense.kernel.numpy()  # divided by its estimated largest singular value in that call
    np.testing.assert_allclose(out, 4.0 * (x @ kernel + 1.0), rtol=1e-5, atol=1e-5)


def test_spectrally_normalised_logits_stay_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        for gain in (1.0, 4.0):
            d = kg.networks.mlp_discriminator((3,), hidden=(8,), spectral_norm=True, spectral_gain=gain)
            logit = d(np.ones((2, 3), "float32"), training=True)
            assert keras.backend.standardize_dtype(logit.dtype) == "float32"
            normalised = [layer for layer in d.layers if isinstance(layer, keras.layers.SpectralNormalization)]
            assert [layer.compute_dtype for layer in normalised] == ["bfloat16", "float32"]  # hidden, logit
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_weight_norm_dense_normalises_columns_and_initialises_from_data():
    layer = kg.layers.WeightNormDense(3, train_scale=False, name="wn")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, kg.layers.WeightNormDense(2, activation="relu", name="wn2")(layer(inputs)))
    kernel = keras.ops.convert_to_numpy(layer.kernel())
    np.testing.assert_allclose(np.linalg.norm(kernel, axis=0), 1.0, rtol=1e-3)  # scale 1, unit columns
    assert [w.name for w in layer.trainable_weights] == ["direction", "bias"]  # the scale stays fixed
    x = np.random.default_rng(0).normal(3.0, 5.0, (64, 4)).astype("float32")
    assert kg.layers.initialize_weight_norm(model, x)
    pre = keras.ops.convert_to_numpy(layer(x))  # mean 0, std 1 per unit on that batch
    np.testing.assert_allclose(pre.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(pre.std(0), 1.0, rtol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(keras.ops.convert_to_numpy(layer.kernel()), axis=0),
                               keras.ops.convert_to_numpy(layer.scale), rtol=1e-3)
    before = [w.numpy().copy() for w in model.weights]
    assert not kg.layers.initialize_weight_norm(model, x + 1.0)  # once only
    for a, b in zip(before, model.weights):
        np.testing.assert_array_equal(a, b.numpy())
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)


def test_batch_norm_statistics_catch_up_within_a_short_run_for_gans_and_vaes():
    # sampling and decoding use the moving mean and variance. After 2 epochs (96 steps) on the digits, those of
    # BATCH_NORM_MOMENTUM 0.9 matched the batch statistics (dcgan outputs 0.05 apart on average, conv-vae
    # reconstructions 0.02 nats); with Keras' default 0.99 they lagged the weights (0.16, and 3.6 nats)
    digits, test = kg.data.load("digits", batch_size=32, seed=0), kg.data.load_arrays("digits", split="test").x
    keras.utils.set_random_seed(0)
    gan = kg.models.get("dcgan", data_shape=(8, 8, 1), seed=0)
    gan.compile()
    gan.fit(digits, epochs=2, verbose=0)
    z = gan.sample_noise(500, seed=1)
    moving, batch = (np.asarray(gan.generator(z, training=mode)) for mode in (False, True))
    assert np.mean(np.abs(moving - batch)) < 0.08

    keras.utils.set_random_seed(0)
    vae = kg.models.get("conv-vae", data_shape=(8, 8, 1), seed=0)
    vae.compile()
    vae.fit(digits, epochs=2, verbose=0)
    posterior = vae.encoder(test, training=False)
    eps = np.random.default_rng(0).normal(size=posterior["mean"].shape).astype("float32")
    z = posterior["mean"] + np.exp(0.5 * np.asarray(posterior["log_var"])) * eps  # the same draws in both modes
    moving, batch = (float(np.mean(divergences.bernoulli_nll((test + 1) / 2, vae.decoder(z, training=mode))))
                     for mode in (False, True))
    assert moving < batch + 1.0, (moving, batch)

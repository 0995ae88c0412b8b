"""Network builders for every supported data shape, heads and conditioning inputs."""

import keras
import numpy as np
import pytest

import kerasgen as kg

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

"""Every GAN preset on every supported data shape: build, fit, sample, save/load."""

import numpy as np
import pytest

import kerasgen as kg
from helpers import (
    IMAGE_SHAPES, VECTOR_SHAPES, assert_finite_metrics, assert_samples, build, fake_data, fit_few_steps,
)

GAN_PRESETS = sorted(name for name, p in kg.PRESETS.items() if p.family == "adversarial")
CASES = [(name, shape) for name in GAN_PRESETS for shape in IMAGE_SHAPES + VECTOR_SHAPES]


def test_all_documented_presets_are_registered():
    expected = {"gan", "dcgan", "wgan", "wgan-gp", "lsgan", "sngan", "cgan", "acgan", "infogan"}
    assert expected <= set(kg.models.list())


@pytest.mark.parametrize("name,shape", CASES, ids=[f"{n}-{'x'.join(map(str, s))}" for n, s in CASES])
def test_preset_fits_samples_and_round_trips(name, shape, tmp_path):
    model = build(name, shape, seed=1)
    model.compile()
    x, y = fake_data(shape)
    metrics = fit_few_steps(model, x, y)
    assert_finite_metrics(metrics)
    assert {"d_loss", "g_loss"} <= set(metrics)
    samples = model.sample(5, seed=3)
    assert_samples(samples, 5, shape, is_image=len(shape) == 3)
    np.testing.assert_array_equal(samples, model.sample(5, seed=3))
    if len(shape) == 1:  # vectors come back on the data's own scale
        assert abs(float(model.standardizer.mean.numpy().mean()) - float(x.mean())) < 1e-3
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = kg.models.load(path)
    assert loaded.preset == name
    assert loaded.get_config()["loss"] == model.get_config()["loss"]
    np.testing.assert_allclose(loaded.sample(5, seed=3), samples, atol=1e-6)
    assert int(loaded.g_optimizer.iterations.numpy()) == int(model.g_optimizer.iterations.numpy()) > 0

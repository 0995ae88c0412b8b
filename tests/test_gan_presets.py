"""Every GAN preset on every supported data shape: build, fit, sample, save/load."""

import numpy as np
import pytest

import kerasgen as kg
from helpers import build_fit_sample, preset_cases

CASES, IDS = preset_cases("adversarial")


def test_all_documented_presets_are_registered():
    expected = {"gan", "dcgan", "wgan", "wgan-gp", "lsgan", "sngan", "cgan", "acgan", "infogan"}
    assert expected <= set(kg.models.list())


@pytest.mark.parametrize("name,shape", CASES, ids=IDS)
def test_preset_fits_samples_and_round_trips(name, shape, tmp_path):
    model, x, samples = build_fit_sample(name, shape, {"d_loss", "g_loss"})
    if len(shape) == 1:  # vectors come back on the data's own scale
        assert abs(float(model.standardizer.mean.numpy().mean()) - float(x.mean())) < 1e-3
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = kg.models.load(path)
    assert loaded.preset == name
    assert loaded.get_config()["loss"] == model.get_config()["loss"]
    np.testing.assert_allclose(loaded.sample(5, seed=3), samples, atol=1e-6)
    assert int(loaded.g_optimizer.iterations.numpy()) == int(model.g_optimizer.iterations.numpy()) > 0

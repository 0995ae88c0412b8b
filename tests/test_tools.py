"""Latent interpolation, the standardisation layer, sample pictures and the SampleGrid callback."""

import numpy as np
import pytest
from PIL import Image

import kerasgen as kg


def test_linear_and_slerp_interpolation():
    z0, z1 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    lin = kg.latent.interpolate(z0, z1, 5)
    np.testing.assert_allclose(lin[0], z0); np.testing.assert_allclose(lin[-1], z1)
    np.testing.assert_allclose(lin[2], [0.5, 0.5])
    sl = kg.latent.interpolate(z0, z1, 5, method="slerp")
    np.testing.assert_allclose(np.linalg.norm(sl, axis=1), 1.0, rtol=1e-6)  # stays on the sphere
    np.testing.assert_allclose(sl[2], [np.sqrt(0.5), np.sqrt(0.5)], rtol=1e-6)
    batch = kg.latent.interpolate(np.ones((3, 4)), -np.ones((3, 4)), 4, method="slerp")
    assert batch.shape == (4, 3, 4) and np.isfinite(batch).all()
    with pytest.raises(ValueError, match="unknown interpolation method"):
        kg.latent.interpolate(z0, z1, 3, method="cubic")
    with pytest.raises(ValueError, match="same shape"):
        kg.latent.interpolate(z0, np.ones(3), 3)


def test_standardize_round_trip():
    layer = kg.layers.Standardize((3,))
    x = np.random.default_rng(0).normal(size=(100, 3)) * [1, 10, 100] + [5, -5, 50]
    layer.adapt(x)
    y = layer(x).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(y.std(0), 1, atol=1e-4)
    np.testing.assert_allclose(layer.inverse(y).numpy(), x, rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="NaN"):
        layer.adapt(np.full((4, 3), np.nan))


def test_save_samples_and_sample_grid_callback(tmp_path):
    path = kg.plotting.save_samples(np.zeros((10, 8, 8, 1)), str(tmp_path / "g.png"), scale=2)
    assert Image.open(path).size[0] > 16
    kg.plotting.save_samples(np.random.rand(100, 2), str(tmp_path / "s.png"))
    with pytest.raises(ValueError, match="cannot draw"):
        kg.plotting.save_samples(np.zeros((3, 5)), str(tmp_path / "x.png"))
    model = kg.models.get("dcgan", data_shape=(8, 8, 1), base_filters=8)
    model.compile()
    cb = kg.callbacks.SampleGrid(str(tmp_path / "grids"), every=2, n=9)
    model.fit(np.zeros((16, 8, 8, 1), "float32"), batch_size=8, epochs=4, verbose=0, callbacks=[cb])
    assert [p.rsplit("/", 1)[-1] for p in cb.written] == ["samples_epoch_0002.png", "samples_epoch_0004.png"]
    assert all(Image.open(p).mode == "L" for p in cb.written)

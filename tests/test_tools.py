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


def test_mode_coverage_on_known_cases():
    density = kg.data.get_density("25gaussians")
    perfect = kg.metrics.mode_coverage(density.sample(2500, seed=0), density.centers, density.std)
    assert perfect["modes"] == 25 and perfect["high_quality"] > 0.98 and perfect["reverse_kl"] < 0.02
    one_mode = np.tile(density.centers[:1], (100, 1))
    r = kg.metrics.mode_coverage(one_mode, density.centers, density.std)
    assert r["modes"] == 1 and r["high_quality"] == 1.0
    np.testing.assert_allclose(r["reverse_kl"], np.log(25))
    far = kg.metrics.mode_coverage(np.full((10, 2), 1.0), density.centers, density.std)  # between modes
    assert far["modes"] == 0 and far["high_quality"] == 0.0 and far["reverse_kl"] == float("inf")
    # a point at exactly 3 std counts; beyond does not
    edge = density.centers[:2] + np.array([[3 * 0.05, 0.0], [3.01 * 0.05, 0.0]])
    assert kg.metrics.mode_coverage(edge, density.centers, 0.05)["high_quality"] == 0.5
    with pytest.raises(ValueError, match="NaN"):
        kg.metrics.mode_coverage(np.array([[np.nan, 0.0]]), density.centers, 0.05)

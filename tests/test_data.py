"""Data specs, scaling and the errors bad input gets."""

import gzip
import os
import struct

import numpy as np
from scipy.stats import multivariate_normal
import pytest
from PIL import Image

import kerasgen as kg
from kerasgen.data import toy2d

TOY = sorted(toy2d.DENSITIES)


@pytest.mark.parametrize("name", TOY)
def test_toy2d_sampling_is_exact_and_seeded(name):
    density = kg.data.get_density(name)
    a = density.sample(500, seed=1)
    assert a.shape == (500, 2) and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, density.sample(500, seed=1))
    assert not np.array_equal(a, density.sample(500, seed=2))
    ds = kg.data.load(f"toy2d:{name}", batch_size=100, n_samples=300)
    assert next(iter(ds)).shape == (100, 2)


def test_density_of_a_spec():
    density = kg.data.density_of("toy2d:8gaussians")
    x = kg.data.load_arrays("toy2d:8gaussians", n_samples=200).x
    np.testing.assert_allclose(density.log_prob(x), kg.data.get_density("8gaussians").log_prob(x))
    assert kg.data.density_of("digits") is None and kg.data.density_of("npz:toy2d.npz") is None
    with pytest.raises(ValueError, match="nope"):
        kg.data.density_of("toy2d:nope")


@pytest.mark.parametrize("name,k,std,radius", [("8gaussians", 8, 0.02, 2.0), ("25gaussians", 25, 0.05, 4.0 * np.sqrt(2))])
def test_mixture_log_density_and_centres(name, k, std, radius):
    density = kg.data.get_density(name)
    assert density.centers.shape == (k, 2)
    assert density.std == std
    np.testing.assert_allclose(np.max(np.linalg.norm(density.centers, axis=1)), radius)
    # the density integrates to 1 over a grid that covers the mass
    g = np.linspace(-5, 5, 1001)
    xx, yy = np.meshgrid(g, g)
    p = np.exp(density.log_prob(np.stack([xx.ravel(), yy.ravel()], 1)))
    np.testing.assert_allclose(p.sum() * (g[1] - g[0]) ** 2, 1.0, atol=2e-3)
    # at a centre: (1/K) N(0; 0, std^2 I) (other components are negligible)
    np.testing.assert_allclose(density.log_prob(density.centers[:1]), -np.log(k * 2 * np.pi * std**2), rtol=1e-6)
    # samples lie within 4 std of some centre
    x = density.sample(2000, seed=0)
    d = np.linalg.norm(x[:, None] - density.centers[None], axis=-1).min(1)
    assert (d < 4 * std).mean() > 0.99


@pytest.mark.parametrize("name", ["checkerboard"] + [pytest.param(n, marks=pytest.mark.slow) for n in ("moons", "circles", "spirals")])
def test_curve_and_checkerboard_densities_are_normalised_and_match_their_samples(name):
    density = kg.data.get_density(name)
    g = np.linspace(-4, 4, 201)
    xx, yy = np.meshgrid(g, g)
    p = np.exp(density.log_prob(np.stack([xx.ravel(), yy.ravel()], 1)))
    np.testing.assert_allclose(p.sum() * (g[1] - g[0]) ** 2, 1.0, atol=0.03)  # grid edges cut the squares
    x = density.sample(4000, seed=0)
    assert np.isfinite(density.log_prob(x)).all()  # every sample lies where the density is positive
    # the held-out NLL of the true density is the lowest any model can reach: a Gaussian fit is worse
    gaussian = -multivariate_normal(x.mean(0), np.cov(x.T)).logpdf(density.sample(4000, seed=1)).mean()
    assert -density.log_prob(density.sample(4000, seed=1)).mean() < gaussian - 0.3


def test_digits_range_labels_and_splits():
    ds, info = kg.data.load("digits", batch_size=64, return_info=True, shuffle=False)
    x, y = next(iter(ds))
    assert x.shape == (64, 8, 8, 1) and y.dtype.name == "int32"
    assert info.data_shape == (8, 8, 1) and info.num_classes == 10 and info.is_image
    train = kg.data.load_arrays("digits", split="train")
    test = kg.data.load_arrays("digits", split="test")
    assert len(train.x) + len(test.x) == 1797
    assert train.x.min() == -1.0 and train.x.max() == 1.0
    resized = kg.data.load_arrays("digits", split="test", image_size=(28, 28))
    assert resized.x.shape[1:] == (28, 28, 1) and resized.info.data_shape == (28, 28, 1)
    assert resized.x.min() >= -1 and resized.x.max() <= 1


def test_to_display_inverts_model_scaling():
    raw = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    scaled = kg.data.images_to_model_range(raw)
    assert scaled.min() == -1.0 and scaled.max() == 1.0
    np.testing.assert_array_equal(kg.data.to_display(scaled), raw)


def test_npz_images_vectors_and_errors(tmp_path):
    path = str(tmp_path / "d.npz")
    x = np.random.default_rng(0).integers(0, 256, (40, 6, 6)).astype(np.uint8)
    np.savez(path, x=x, y=np.arange(40) % 4)
    data = kg.data.load_arrays(f"npz:{path}", split="all")
    assert data.x.shape == (40, 6, 6, 1) and data.info.num_classes == 4
    vec = str(tmp_path / "v.npz")
    np.savez(vec, x=np.full((10, 3), 100.0))
    v = kg.data.load_arrays(f"npz:{vec}", split="all")
    np.testing.assert_array_equal(v.x, 100.0)  # vectors are taken as given
    assert v.y is None and v.info.num_classes is None
    with pytest.raises(FileNotFoundError, match="npz file not found"):
        kg.data.load(f"npz:{tmp_path / 'missing.npz'}")
    wrong = str(tmp_path / "w.npz")
    np.savez(wrong, images=x)
    with pytest.raises(ValueError, match="no array 'x'.*images"):
        kg.data.load(f"npz:{wrong}")
    nan = str(tmp_path / "n.npz")
    bad = np.zeros((5, 2)); bad[2, 1] = np.nan; bad[4, 0] = np.inf
    np.savez(nan, x=bad)
    with pytest.raises(ValueError, match="NaN or infinite values in 2 of 5"):
        kg.data.load(f"npz:{nan}")
    empty = str(tmp_path / "e.npz")
    np.savez(empty, x=np.zeros((0, 4, 4)))
    with pytest.raises(ValueError, match="empty"):
        kg.data.load(f"npz:{empty}")
    mismatched = str(tmp_path / "m.npz")
    np.savez(mismatched, x=np.zeros((5, 2)), y=np.arange(4))
    with pytest.raises(ValueError, match="labels must have shape"):
        kg.data.load(f"npz:{mismatched}", split="all")


def _write_idx(path, arr, code):
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(">u1").tobytes())


def test_idx_reads_mnist_format(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (12, 28, 28)).astype(np.uint8)
    labels = (np.arange(12) % 10).astype(np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, 0x08)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels, 0x08)
    data = kg.data.load_arrays(f"idx:{tmp_path}", split="train")
    assert data.x.shape == (12, 28, 28, 1)
    np.testing.assert_array_equal(kg.data.to_display(data.x)[..., 0], images)
    np.testing.assert_array_equal(data.y, labels)
    with pytest.raises(FileNotFoundError, match="t10k-images"):
        kg.data.load(f"idx:{tmp_path}", split="test")
    with pytest.raises(FileNotFoundError, match="idx folder not found"):
        kg.data.load(f"idx:{tmp_path / 'nope'}")


def test_folder_of_class_subfolders(tmp_path):
    for cls in ("cat", "dog"):
        os.makedirs(tmp_path / cls)
        for i in range(3):
            Image.fromarray(np.full((10, 12, 3), 40 * i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    ds, info = kg.data.load(f"folder:{tmp_path}", batch_size=4, split="all", return_info=True)
    assert info.data_shape == (10, 12, 3) and info.num_classes == 2
    x, y = next(iter(ds))
    assert x.shape == (4, 10, 12, 3)
    Image.fromarray(np.zeros((9, 9, 3), np.uint8)).save(tmp_path / "cat" / "odd.png")
    with pytest.raises(ValueError, match="mixed sizes"):
        kg.data.load(f"folder:{tmp_path}")
    _, info = kg.data.load(f"folder:{tmp_path}", image_size=(8, 8), split="all", return_info=True)
    assert info.data_shape == (8, 8, 3)


def test_tfds_through_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=20):
        ds, info = kg.data.load("tfds:mnist", batch_size=8, return_info=True)
        x, y = next(iter(ds))
    assert x.shape == (8, 28, 28, 1) and info.num_classes == 10
    assert float(x.numpy().min()) >= -1.0 and float(x.numpy().max()) <= 1.0


def test_stream_epochs_are_permutations_keyed_by_seed_and_epoch():
    # rejects: epochs whose order depends on how many epochs the process iterated (a resumed run
    # would replay epoch 0), batches crossing an epoch's end, a skip that skips the wrong batches
    def batches(stream, n):
        return [b.numpy() for b in stream.take(n)]

    x = kg.data.load_arrays("toy2d:moons", n_samples=100, seed=5).x  # (the toy points are drawn with the seed)
    ds, steps, info = kg.data.stream("toy2d:moons", batch_size=32, n_samples=100, seed=5)
    assert steps == 4 and info.num_examples == 100
    first = batches(ds, 3 * steps)
    assert [len(b) for b in first[:steps]] == [32, 32, 32, 4]
    epochs = [np.concatenate(first[e * steps:(e + 1) * steps]) for e in range(3)]
    for epoch in epochs:  # each epoch is the whole data set once
        np.testing.assert_array_equal(epoch[np.lexsort(epoch.T)], x[np.lexsort(x.T)])
    assert not np.array_equal(epochs[0], epochs[1])
    resumed = batches(kg.data.stream("toy2d:moons", batch_size=32, n_samples=100, seed=5, start_epoch=1,
                                     skip_batches=2)[0], 2 + steps)
    for a, b in zip(resumed, first[steps + 2:]):
        np.testing.assert_array_equal(a, b)
    # the seed orders the epochs (digits: the same examples whatever the seed, unlike the toy samples)
    a, b = (next(iter(kg.data.stream("digits", batch_size=32, seed=s)[0]))[0].numpy() for s in (0, 1))
    assert not np.array_equal(a, b)
    with pytest.raises(ValueError, match="an epoch has 4 batches"):
        kg.data.stream("toy2d:moons", batch_size=32, n_samples=100, skip_batches=4)
    import tensorflow_datasets as tfds

    def digests(batches):  # each epoch's examples, in any order
        return sorted(hash(x.tobytes()) for batch in batches for x in batch[0].numpy())

    with tfds.testing.mock_data(num_examples=20):
        ds, steps, info = kg.data.stream("tfds:mnist", batch_size=8)
        streamed = list(ds.take(2 * steps))
        resumed = list(kg.data.stream("tfds:mnist", batch_size=8, start_epoch=1)[0].take(steps))
    assert steps == 3 and [len(x) for x, _ in streamed] == [8, 8, 4, 8, 8, 4] and info.num_classes == 10
    assert digests(streamed[:steps]) == digests(streamed[steps:]) == digests(resumed)


@pytest.mark.parametrize("spec,message", [
    ("cifar", "unknown data spec"),
    ("toy2d:swissroll", "unknown toy2d density 'swissroll'"),
    ("tfds:no_such_dataset_xyz", "unknown tfds data set"),
])
def test_unknown_specs_are_named(spec, message):
    with pytest.raises(ValueError, match=message):
        kg.data.load(spec)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown split"):
        kg.data.load("digits", split="validation")
    with pytest.raises(ValueError, match="batch_size"):
        kg.data.load("digits", batch_size=0)
    with pytest.raises(ValueError, match="value range"):
        kg.data.images_to_model_range(np.full((2, 4, 4), 300.0))

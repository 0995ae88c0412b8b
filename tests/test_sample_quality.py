"""Inception score, precision/recall, density/coverage, cached reference statistics and the
FID/KID training callback, against known cases."""

import json
import os

import numpy as np
import pytest

import kerasgen as kg
from tests.helpers import build


def blobs(n, centres, seed, std=0.05):
    """n points spread evenly over Gaussian blobs at `centres` (K, D)."""
    centres = np.asarray(centres, float)
    rng = np.random.default_rng(seed)
    return centres[np.arange(n) % len(centres)] + rng.normal(size=(n, centres.shape[1])) * std


def test_a_confident_classifier_on_a_uniform_class_mix_scores_the_number_of_classes():
    labels = np.arange(1400) % 7  # each of the 10 splits holds every class 20 times
    onehot = lambda x: np.eye(7)[x.astype(int)]  # a perfect, confident classifier of these "samples"
    score = kg.metrics.inception_score(labels, classifier=onehot, splits=10)
    assert score.mean == pytest.approx(7.0, rel=1e-9) and score.std == pytest.approx(0.0, abs=1e-9)
    # one class only, or uninformative predictions: the minimum, 1
    assert kg.metrics.inception_score(np.eye(7)[np.zeros(100, int)], splits=2).mean == pytest.approx(1.0)
    assert kg.metrics.inception_score(np.full((100, 7), 1 / 7), splits=2).mean == pytest.approx(1.0)
    # by hand: p(y|x) = [(.9, .1), (.1, .9)], p(y) = (.5, .5): exp(.9 log 1.8 + .1 log .2)
    hand = np.exp(0.9 * np.log(1.8) + 0.1 * np.log(0.2))
    assert kg.metrics.inception_score(np.array([[0.9, 0.1], [0.1, 0.9]]), splits=1).mean == pytest.approx(hand)


def test_inception_score_rejects_what_is_not_probabilities():
    with pytest.raises(ValueError, match="softmax"):
        kg.metrics.inception_score(np.array([[2.0, -1.0], [0.5, 0.5]]), splits=1)
    with pytest.raises(ValueError, match="splits"):
        kg.metrics.inception_score(np.eye(3), splits=4)
    with pytest.raises(ValueError, match="shape"):
        kg.metrics.inception_score(np.ones(5) / 5)


def test_precision_and_recall_are_one_on_identical_sets_and_fall_on_disjoint_ones():
    real = blobs(400, [[0, 0], [3, 0], [0, 3], [3, 3]], seed=0)
    same = kg.metrics.precision_recall(real, real)
    assert (same.precision, same.recall, same.k) == (1.0, 1.0, 3)
    far = kg.metrics.precision_recall(real, real + 100.0)
    assert far.precision == 0.0 and far.recall == 0.0
    # a generator that covers two of the four blobs: its samples all look real, half the data is missed
    half = blobs(400, [[0, 0], [3, 3]], seed=1)
    pr = kg.metrics.precision_recall(real, half)
    assert pr.precision > 0.95 and pr.recall == pytest.approx(0.5, abs=0.03)


def test_density_and_coverage_have_their_expected_values_on_one_distribution():
    real, fake = blobs(2000, [[0, 0]], seed=2, std=1.0), blobs(2000, [[0, 0]], seed=3, std=1.0)
    dc = kg.metrics.density_coverage(real, fake, k=5)
    # Naeem et al.: E[density] = 1, E[coverage] = 1 - 1/2^k for equal set sizes
    assert dc.density == pytest.approx(1.0, abs=0.1)
    assert dc.coverage == pytest.approx(1 - 0.5 ** 5, abs=0.02)
    missing = kg.metrics.density_coverage(real, fake[fake[:, 0] > 0])  # half the plane never sampled
    assert missing.coverage < 0.6
    with pytest.raises(ValueError, match="k must be"):
        kg.metrics.density_coverage(real[:4], fake[:4], k=5)


def test_the_bundled_digit_classifier_is_accurate_on_held_out_digits():
    from kerasgen.metrics import digit_classifier

    model = digit_classifier.load()
    assert digit_classifier.accuracy(model, "test") >= 0.97
    x, y = digit_classifier.digits("test")
    extractor = kg.metrics.DigitFeatures()
    probs = extractor.probabilities(x * 2 - 1)  # kerasgen's [-1, 1] image range
    assert np.mean(probs.argmax(1) == y) >= 0.97
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    assert extractor(x * 2 - 1).shape == (len(x), 64)
    # the same digits at 16x16 (each pixel a 2x2 block) are area-resized back to the same features
    big = np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)
    np.testing.assert_allclose(extractor(big * 2 - 1), extractor(x * 2 - 1), atol=1e-4)
    # real held-out digits score close to the 10 classes; their FID to the train digits is small
    assert kg.metrics.inception_score(x * 2 - 1, classifier="digits", splits=1).mean > 8.0
    train = digit_classifier.digits("train")[0] * 2 - 1
    noise = np.random.default_rng(0).uniform(-1, 1, x.shape)
    assert kg.metrics.fid(train, x * 2 - 1, features="digits") * 20 < kg.metrics.fid(train, noise, features="digits")

@pytest.mark.slow

def test_the_digit_classifier_training_script_learns(tmp_path):
    from kerasgen.metrics import digit_classifier

    model = digit_classifier.train(epochs=3, seed=1)
    assert digit_classifier.accuracy(model) > 0.8
    path = str(tmp_path / "w.npz")
    digit_classifier.save(model, path)
    x, _ = digit_classifier.digits("test")
    np.testing.assert_allclose(kg.metrics.DigitFeatures(value_range=(0, 1), weights=path).probabilities(x),
                               model.predict(x, verbose=0), atol=1e-5)
    with pytest.raises(FileNotFoundError, match="no digit classifier weights"):
        digit_classifier.load(str(tmp_path / "missing.npz"))


def test_feature_extractors_reject_images_of_the_wrong_shape_or_range():
    extractor = kg.metrics.DigitFeatures()
    good = np.zeros((2, 8, 8, 1), np.float32)
    for bad, message in [(np.zeros((2, 8, 8, 3)), "shape"), (np.zeros((2, 8, 8)), "shape"),
                         (good + 200.0, "outside value_range"), (good - 1.5, "outside value_range"),
                         (np.full_like(good, np.nan), "NaN")]:
        with pytest.raises(ValueError, match=message):
            extractor(bad)
    assert extractor(good + 1.0000001).shape == (2, 64)  # float rounding at the edge is fine
    assert kg.metrics.DigitFeatures(value_range=(0, 255))(good + 200.0).shape == (2, 64)
    with pytest.raises(ValueError, match="unknown feature extractor"):
        kg.metrics.fid(good, good, features="vgg")


@pytest.mark.slow
def test_inception_features_from_a_weights_file_in_the_keras_cache(tmp_path, monkeypatch):
    import keras

    cache = tmp_path / "models"
    cache.mkdir()
    keras.utils.set_random_seed(0)
    net = keras.applications.InceptionV3(include_top=False, weights=None, input_shape=(299, 299, 3), pooling="avg")
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    # the published files are in Keras' legacy h5 weights layout: write random weights the same way
    with h5py.File(cache / "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5", "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, net)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(kg.downloads.ChecksumMismatch):  # random weights are not the published file
        kg.metrics.InceptionFeatures()
    own = kg.downloads.file_digest(str(cache / "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"), "md5")
    extractor = kg.metrics.InceptionFeatures(file_hash=own)  # offline: the test run sets KERASGEN_OFFLINE=1
    images = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32)
    feats = extractor(images)
    assert feats.shape == (2, 2048)
    import tensorflow as tf

    manual = tf.image.resize(np.repeat((images + 1) / 2, 3, axis=-1), (299, 299), method="bilinear") * 2 - 1
    np.testing.assert_allclose(feats, net(manual, training=False), atol=1e-4)
    with pytest.raises(ValueError, match="full weights"):
        extractor.probabilities(images)


def test_reference_statistics_are_cached_to_npz(tmp_path):
    x = blobs(300, [[0, 0, 0]], seed=4, std=1.0)
    path = str(tmp_path / "ref" / "stats.npz")
    mean, cov = kg.metrics.reference_statistics(x, path=path)
    assert os.listdir(tmp_path / "ref") == ["stats.npz"]  # no temporary file left
    again = kg.metrics.reference_statistics(x[:10] * 0, path=path)  # read back, not recomputed
    np.testing.assert_array_equal(again[0], mean)
    np.testing.assert_array_equal(again[1], cov)
    assert kg.metrics.fid(again, x) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="'identity' features, not 'digits'"):
        kg.metrics.load_statistics(path, features="digits")
    with pytest.raises(FileNotFoundError):
        kg.metrics.load_statistics(str(tmp_path / "none.npz"))
    with pytest.raises(ValueError, match=".npz"):
        kg.metrics.save_statistics(str(tmp_path / "stats.txt"), mean, cov)


def test_the_quality_callback_logs_fid_and_kid_every_n_epochs():
    real = np.random.default_rng(0).uniform(-1, 1, (64, 8, 8, 1)).astype(np.float32)
    model = build("dcgan", (8, 8, 1), seed=3)
    model.compile()
    monitor = kg.callbacks.SampleQuality(real, features="digits", every=2, n=32, metrics=("fid", "kid"))
    history = model.fit(real, batch_size=32, epochs=4, verbose=0, callbacks=[monitor]).history
    assert sorted(monitor.values) == [2, 4]
    assert len(history["fid"]) == 2 and len(history["kid"]) == 2
    assert all(np.isfinite(history["fid"])) and all(v > 0 for v in history["fid"])
    assert history["fid"][-1] == pytest.approx(monitor.values[4]["fid"])
    # the value is the FID of the model's samples with the same seed
    samples = np.clip(model.sample(32, seed=0), -1, 1)
    assert monitor.values[4]["fid"] == pytest.approx(kg.metrics.fid(real, samples, features="digits"), rel=1e-6)
    with pytest.raises(ValueError, match="metrics"):
        kg.callbacks.SampleQuality(real, metrics=("is",))


class FixedSamples:
    """A stand-in model whose `sample(n)` is the first n rows of a fixed array."""

    likelihood_kind, num_classes, preset = None, None, "fixed"

    def __init__(self, samples):
        self.samples = samples

    def sample(self, n, seed=None):
        return self.samples[:n].copy()


def samples_a_tenth_out_of_range(n=40, seed=0):
    """(n, 8, 8, 1) images in [-1, 1] except exactly 10% of the values (half above 1, half below -1);
    another 5% lie exactly on the bounds (in range, not clipped)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 8, 8, 1)).astype(np.float32)
    flat = x.reshape(-1)
    idx = rng.permutation(flat.size)
    out, edge = flat.size // 10, flat.size // 20
    flat[idx[: out // 2]] = 1.0 + rng.uniform(1e-3, 2.0, out // 2)
    flat[idx[out // 2 : out]] = -1.0 - rng.uniform(1e-3, 2.0, out - out // 2)
    flat[idx[out : out + edge]] = np.where(np.arange(edge) % 2, 1.0, -1.0)
    return x


def test_evaluate_clips_samples_and_records_the_clipped_fraction(tmp_path, monkeypatch, capsys):
    # rejects: the fraction counted after clipping (0), counting one side of the range only, counting
    # values on the bounds (>= / <=), or not clipping (the digit features refuse out-of-range values)
    from kerasgen.cli import main

    real = kg.data.load_arrays("digits", split="test").x
    samples = samples_a_tenth_out_of_range()
    model = FixedSamples(samples)
    records = kg.metrics.evaluate(model, real, metrics=["fid", "kid"], features="digits", n=40)
    assert records["fid"]["clipped_fraction"] == pytest.approx(0.1, abs=1e-12)
    assert records["kid"]["clipped_fraction"] == pytest.approx(0.1, abs=1e-12)
    assert records["fid"]["value"] == pytest.approx(kg.metrics.fid(real, np.clip(samples, -1, 1), features="digits"),
                                                    rel=1e-9)
    # `kerasgen evaluate` records and prints the same fraction
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_bytes(b"")  # never read: models.load returns the stand-in
    monkeypatch.setattr(kg.models, "load", lambda path, **kwargs: model)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", "digits", "--metrics", "fid", "--n", "40"]) == 0
    assert "10.00% of values clipped" in capsys.readouterr().out
    with open(run / "evaluation.json") as f:
        assert json.load(f)["fid"]["clipped_fraction"] == pytest.approx(0.1, abs=1e-12)


def test_the_quality_callback_clips_samples_to_the_image_range():
    # rejects: SampleQuality passing out-of-range samples on (the digit features refuse them) or clipping
    # to another range than the extractor's
    real = kg.data.load_arrays("digits", split="test").x
    samples = samples_a_tenth_out_of_range()
    monitor = kg.callbacks.SampleQuality(real, features="digits", every=1, n=40, metrics=("fid",))
    monitor.set_model(FixedSamples(samples))
    monitor.on_train_begin()
    logs = {}
    monitor.on_epoch_end(0, logs)
    assert logs["fid"] == pytest.approx(kg.metrics.fid(real, np.clip(samples, -1, 1), features="digits"), rel=1e-9)


def fit_with_quality_and(logger, epochs=1):
    """A small DCGAN fitted with SampleQuality (every epoch, FID and KID) ahead of `logger`; returns the
    callback's values. (With every > 1 CSVLogger would miss them: it fixes its columns at the first epoch.)"""
    import keras

    real = np.random.default_rng(0).uniform(-1, 1, (64, 8, 8, 1)).astype(np.float32)
    model = build("dcgan", (8, 8, 1), seed=3)
    model.compile()
    keras.utils.set_random_seed(0)
    monitor = kg.callbacks.SampleQuality(real, features="digits", every=1, n=32, metrics=("fid", "kid"))
    model.fit(real, batch_size=32, epochs=epochs, verbose=0, callbacks=[monitor, logger])
    return monitor.values


@pytest.mark.slow
def test_the_quality_callback_reaches_csv_logger(tmp_path):
    # rejects: SampleQuality putting its values in a copy of the logs (or after the loggers ran), so that
    # CSVLogger never sees them
    import csv

    import keras

    path = str(tmp_path / "log.csv")
    values = fit_with_quality_and(keras.callbacks.CSVLogger(path))
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1
    assert float(rows[0]["fid"]) == pytest.approx(values[1]["fid"], rel=1e-9)
    assert float(rows[0]["kid"]) == pytest.approx(values[1]["kid"], rel=1e-9)


@pytest.mark.slow
def test_the_quality_callback_reaches_tensorboard(tmp_path):
    # rejects: SampleQuality putting its values in a copy of the logs (or after the loggers ran), so that
    # TensorBoard never writes them
    pytest.importorskip("tensorboard", reason="keras.callbacks.TensorBoard needs the tensorboard package")
    import glob

    import keras
    import tensorflow as tf

    values = fit_with_quality_and(keras.callbacks.TensorBoard(str(tmp_path / "tb")))
    scalars = {}
    for path in glob.glob(str(tmp_path / "tb" / "train" / "*tfevents*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for v in event.summary.value:
                scalars[(v.tag, event.step)] = float(tf.make_ndarray(v.tensor))
    assert scalars[("epoch_fid", 0)] == pytest.approx(values[1]["fid"], rel=1e-6)
    assert scalars[("epoch_kid", 0)] == pytest.approx(values[1]["kid"], rel=1e-6)

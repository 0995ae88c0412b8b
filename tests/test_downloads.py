"""Downloads a user asks for (tfds data sets, Inception weights, the FID Inception graph), the offline
switch, checksums, and the FID network's preprocessing, all without a network: the fetching
functions of tensorflow-datasets and Keras are patched out, and the graph file is generated here."""

import contextlib
import json
import hashlib
import os
import tarfile
import urllib.error
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf

import kerasgen as kg
from kerasgen import downloads
from kerasgen.cli import main
from kerasgen.metrics import features as feature_module
from kerasgen.metrics import inception_fid

TFDS_BUILDER = "tensorflow_datasets.core.dataset_builder.DatasetBuilder.download_and_prepare"


@pytest.fixture
def online(monkeypatch):
    """Downloads allowed (the test run sets KERASGEN_OFFLINE=1 for every other test)."""
    monkeypatch.delenv(downloads.OFFLINE_ENV, raising=False)


@pytest.fixture
def tfds_download(monkeypatch):
    """tensorflow-datasets' download_and_prepare, replaced by a recorder that fails like a machine with
    no network when `calls.fail` is set."""
    class Recorder(list):
        fail = None

    calls = Recorder()

    def record(builder, *args, **kwargs):
        calls.append(str(builder.data_dir))
        if calls.fail:
            raise calls.fail

    monkeypatch.setattr(TFDS_BUILDER, record)
    return calls


def test_the_offline_switch_reads_true_values_only_and_offline_blocks_nest(online, monkeypatch):
    from kerasgen.data.tfds_source import prepare_command

    assert downloads.allowed() and not downloads.allowed(False) and not downloads.offline_requested()
    for value in ("1", "true", "YES", " on "):
        monkeypatch.setenv(downloads.OFFLINE_ENV, value)
        assert downloads.offline_requested() and not downloads.allowed()
    for value in ("0", "", "false", "no", "off"):
        monkeypatch.setenv(downloads.OFFLINE_ENV, value)
        assert not downloads.offline_requested() and downloads.allowed()
    with pytest.raises(RuntimeError):
        with downloads.offline():
            with downloads.offline():
                pass
            assert not downloads.allowed() and "--offline" in downloads.offline_reason()
            raise RuntimeError  # an error inside the block ends it all the same
    assert downloads.allowed()
    # the preparing command can be pasted as it is, whatever the folder is called
    assert prepare_command("mnist", "/data/my sets") == "kerasgen download tfds:mnist --data-dir '/data/my sets'"


def test_tfds_specs_download_by_default_and_never_when_offline(online, tfds_download, monkeypatch):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12), mock.patch(TFDS_BUILDER, lambda b, *a, **k: tfds_download.append(1)):
        x, y = next(iter(kg.data.load("tfds:mnist", batch_size=4)))
        assert x.shape == (4, 28, 28, 1) and len(tfds_download) == 1  # prepared through tfds' own mechanism
        kg.data.load("tfds:mnist", batch_size=4, download=False)
        with downloads.offline():
            kg.data.load("tfds:mnist", batch_size=4)
        monkeypatch.setenv(downloads.OFFLINE_ENV, "1")
        kg.data.load("tfds:mnist", batch_size=4)  # mock data stays readable offline
        assert len(tfds_download) == 1


@pytest.mark.parametrize("how", ["download=False", "KERASGEN_OFFLINE", "offline()"])
def test_the_offline_error_names_the_data_set_the_folder_and_the_preparing_command(online, tfds_download, how,
                                                                                  tmp_path, monkeypatch):
    kwargs = {"download": False} if how == "download=False" else {}
    if how == "KERASGEN_OFFLINE":
        monkeypatch.setenv(downloads.OFFLINE_ENV, "1")
    with downloads.offline() if how == "offline()" else contextlib.nullcontext():
        with pytest.raises(downloads.Unavailable) as caught:
            kg.data.load("tfds:mnist", data_dir=str(tmp_path), **kwargs)
    message = str(caught.value)
    assert "tfds data set 'mnist'" in message and str(tmp_path / "mnist") in message
    assert f"kerasgen download tfds:mnist --data-dir {tmp_path}" in message
    assert {"download=False": "download=False", "KERASGEN_OFFLINE": "KERASGEN_OFFLINE=1",
            "offline()": "--offline"}[how] in message
    assert tfds_download == []  # nothing was fetched


def test_an_unreachable_network_gives_the_same_kind_of_error(online, tfds_download, tmp_path):
    tfds_download.fail = ConnectionError("Failed to establish a new connection")
    with pytest.raises(downloads.Unavailable, match="downloading and preparing it failed .ConnectionError") as caught:
        kg.data.load_arrays("tfds:mnist", data_dir=str(tmp_path))
    assert tfds_download == [str(tmp_path / "mnist" / "3.0.1")] and "kerasgen download tfds:mnist" in str(caught.value)


def test_cli_offline_and_data_dir_reach_tfds(online, tfds_download, tmp_path, capsys):
    argv = ["train", "dcgan", "--data", "tfds:mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / "run")]
    assert main([*argv, "--offline"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--offline" in err and f"--data-dir {tmp_path}" in err
    assert tfds_download == []
    tfds_download.fail = ConnectionError("no route to host")
    assert main(argv) == 2 and tfds_download == [str(tmp_path / "mnist" / "3.0.1")]
    assert "no route to host" in capsys.readouterr().err


def test_kerasgen_download_prepares_tfds_data_sets(online, tfds_download, tmp_path, capsys, monkeypatch):
    assert main(["download", "tfds:mnist", "tfds:fashion_mnist", "--data-dir", str(tmp_path)]) == 0
    assert tfds_download == [str(tmp_path / "mnist" / "3.0.1"), str(tmp_path / "fashion_mnist" / "3.0.1")]
    assert f"tfds:mnist: {tmp_path / 'mnist' / '3.0.1'}" in capsys.readouterr().out
    assert main(["download", "cifar"]) == 2 and "cannot download 'cifar'" in capsys.readouterr().err
    monkeypatch.setenv(downloads.OFFLINE_ENV, "1")
    assert main(["download", "tfds:mnist"]) == 2 and "KERASGEN_OFFLINE" in capsys.readouterr().err


def test_crop_takes_the_central_part_before_resizing():
    import tensorflow_datasets as tfds

    full = kg.data.load_arrays("digits", split="all").x
    cropped = kg.data.load_arrays("digits", split="all", crop=(4, 6))
    np.testing.assert_array_equal(cropped.x, full[:, 2:6, 1:7])
    assert cropped.info.data_shape == (4, 6, 1)
    # odd margins round down, as tf.image.resize_with_crop_or_pad does for tfds data
    np.testing.assert_array_equal(kg.data.load_arrays("digits", split="all", crop=(5, 3)).x, full[:, 1:6, 2:5])
    assert kg.data.load_arrays("digits", crop=(6, 6), image_size=(3, 3), limit=5).x.shape == (5, 3, 3, 1)
    with pytest.raises(ValueError, match="larger than the images"):
        kg.data.load_arrays("digits", crop=(9, 8))
    with tfds.testing.mock_data(num_examples=10):
        arrays = kg.data.load_arrays("tfds:mnist", crop=(20, 24), image_size=(10, 12), limit=7)
        whole = kg.data.load_arrays("tfds:mnist", limit=3).x
        tfds_cropped = kg.data.load_arrays("tfds:mnist", crop=(19, 24), limit=3)
    assert arrays.x.shape == (7, 10, 12, 1) and arrays.y.shape == (7,) and arrays.info.num_examples == 7
    # the central part of each tfds image (28x28: rows 4..22, columns 2..25), the same as for in-memory data
    np.testing.assert_array_equal(tfds_cropped.x, whole[:, 4:23, 2:26])
    assert tfds_cropped.info.data_shape == (19, 24, 1)


class Stop(Exception):
    """Ends a command where the test has seen what it needs."""


def test_a_run_records_crop_and_data_dir_and_evaluate_reads_its_data_with_them(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    from kerasgen import callbacks, cli

    class Model:  # stands in for the preset's model: what the commands touch before training or evaluating
        latent_dim, skips_nonfinite, likelihood_kind = 8, False, None

        def compile(self, **kwargs):
            pass

    def stop(*args, **kwargs):
        raise Stop

    loads, load_arrays = [], kg.data.load_arrays

    def recorded(spec, **kwargs):
        loads.append({"spec": spec, "crop": kwargs.get("crop"), "data_dir": kwargs.get("data_dir")})
        return load_arrays(spec, **kwargs)

    monkeypatch.setattr(kg.models, "get", lambda *args, **kwargs: Model())
    monkeypatch.setattr(callbacks, "Checkpoint", stop)  # built right after run.json is written
    monkeypatch.setattr(kg.data, "load_arrays", recorded)
    run, folder = tmp_path / "run", str(tmp_path / "tfds data")
    with tfds.testing.mock_data(num_examples=6), pytest.raises(Stop):
        main(["train", "gan", "--data", "tfds:mnist", "--data-dir", folder, "--crop", "20", "24", "--metrics", "fid",
              "--out", str(run)])
    info = json.loads((run / "run.json").read_text())
    assert (info["crop"], info["data_dir"], info["data_info"]["data_shape"]) == ([20, 24], folder, [20, 24, 1])
    assert loads == [{"spec": "tfds:mnist", "crop": [20, 24], "data_dir": folder}]  # --metrics' held-out reference
    (run / "model.keras").write_bytes(b"")  # evaluate's model is the stand-in
    monkeypatch.setattr(cli, "_load_model", lambda args: Model())
    monkeypatch.setattr(kg.data, "load_arrays", lambda spec, **kwargs: loads.append(
        {"spec": spec, "crop": kwargs.get("crop"), "data_dir": kwargs.get("data_dir")}) or stop())
    other = str(tmp_path / "elsewhere")
    for extra, crop, data_dir in [([], [20, 24], folder), (["--data-dir", other], [20, 24], other),
                                  (["--data", "digits"], None, None)]:  # another data set: none of the run's
        with pytest.raises(Stop):
            main(["evaluate", str(run), *extra])
        assert (loads[-1]["crop"], loads[-1]["data_dir"]) == (crop, data_dir), extra


# --- Keras' Inception-v3 weights ---------------------------------------------------------------

@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def get_file(monkeypatch):
    """keras.utils.get_file replaced by a recorder; `calls.result(fname, cache_dir)` makes the file."""
    import keras

    class Recorder(list):
        result = None

    calls = Recorder()

    def fake(fname, origin=None, file_hash=None, cache_dir=None, cache_subdir="datasets", force_download=False, **kw):
        calls.append({"fname": fname, "origin": origin, "file_hash": file_hash, "force": force_download})
        if calls.result is None:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        return calls.result(fname, os.path.join(cache_dir, cache_subdir))

    monkeypatch.setattr(keras.utils, "get_file", fake)
    return calls


def test_inception_weights_download_with_keras_and_are_refused_offline(online, keras_home, get_file, monkeypatch):
    with pytest.raises(downloads.Unavailable) as caught:
        kg.metrics.InceptionFeatures()
    message = str(caught.value)
    assert "failed (URLError" in message and "kerasgen download inception" in message
    assert get_file == [{"fname": "inception_v3_weights_tf_dim_ordering_tf_kernels.h5", "force": False,
                         "origin": feature_module.INCEPTION_URL + "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
                         "file_hash": "9a0d58056eeedaa3f26cb7ebd46da564"}]  # Keras' published md5
    monkeypatch.setenv(downloads.OFFLINE_ENV, "1")
    with pytest.raises(downloads.Unavailable, match="KERASGEN_OFFLINE=1") as caught:
        kg.metrics.InceptionFeatures()
    assert str(keras_home / "models" / feature_module.INCEPTION_FILES[True]) in str(caught.value)
    with pytest.raises(downloads.Unavailable, match=r"download=False"):
        kg.metrics.InceptionFeatures(include_top=False, download=False)
    assert len(get_file) == 1
    with pytest.raises(FileNotFoundError, match="no Inception-v3 weights file"):
        kg.metrics.InceptionFeatures(weights=str(keras_home / "nothing.h5"))


def test_inception_weights_that_fail_the_published_checksum_are_refused(online, keras_home, get_file, monkeypatch):
    cache = keras_home / "models"
    cache.mkdir()
    corrupted = cache / feature_module.INCEPTION_FILES[False]
    corrupted.write_bytes(b"\x89HDF not really weights")
    monkeypatch.setenv(downloads.OFFLINE_ENV, "1")
    with pytest.raises(downloads.ChecksumMismatch, match="fails its checksum .md5") as caught:
        kg.metrics.InceptionFeatures()
    assert str(corrupted) in str(caught.value) and get_file == []
    with pytest.raises(downloads.ChecksumMismatch, match="fails its checksum"):
        kg.metrics.InceptionFeatures(weights=str(corrupted))
    monkeypatch.delenv(downloads.OFFLINE_ENV)
    with pytest.raises(downloads.Unavailable):  # online, a corrupted cached file is downloaded again
        kg.metrics.InceptionFeatures()
    assert [c["force"] for c in get_file] == [True]
    get_file.result = lambda fname, folder: str(corrupted)  # a download that does not match either
    with pytest.raises(downloads.ChecksumMismatch, match="it was removed; run `kerasgen download inception` again"):
        kg.metrics.InceptionFeatures()
    assert not corrupted.exists()  # nothing loads it later, offline or not

    def keras_refuses(fname, folder):  # get_file's own check fails: Keras raises and leaves the file
        (cache / fname).write_bytes(b"truncated")
        raise ValueError("Incomplete or corrupted file detected.")

    get_file.result = keras_refuses
    with pytest.raises(downloads.ChecksumMismatch, match="Incomplete or corrupted file detected"):
        kg.metrics.InceptionFeatures()
    assert not (cache / feature_module.INCEPTION_FILES[True]).exists()


def test_a_checksum_is_md5_or_sha256_and_verify_names_both_digests(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert downloads.verify(str(path), hashlib.sha256(b"abc").hexdigest(), "f") == str(path)
    assert downloads.verify(str(path), hashlib.md5(b"abc").hexdigest().upper(), "f") == str(path)
    with pytest.raises(downloads.ChecksumMismatch, match=hashlib.sha256(b"abc").hexdigest()):
        downloads.verify(str(path), "0" * 64, "f")
    with pytest.raises(ValueError, match="32 .md5. or 64 .sha256. hex digits"):
        downloads.verify(str(path), "abc", "f")


# --- the Inception graph of the original TensorFlow FID code ------------------------------------

def write_fid_graph(path, seed=0):
    """A GraphDef with the tensor names and front end of `classify_image_graph_def.pb`: DecodeJpeg ->
    Cast -> ExpandDims -> ResizeBilinear (TF1 kernel, 299x299) -> Sub 128 -> Mul 1/128, then `pool_3`
    (N, 1, 1, 2048) made of 2,048 fixed pixels of the scaled image (so the test sees the
    preprocessing), `pool_3/_reshape` (1, 2048) and a 1,008-way `softmax/logits/MatMul` + bias + softmax.

    Returns (path, the pixel indices, the softmax weights)."""
    rng = np.random.default_rng(seed)
    pixels = rng.choice(299 * 299 * 3, inception_fid.FEATURES, replace=False)
    factors = rng.normal(0.0, 0.3, (inception_fid.FEATURES, 3)).astype(np.float32), rng.normal(
        0.0, 0.3, (3, 1008)).astype(np.float32)  # a rank-3 classifier keeps the file small
    weights = factors[0] @ factors[1]
    graph = tf.Graph()
    with graph.as_default():
        contents = tf.compat.v1.placeholder(tf.string, [], name="DecodeJpeg/contents")
        cast = tf.cast(tf.io.decode_jpeg(contents, channels=3, name="DecodeJpeg"), tf.float32, name="Cast")
        resized = tf.compat.v1.image.resize_bilinear(tf.expand_dims(cast, 0, name="ExpandDims"),
                                                     tf.constant([299, 299], name="ResizeBilinear/size"),
                                                     name="ResizeBilinear")
        scaled = tf.multiply(tf.subtract(resized, 128.0, name="Sub"), 1.0 / 128.0, name="Mul")
        picked = tf.gather(tf.reshape(scaled, [-1, 299 * 299 * 3]), pixels, axis=1)
        pool = tf.reshape(picked, [-1, 1, 1, inception_fid.FEATURES], name="pool_3")
        w = tf.matmul(tf.constant(factors[0]), tf.constant(factors[1]), name="softmax/weights")
        logits = tf.matmul(tf.reshape(pool, [1, inception_fid.FEATURES], name="pool_3/_reshape"), w,
                           name="softmax/logits/MatMul")
        biased = tf.nn.bias_add(logits, tf.constant(rng.normal(0.0, 1.0, 1008).astype(np.float32),
                                                    name="softmax/biases"), name="softmax/logits")
        tf.nn.softmax(biased, name="softmax")
    with open(path, "wb") as f:
        f.write(graph.as_graph_def().SerializeToString())
    return str(path), pixels, weights


def published_archive(source):
    """A stand-in for get_file's download of the archive: the .tgz holding `source`, in Keras' cache."""
    def download(fname, folder):
        os.makedirs(folder, exist_ok=True)
        with tarfile.open(os.path.join(folder, fname), "w:gz") as tar:
            tar.add(source, arcname=f"./{inception_fid.GRAPH_FILE}")
        return os.path.join(folder, fname)

    return download


def _sha256(path):
    return downloads.file_digest(str(path), "sha256")


def test_inception_fid_features_follow_the_original_preprocessing(tmp_path):
    path, pixels, weights = write_fid_graph(tmp_path / inception_fid.GRAPH_FILE)
    extractor = kg.metrics.InceptionFIDFeatures(graph=path, file_hash=_sha256(path))
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (3, 32, 24, 3)).astype(np.float32)
    feats = extractor(images)
    assert feats.shape == (3, 2048) and feats.dtype == np.float32
    # the documented preprocessing: 8-bit levels in [0, 255], TF1 bilinear to 299x299, (x - 128) / 128
    levels = np.round((images + 1.0) / 2.0 * 255.0)
    resized = tf.compat.v1.image.resize_bilinear(levels, [299, 299], align_corners=False).numpy()
    expected = ((resized - 128.0) / 128.0).reshape(3, -1)[:, pixels]
    np.testing.assert_allclose(feats, expected, atol=1e-5)
    assert -1.0 <= feats.min() and feats.max() <= 127.0 / 128.0 + 1e-6
    half_pixel = tf.image.resize(levels, [299, 299], method="bilinear").numpy()  # TF2's kernel differs
    assert np.abs(((half_pixel - 128.0) / 128.0).reshape(3, -1)[:, pixels] - feats).max() > 1e-2
    # grey-scale is repeated to three channels; other value ranges are mapped to the same levels
    grey = rng.uniform(0, 255, (2, 16, 16, 1)).astype(np.float32)
    np.testing.assert_allclose(kg.metrics.InceptionFIDFeatures(graph=path, value_range=(0, 255))(grey),
                               extractor(np.repeat(grey / 127.5 - 1.0, 3, axis=-1)), atol=1e-5)
    # the Inception-score head: softmax(pool_3 . W) without the bias, as the original IS code
    probabilities = extractor.probabilities(images)
    logits = expected @ weights
    manual = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(probabilities, manual / manual.sum(1, keepdims=True), rtol=1e-3, atol=1e-7)
    with pytest.raises(ValueError, match="outside value_range"):
        extractor(images * 3)


def test_inception_fid_graph_from_the_archive_and_its_checksum_refusal(tmp_path):
    path, _, _ = write_fid_graph(tmp_path / inception_fid.GRAPH_FILE)
    archive = tmp_path / inception_fid.ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(path, arcname=inception_fid.GRAPH_FILE)
    images = np.random.default_rng(2).uniform(-1, 1, (2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_array_equal(kg.metrics.InceptionFIDFeatures(graph=str(archive))(images),
                                  kg.metrics.InceptionFIDFeatures(graph=path)(images))
    digest = _sha256(path)
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    corrupted = tmp_path / "corrupted.pb"
    corrupted.write_bytes(bytes(data))
    with pytest.raises(downloads.ChecksumMismatch, match="fails its checksum .sha256"):
        kg.metrics.InceptionFIDFeatures(graph=str(corrupted), file_hash=digest)
    (tmp_path / "other.pb").write_bytes(tf.Graph().as_graph_def().SerializeToString())
    with pytest.raises(ValueError, match="not the FID Inception graph: it has no ExpandDims, ResizeBilinear, pool_3"):
        kg.metrics.InceptionFIDFeatures(graph=str(tmp_path / "other.pb"))


@pytest.mark.slow  # 4 s; the graph's pipeline and checksum refusal run by default
def test_inception_fid_downloads_the_archive_records_its_digest_and_checks_it(online, keras_home, get_file, tmp_path,
                                                                              monkeypatch):
    monkeypatch.setattr(feature_module, "_EXTRACTORS", {})
    monkeypatch.setenv(downloads.OFFLINE_ENV, "1")
    with pytest.raises(downloads.Unavailable, match="kerasgen download inception-fid"):
        kg.metrics.get_extractor("inception-fid")
    assert get_file == []
    monkeypatch.delenv(downloads.OFFLINE_ENV)
    source, _, _ = write_fid_graph(tmp_path / "made.pb")
    get_file.result = published_archive(source)
    extractor = kg.metrics.get_extractor("inception-fid")
    assert [(c["fname"], c["origin"]) for c in get_file] == [(inception_fid.ARCHIVE, inception_fid.GRAPH_URL)]
    graph = keras_home / "models" / "inception-2015-12-05" / inception_fid.GRAPH_FILE
    assert extractor.graph_path == str(graph) and not (keras_home / "models" / inception_fid.ARCHIVE).exists()
    assert (keras_home / "models" / "inception-2015-12-05" / f"{inception_fid.GRAPH_FILE}.sha256").read_text().strip() \
        == _sha256(source)
    real, fake = (np.random.default_rng(s).uniform(-1, 1, (20, 8, 8, 1)).astype(np.float32) for s in (3, 4))
    assert kg.metrics.embed(real, "inception-fid").shape == (20, 2048)  # the named extractor, from the cache
    assert not np.array_equal(kg.metrics.embed(real, "inception-fid"), kg.metrics.embed(fake, "inception-fid"))
    monkeypatch.setenv(downloads.OFFLINE_ENV, "1")  # from now on the cached graph is used offline ...
    kg.metrics.InceptionFIDFeatures()
    data = bytearray(graph.read_bytes())
    data[100] ^= 0x01
    graph.write_bytes(bytes(data))
    with pytest.raises(downloads.ChecksumMismatch, match=str(graph)):  # ... and checked at every use
        kg.metrics.InceptionFIDFeatures()
    assert len(get_file) == 1


def test_unreadable_archives_and_damaged_graphs_are_fetched_again_or_refused(online, keras_home, get_file, tmp_path,
                                                                           capsys):
    source, _, _ = write_fid_graph(tmp_path / "made.pb")
    cache = keras_home / "models"
    cache.mkdir()
    archive, graph = cache / inception_fid.ARCHIVE, cache / inception_fid.CACHE_FOLDER / inception_fid.GRAPH_FILE
    archive.write_bytes(b"\x1f\x8b\x08 cut short")  # left behind by an interrupted download
    get_file.result = published_archive(source)
    assert main(["download", "inception-fid"]) == 0
    assert len(get_file) == 1 and not archive.exists()  # the left-over archive was removed and fetched again
    assert inception_fid.read_graph(str(graph)) == open(source, "rb").read()
    # a cached graph that fails its record is fetched again by `kerasgen download` (offline it is refused)
    graph.write_bytes(b"not the graph")
    assert main(["download", "inception-fid"]) == 0 and len(get_file) == 2 and _sha256(graph) == _sha256(source)
    # a download that is no archive (a proxy's error page): one error line, nothing left in the cache
    os.remove(graph)

    def error_page(fname, folder):
        (cache / fname).write_text("<html>502 Bad Gateway</html>")
        return str(cache / fname)

    get_file.result = error_page
    capsys.readouterr()
    assert main(["download", "inception-fid"]) == 2 and len(get_file) == 3
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "unusable" in err and "kerasgen download inception-fid" in err
    assert not archive.exists() and not graph.exists()
    # a damaged digest record is refused, not taken for "no record"
    get_file.result = published_archive(source)
    inception_fid.download_graph()
    (graph.parent / f"{inception_fid.GRAPH_FILE}.sha256").write_text("")
    with pytest.raises(downloads.ChecksumMismatch, match="damaged"):
        kg.metrics.InceptionFIDFeatures(download=False)


@pytest.mark.slow
def test_evaluate_reports_fid_in_the_fid_inception_space(keras_home, tmp_path, capsys):
    path, _, _ = write_fid_graph(tmp_path / "g.pb")
    folder = keras_home / "models" / "inception-2015-12-05"
    folder.mkdir(parents=True)
    os.replace(path, folder / inception_fid.GRAPH_FILE)
    run = tmp_path / "run"
    run.mkdir()
    kg.models.get("gan", data_shape=(8, 8, 1)).save(run / "model.keras")  # evaluate reads any model
    (run / "run.json").write_text(json.dumps({"preset": "gan", "data": "digits"}))
    assert main(["evaluate", str(run), "--metrics", "fid", "--features", "inception-fid", "--n", "50",
                 "--limit", "40", "--offline"]) == 0
    out = capsys.readouterr().out
    assert "inception-fid features, 50 samples vs 40 real" in out



@pytest.mark.slow
def test_the_published_fid_benchmark_runs_its_protocol_end_to_end(keras_home, tmp_path, monkeypatch, capsys):
    import sys

    import tensorflow_datasets as tfds

    folder = keras_home / "models" / "inception-2015-12-05"
    folder.mkdir(parents=True)
    write_fid_graph(folder / inception_fid.GRAPH_FILE)
    monkeypatch.syspath_prepend(os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
    sys.modules.pop("published_fid", None)
    import published_fid

    with tfds.testing.mock_data(num_examples=24):
        rows = published_fid.main(["--recipes", "dcgan:cifar10", "--epochs", "1", "--n", "30", "--batch-size", "8",
                                   "--out", str(tmp_path), "--offline"])
    out = capsys.readouterr().out
    assert rows[0][:3] == ["dcgan", "cifar10", 1] and rows[0][5] == "48.3" and float(rows[0][4]) > 0
    assert rows[0][7] == "30 vs 24" and "| dcgan | cifar10 | 1 |" in out
    with open(tmp_path / "dcgan-cifar10" / "run.json") as f:
        assert json.load(f)["data_info"]["data_shape"] == [32, 32, 3]

"""The command line: list, train, sample, resume, and one-line errors."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import kerasgen as kg
from kerasgen.cli import main


def test_list_prints_every_preset(capsys):
    # rejects: a missing, extra or repeated row (a substring check let "gan" pass inside "dcgan"), and
    # a row whose family, data kinds, labels marker or description belongs to another preset
    assert main(["list"]) == 0
    header, *rows = capsys.readouterr().out.strip().splitlines()
    assert header.split() == ["preset", "family", "data", "description"]
    presets = kg.models.list()
    names = [row.split()[0] for row in rows]
    assert len(names) == len(set(names)) == len(presets)
    assert set(names) == set(presets)
    for row in rows:
        name, family, data, *rest = row.split()
        preset = presets[name]
        assert family == preset.family, row
        assert data == "+".join(preset.data), row
        labelled = rest[:1] == ["(labels)"]
        assert labelled == preset.needs_classes, row
        assert rest[labelled:] == preset.description.split(), row


def test_train_sample_and_resume(tmp_path, capsys):
    run = str(tmp_path / "run")
    args = ["train", "gan", "--data", "toy2d:moons", "--epochs", "2", "--batch-size", "128",
            "--n-samples", "256", "--out", run, "--quiet", "--seed", "3"]
    assert main(args) == 0
    for name in ("model.keras", "history.json", "run.json", "samples/samples_epoch_0002.png"):
        assert os.path.isfile(os.path.join(run, name)), name
    with open(os.path.join(run, "history.json")) as f:
        history = json.load(f)
    assert len(history["d_loss"]) == 2 and all(np.isfinite(history["g_loss"]))
    with open(os.path.join(run, "run.json")) as f:
        assert json.load(f)["data_info"]["data_shape"] == [2]
    assert main(args) == 2  # an existing model is never replaced silently (resuming: tests/test_faults.py)
    assert "--resume" in capsys.readouterr().err
    npy = str(tmp_path / "s.npy")
    assert main(["sample", run, "--n", "10", "--out", npy, "--seed", "1"]) == 0
    samples = np.load(npy)
    assert samples.shape == (10, 2)
    # rejects: `sample --truncation` ignored, or not passed to model.sample as its truncation
    model = kg.models.load(os.path.join(run, "model.keras"))
    assert main(["sample", run, "--n", "10", "--out", npy, "--seed", "1", "--truncation", "0.3"]) == 0
    truncated = np.load(npy)
    np.testing.assert_allclose(truncated, model.sample(10, seed=1, truncation=0.3), rtol=1e-6, atol=1e-6)
    assert np.abs(truncated - samples).max() > 1e-3
    png = str(tmp_path / "s.png")
    assert main(["sample", run, "--n", "500", "--out", png]) == 0
    assert Image.open(png).size == (400, 400)


@pytest.mark.slow  # 32 s on 2 cores: a full-size ACGAN; the contract test covers acgan on images by default
def test_train_conditional_image_preset(tmp_path):
    # rejects: `train --image-size` ignored (the model would be built for the digits' own 8x8)
    run = str(tmp_path / "acgan")
    assert main(["train", "acgan", "--data", "digits", "--epochs", "1", "--batch-size", "256",
                 "--image-size", "8", "12", "--out", run, "--quiet"]) == 0
    with open(os.path.join(run, "run.json")) as f:
        assert json.load(f)["data_info"]["data_shape"] == [8, 12, 1]
    grid = str(tmp_path / "g.png")
    assert main(["sample", run, "--n", "10", "--labels", "3", "--out", grid]) == 0
    image = Image.open(grid)
    # 10 samples: 4 columns, 3 rows of 8x12 images with 1-pixel gaps, drawn at 4x
    assert image.mode == "L" and image.size == ((4 * (12 + 1) + 1) * 4, (3 * (8 + 1) + 1) * 4)


@pytest.mark.parametrize("argv,message", [
    (["train", "nosuch", "--data", "digits", "--out", "{tmp}/a"], "unknown model 'nosuch'"),
    (["train", "gan", "--data", "nosuch", "--out", "{tmp}/b"], "unknown data spec 'nosuch'"),
    (["train", "cgan", "--data", "toy2d:moons", "--out", "{tmp}/c"], "needs labelled data"),
    (["train", "gan", "--data", "npz:{tmp}/missing.npz", "--out", "{tmp}/d"], "npz file not found"),
    (["sample", "{tmp}/no-run"], "no trained model at"),
])
def test_errors_are_one_line(argv, message, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err

@pytest.mark.slow

def test_console_entry_point_exits_nonzero_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kerasgen", "sample", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "no trained model" in proc.stderr

@pytest.mark.slow

def test_train_under_mixed_bfloat16(tmp_path):
    run = str(tmp_path / "bf16")
    assert main(["train", "dcgan", "--data", "digits", "--epochs", "1", "--batch-size", "256",
                 "--precision", "mixed_bfloat16", "--out", run, "--quiet"]) == 0
    with open(os.path.join(run, "run.json")) as f:
        assert json.load(f)["precision"] == "mixed_bfloat16"
    model = kg.models.load(os.path.join(run, "model.keras"))
    assert model.generator.layers[2].compute_dtype == "bfloat16"
    samples = model.sample(4, seed=0)
    assert samples.dtype == np.float32 and np.isfinite(samples).all()


def test_train_sample_and_evaluate_a_vae(tmp_path, capsys):
    run = str(tmp_path / "vae")
    assert main(["train", "vae", "--data", "digits", "--epochs", "2", "--batch-size", "128", "--out", run, "--quiet"]) == 0
    with open(os.path.join(run, "history.json")) as f:
        history = json.load(f)
    assert len(history["neg_elbo"]) == 2 and history["neg_elbo"][1] < history["neg_elbo"][0]
    out = str(tmp_path / "v.npy")
    assert main(["sample", run, "--n", "6", "--out", out, "--seed", "0"]) == 0
    assert np.load(out).shape == (6, 8, 8, 1)
    # rejects: --truncation ignored for VAEs (or a traceback): the truncated prior's decodings
    truncated = str(tmp_path / "t.npy")
    assert main(["sample", run, "--n", "6", "--out", truncated, "--seed", "0", "--truncation", "0.3"]) == 0
    reloaded = kg.models.load(os.path.join(run, "model.keras"))
    np.testing.assert_allclose(np.load(truncated), reloaded.sample(6, seed=0, truncation=0.3), atol=1e-6)
    assert not np.allclose(np.load(truncated), np.load(out))
    capsys.readouterr()
    assert main(["evaluate", run, "--metric", "nll", "--k", "20", "--limit", "60"]) == 0
    assert main(["evaluate", run, "--metric", "elbo", "--limit", "60"]) == 0
    assert "bits/dim" in capsys.readouterr().out
    with open(os.path.join(run, "evaluation.json")) as f:
        evaluation = json.load(f)
    assert evaluation["nll"]["n"] == 60 and evaluation["nll"]["k"] == 20 and evaluation["nll"]["split"] == "test"
    model = kg.models.load(os.path.join(run, "model.keras"))
    x = kg.data.load_arrays("digits", split="test").x[:60]
    assert evaluation["nll"]["nll"] == pytest.approx(kg.metrics.log_likelihood(model, x, k=20).nll, rel=1e-6)
    assert evaluation["nll"]["nll"] <= evaluation["elbo"]["nll"] + 0.5  # the K-sample bound is the tighter one


def test_evaluate_errors_are_one_line(tmp_path, capsys):
    run = str(tmp_path / "gan")
    assert main(["train", "gan", "--data", "toy2d:moons", "--epochs", "1", "--n-samples", "256", "--out", run,
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", run, "--metric", "nll"]) == 2
    assert "has no likelihood bound" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing")]) == 2
    assert "no trained model" in capsys.readouterr().err


def test_evaluate_sample_quality_prints_a_table_and_writes_json(tmp_path, capsys):
    run = str(tmp_path / "dcgan")
    assert main(["train", "dcgan", "--data", "digits", "--epochs", "1", "--batch-size", "128", "--out", run,
                 "--quiet"]) == 0
    capsys.readouterr()
    out_json = str(tmp_path / "quality.json")
    assert main(["evaluate", run, "--metrics", "fid,kid,is,pr,dc", "--n", "300", "--json", out_json]) == 0
    printed = capsys.readouterr().out
    for row in ("FID", "KID", "IS", "precision", "recall", "density", "coverage", "digits features"):
        assert row in printed
    with open(out_json) as f:
        records = json.load(f)
    with open(os.path.join(run, "evaluation.json")) as f:
        assert json.load(f)["fid"] == records["fid"]
    # the numbers are the library's, on the digits test split against 300 samples of seed 0
    model = kg.models.load(os.path.join(run, "model.keras"))
    real = kg.data.load_arrays("digits", split="test").x
    samples = np.clip(model.sample(300, seed=0), -1, 1)
    assert records["fid"]["value"] == pytest.approx(kg.metrics.fid(real, samples, features="digits"), rel=1e-6)
    assert records["is"]["value"] == pytest.approx(
        kg.metrics.inception_score(samples, "digits", splits=10).mean, rel=1e-6)
    assert records["is"]["real_value"] > 8.0 and records["fid"]["n_real"] == len(real)
    assert 0 <= records["pr"]["precision"] <= 1 and 0 <= records["dc"]["coverage"] <= 1
    assert main(["evaluate", run, "--metrics", "fid,bogus"]) == 2
    assert "unknown metric(s) bogus" in capsys.readouterr().err
    assert main(["evaluate", run, "--metrics", "is", "--features", "identity", "--n", "50"]) == 2
    assert "is needs a classifier" in capsys.readouterr().err


def test_evaluate_mode_coverage_on_a_toy_mixture(tmp_path, capsys):
    run = str(tmp_path / "gan")
    assert main(["train", "gan", "--data", "toy2d:8gaussians", "--epochs", "1", "--n-samples", "512", "--out", run,
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", run, "--metrics", "modes,fid", "--n", "500", "--limit", "500"]) == 0
    assert "modes" in capsys.readouterr().out
    with open(os.path.join(run, "evaluation.json")) as f:
        records = json.load(f)
    model = kg.models.load(os.path.join(run, "model.keras"))
    density = kg.data.get_density("8gaussians")
    expected = kg.metrics.mode_coverage(model.sample(500, seed=0), density.centers, density.std)
    assert records["modes"]["modes"] == expected["modes"] and records["modes"]["num_modes"] == 8
    assert records["fid"]["features"] == "identity" and records["fid"]["n_real"] == 500

@pytest.mark.slow

def test_train_sample_and_evaluate_a_2d_flow(tmp_path, capsys):
    run = str(tmp_path / "flow")
    assert main(["train", "realnvp", "--data", "toy2d:moons", "--epochs", "2", "--batch-size", "256",
                 "--n-samples", "2048", "--out", run, "--quiet"]) == 0
    density = Image.open(os.path.join(run, "density.png"))
    assert density.size == (400, 400) and np.asarray(density).std() > 5  # a picture, not a blank
    out = str(tmp_path / "f.npy")
    assert main(["sample", run, "--n", "7", "--out", out, "--seed", "0"]) == 0
    assert np.load(out).shape == (7, 2)
    capsys.readouterr()
    assert main(["sample", run, "--n", "7", "--out", out, "--truncation", "0.5"]) == 2
    assert "--truncation is for GANs and VAEs" in capsys.readouterr().err
    assert main(["evaluate", run, "--metric", "nll"]) == 0
    printed = capsys.readouterr().out
    assert "realnvp on toy2d:moons (test, 2048 real examples)" in printed and "NLL (nats)" in printed
    with open(os.path.join(run, "evaluation.json")) as f:
        evaluation = json.load(f)["nll"]
    assert evaluation["n"] == 2048 and evaluation["k"] == 0 and 0 < evaluation["nll"] < 5  # k 0: exact

@pytest.mark.slow

def test_train_and_evaluate_an_image_flow_in_bits_per_dim(tmp_path, capsys):
    run = str(tmp_path / "maf")  # the image flow whose defaults train fastest on the digits
    assert main(["train", "maf", "--data", "digits", "--epochs", "1", "--batch-size", "128", "--out", run,
                 "--quiet"]) == 0
    model = kg.models.load(os.path.join(run, "model.keras"))
    assert model.num_levels == 17  # the digits' own quantisation, read from the data
    out = str(tmp_path / "g.npy")
    assert main(["sample", run, "--n", "3", "--out", out, "--seed", "0"]) == 0
    assert np.load(out).shape == (3, 8, 8, 1)
    capsys.readouterr()
    assert main(["evaluate", run, "--metric", "nll", "--limit", "50"]) == 0
    assert "bits/dim" in capsys.readouterr().out
    with open(os.path.join(run, "evaluation.json")) as f:
        evaluation = json.load(f)["nll"]
    # below a uniform distribution over the 17 levels (log2 17 = 4.09 bits/dim)
    assert evaluation["k"] == 0 and 0 < evaluation["bits_per_dim"] < math.log2(17)


@pytest.mark.slow  # (12 s; export itself is checked per preset by the contract)
def test_export_writes_a_served_version_and_an_onnx_graph(tmp_path, capsys):
    run = str(tmp_path / "run")
    assert main(["train", "cvae", "--data", "digits", "--epochs", "1", "--batch-size", "128", "--out", run,
                 "--quiet"]) == 0
    out = str(tmp_path / "ship")
    assert main(["export", run, "--format", "both", "--out", out]) == 0
    folder = os.path.join(out, "saved_models", "cvae", "1")
    card = json.load(open(os.path.join(folder, "model_card.json")))
    assert card["training_data"]["spec"] == "digits" and "neg_elbo" in card["final_metrics"]
    assert card["condition"]["num_classes"] == 10
    generator = kg.export.OnnxGenerator(os.path.join(out, "export", "cvae.onnx"))
    assert generator.sample(4, seed=0, labels=[1, 2, 3, 4]).shape == (4, 8, 8, 1)
    assert main(["export", run, "--format", "savedmodel", "--out", out]) == 0  # the next version
    assert sorted(os.listdir(os.path.join(out, "saved_models", "cvae"))) == ["1", "2"]
    capsys.readouterr()
    assert main(["export", run, "--format", "savedmodel", "--out", out, "--version", "1"]) == 2
    assert "never overwritten" in capsys.readouterr().err


@pytest.mark.slow
def test_train_with_strategy_mirrored_trains_on_both_logical_cpus(tmp_path, monkeypatch, strategy):
    # rejects: --strategy mirrored mapped to the default strategy, or the model built and compiled outside
    # strategy.scope() (Keras then trains it on one device); run.json not recording the strategy
    from kerasgen import cli

    monkeypatch.setattr(cli, "_STRATEGIES", {})
    # MirroredStrategy() takes every local GPU, or one CPU: here, the conftest's two logical CPUs (one
    # strategy per process: a second one's collective ops would collide with the shared one)
    monkeypatch.setattr(tf.distribute, "MirroredStrategy", lambda: strategy)
    trained, save = [], kg.io.save_model
    monkeypatch.setattr(kg.io, "save_model", lambda model, path: trained.append(model) or save(model, path))
    run = str(tmp_path / "mirrored")
    assert main(["train", "gan", "--data", "toy2d:moons", "--epochs", "1", "--batch-size", "128", "--n-samples",
                 "512", "--out", run, "--quiet", "--strategy", "mirrored"]) == 0
    with open(os.path.join(run, "run.json")) as f:
        info = json.load(f)
    assert info["strategy"] == "mirrored" and info["replicas"] == 2
    model = trained[0]
    assert model.distribute_strategy is strategy
    assert isinstance(model.generator.trainable_variables[0].value, tf.distribute.DistributedValues)
    with open(os.path.join(run, "history.json")) as f:
        assert np.isfinite(json.load(f)["g_loss"]).all()
    reloaded = kg.models.load(os.path.join(run, "model.keras"))
    np.testing.assert_allclose(reloaded.sample(5, seed=0), model.sample(5, seed=0), rtol=1e-6, atol=1e-6)


NOISE_LINES = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"I0000 00:00:1796172577.533781   18813 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU "
    b"will not be used.",
    b"E0000 00:00:1796172587.585466   18813 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    b"Failed call to cuInit: UNKNOWN ERROR (303)",
    b"W0000 00:00:1796172587.585466   18813 meta_optimizer.cc:966] remapper failed: INVALID_ARGUMENT: Mutation::Apply",
    b"I0000 00:00:1796172587.000001   18813 port.cc:153] oneDNN custom operations are on.",
]


def test_the_filter_drops_tensorflow_start_up_lines_and_passes_everything_else():
    # rejects: a filter that drops real errors (an E line of another source, a traceback), loses a last line
    # without a newline at exit, or leaves the start-up lines in
    from kerasgen.console import is_noise

    assert all(is_noise(line) for line in NOISE_LINES)
    kept = [b"E0000 00:00:1796172587.585466   18813 op_kernel.cc:1840] OP_REQUIRES failed: out of memory",
            b"Traceback (most recent call last):", b"kerasgen: error: no trained model at x", b""]
    assert not any(is_noise(line) for line in kept)
    script = ("import os, sys\nfrom kerasgen.console import quiet\nquiet()\n"
              + "".join("os.write(2, %r)\n" % (line + b"\n") for line in NOISE_LINES + kept[:1])
              + "print('kerasgen: error: shown', file=sys.stderr)\nos.write(2, b'no newline at exit')\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.stderr.decode().splitlines() == [kept[0].decode(), "kerasgen: error: shown", "no newline at exit"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    run = str(tmp_path_factory.mktemp("quiet") / "run")
    assert main(["train", "gan", "--data", "toy2d:moons", "--epochs", "1", "--n-samples", "256", "--out", run,
                 "--quiet"]) == 0
    return run


@pytest.mark.slow  # a subprocess importing TensorFlow: 13 s on 2 cores; the filter's unit test runs by default
def test_a_command_prints_no_tensorflow_start_up_lines():
    # rejects: the console script without the filter, or a filter installed after TensorFlow was imported (its
    # absl banner and CUDA probing lines come at import: `list` imports TensorFlow with the presets)
    proc = subprocess.run([sys.executable, "-m", "kerasgen", "list"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.startswith("preset")
    assert proc.stderr == ""


@pytest.mark.slow
@pytest.mark.parametrize("command", ["sample", "export"])
def test_commands_print_no_tensorflow_log_lines(small_run, command, tmp_path):
    # rejects: TensorFlow's device start-up lines (cuInit) when a model runs, and tf2onnx's deprecation warnings
    # through Python logging when a model exports
    args = (["sample", small_run, "--n", "4", "--out", str(tmp_path / "x.npy")] if command == "sample"
            else ["export", small_run, "--format", "onnx", "--out", str(tmp_path)])
    proc = subprocess.run([sys.executable, "-m", "kerasgen", *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.startswith("wrote")
    assert proc.stderr == ""


@pytest.mark.xdist_group("export-cgan")  # shares the worker that exports cgan
def test_sample_from_an_onnx_export_runs_without_tensorflow_and_follows_the_seed(exports, tmp_path):
    # rejects: `kerasgen sample NAME.onnx` importing TensorFlow (it must run where only onnxruntime is installed),
    # ignoring --seed or --labels, or drawing another stream than OnnxGenerator.sample
    path = exports["cgan"][2]["generate"]
    out = str(tmp_path / "x.npy")
    script = ("import sys\nsys.modules['tensorflow'] = None\nfrom kerasgen.cli import main\n"
              f"sys.exit(main(['sample', {path!r}, '--n', '3', '--seed', '5', '--labels', '2', '7', '--out', {out!r}]))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "onnxruntime" in proc.stdout, proc.stderr
    want = kg.export.OnnxGenerator(path).sample(3, seed=5, labels=np.array([2, 7, 2]))
    np.testing.assert_allclose(np.load(out), want, atol=1e-6)
    assert not np.allclose(want, kg.export.OnnxGenerator(path).sample(3, seed=6, labels=np.array([2, 7, 2])))

"""Training that survives faults: atomic checkpoints, resume after a kill, interrupts, NaN stops and
skips, refusal to save or export non-finite weights, and clear errors for bad files and folders."""

import json
import os
import re
import signal

import keras
import numpy as np
import pytest

import kerasgen as kg
from kerasgen.callbacks import Checkpoint, StopOnNonFinite
from kerasgen.callbacks.checkpoint import complete_checkpoints, latest
from kerasgen.cli import main
from kerasgen.io import NonFiniteWeightsError

# 2,048 moons points, batches of 128: 16 steps per epoch, run 4 at a time (steps_per_execution)
GAN_RUN = ["train", "gan", "--data", "toy2d:moons", "--n-samples", "2048", "--batch-size", "128",
           "--quiet", "--seed", "4", "--checkpoint-every", "8"]


class _Killed(Exception):
    """Stands for the process dying: nothing after it runs."""


def _at_batch(monkeypatch, epoch, batch, action):
    """Runs `action(model)` when the CLI's training reaches (0-based) `epoch`, `batch` (hooked into the
    sample-grid callback, the last one the CLI passes to fit)."""
    from kerasgen.callbacks import SampleGrid

    state = {"epoch": None}

    def on_epoch_begin(self, e, logs=None):
        state["epoch"] = e

    def on_train_batch_end(self, b, logs=None):
        if state["epoch"] == epoch and b == batch:
            action(self.model)

    monkeypatch.setattr(SampleGrid, "on_epoch_begin", on_epoch_begin, raising=False)
    monkeypatch.setattr(SampleGrid, "on_train_batch_end", on_train_batch_end, raising=False)


def _weights(run):
    return [np.asarray(w) for w in kg.models.load(os.path.join(run, "model.keras")).weights]


def _history(run):
    with open(os.path.join(run, "history.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """A 2-epoch GAN run with no faults (checkpoints every 8 steps and at each epoch's end)."""
    run = str(tmp_path_factory.mktemp("faults") / "uninterrupted")
    assert main(GAN_RUN + ["--epochs", "2", "--out", run]) == 0
    return run


@pytest.mark.xdist_group("faults-gan-run")  # shares the uninterrupted run
def test_resume_after_a_kill_inside_an_epoch_matches_an_uninterrupted_run(uninterrupted, tmp_path, monkeypatch):
    # rejects: a resume that restarts the interrupted epoch's data (or its shuffle order), forgets the
    # optimisers' or the noise generator's state, or reports the resumed epoch's mean over part of it
    run = str(tmp_path / "killed")

    def kill(model):
        raise _Killed

    _at_batch(monkeypatch, epoch=1, batch=11, action=kill)  # 4 steps after the checkpoint at batch 8 of epoch 2
    with pytest.raises(_Killed):
        main(GAN_RUN + ["--epochs", "2", "--out", run])
    monkeypatch.undo()
    assert not os.path.exists(os.path.join(run, "model.keras"))
    assert [c[:2] for c in complete_checkpoints(os.path.join(run, "checkpoints"))] == [(1, 0), (1, 8)]
    assert main(["sample", run, "--n", "3", "--out", str(tmp_path / "s.npy")]) == 2  # no finished model yet
    assert main(GAN_RUN + ["--out", run, "--resume"]) == 0  # the run's own 2 epochs
    assert _history(run) == _history(uninterrupted)
    for a, b in zip(_weights(run), _weights(uninterrupted)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.xdist_group("faults-gan-run")  # shares the uninterrupted run
@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130),
                                            pytest.param(signal.SIGTERM, 143, marks=pytest.mark.slow)])
def test_sigint_writes_a_checkpoint_and_exits_130_with_the_resume_command(uninterrupted, tmp_path, monkeypatch,
                                                                         capsys, signum, status):
    # rejects: Ctrl-C (or a scheduler's SIGTERM) losing the epoch's work (no checkpoint, or a
    # traceback), or a message without the way back; and a resume from that checkpoint that drifts
    # from the uninterrupted run
    run = str(tmp_path / "interrupted")
    handler = signal.getsignal(signum)
    _at_batch(monkeypatch, epoch=0, batch=3, action=lambda model: signal.raise_signal(signum))
    assert main(GAN_RUN + ["--epochs", "2", "--out", run]) == status
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert signum.name in err and "after batch 8 of epoch 1" in err and err.strip().endswith("--resume")
    assert complete_checkpoints(os.path.join(run, "checkpoints"))[-1][:2] == (0, 8)  # the next step boundary
    assert signal.getsignal(signum) is handler  # the handler was put back
    other_batch = [a if a != "128" else "64" for a in GAN_RUN]  # the checkpoint's position means other batches
    assert main(other_batch + ["--out", run, "--resume"]) == 2
    assert "resume with the run's own data and batch size" in capsys.readouterr().err
    assert main(GAN_RUN + ["--out", run, "--resume"]) == 0
    for a, b in zip(_weights(run), _weights(uninterrupted)):
        np.testing.assert_array_equal(a, b)


def test_time_checkpoints_and_the_skip_mode_of_the_command_line(tmp_path, monkeypatch):
    # rejects: --checkpoint-minutes ignored, --on-nan skip not reaching the optimisers or run.json
    import time

    clock = iter(np.arange(0.0, 1e6, 61.0))  # every call of the clock: one more minute passed
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    run = str(tmp_path / "run")
    args = ["train", "gan", "--data", "toy2d:moons", "--n-samples", "1024", "--batch-size", "128", "--quiet",
            "--epochs", "1", "--out", run, "--checkpoint-minutes", "1", "--keep", "5", "--on-nan", "skip"]
    assert main(args) == 0
    monkeypatch.undo()
    assert [c[:2] for c in complete_checkpoints(os.path.join(run, "checkpoints"))] == [(0, 4), (1, 0)]
    with open(os.path.join(run, "run.json")) as f:
        info = json.load(f)
    assert info["on_nan"] == "skip" and info["skipped_steps"] == 0
    model = kg.models.load(os.path.join(run, "model.keras"))
    assert model.skips_nonfinite and type(model.d_optimizer).__name__ == "SkipNonFinite"


def _poison(model):
    # the discriminator's logit bias: a NaN earlier in a network can vanish in a ReLU on some CPUs
    # (oneDNN's max(NaN, 0) is 0 on AMD EPYC), so the loss would stay finite over NaN weights
    bias = model.discriminator.weights[-1]
    bias.assign(np.full(bias.shape, np.nan, bias.dtype))


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    # rejects: training on silently after a NaN, a NaN checkpoint or model.keras written, a message
    # that does not say which metric and where
    run = str(tmp_path / "nan")
    # rejects also: a step checkpoint of the diverged state (every 4 steps here: one is due at batch 12)
    _at_batch(monkeypatch, epoch=1, batch=7, action=_poison)
    assert main(GAN_RUN + ["--epochs", "2", "--out", run, "--checkpoint-every", "4"]) == 3
    err = capsys.readouterr().err
    assert re.match(r"kerasgen: training stopped: [dg]_loss became nan at epoch 2, batch 12 .*last good checkpoint",
                    err)
    assert not os.path.exists(os.path.join(run, "model.keras"))
    path, meta = latest(os.path.join(run, "checkpoints"))
    assert (meta["epoch"], meta["batch"]) == (1, 8)
    model = kg.models.load(path)
    assert all(np.isfinite(np.asarray(w)).all() for w in model.weights)


def test_skipping_non_finite_steps_is_the_same_as_leaving_them_out(tmp_path):
    # rejects: a "skip" that still moves the weights or the optimiser's moments (Adam with a zero
    # gradient would), a skip count that does not count, a NaN left in the reported means
    rng = np.random.default_rng(0)
    good = rng.normal(size=(64, 2)).astype("float32")
    poisoned = np.concatenate([good[:32], np.full((32, 2), 3e38, "float32"), good[32:]])
    models = []
    for data, on_nonfinite in ((poisoned, "skip"), (good, "error")):
        keras.utils.set_random_seed(1)
        model = kg.models.get("realnvp", data_shape=(2,), hidden=(16,), num_steps=2, standardize=False, seed=1)
        model.compile(on_nonfinite=on_nonfinite, steps_per_execution=1)
        history = model.fit(data, batch_size=32, epochs=1, shuffle=False, verbose=0).history
        models.append((model, history))
    (skipping, skip_history), (clean, clean_history) = models
    assert skipping.skips_nonfinite and not clean.skips_nonfinite
    assert skipping.skipped_steps == 1
    for a, b in zip(skipping.trainable_weights, clean.trainable_weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_allclose(skip_history["nll"], clean_history["nll"], rtol=1e-6)
    # the skip mode and its count survive the .keras round trip
    path = str(tmp_path / "skipping.keras")
    skipping.save(path)
    reloaded = kg.models.load(path)
    assert type(reloaded.optimizer).__name__ == "SkipNonFinite" and reloaded.skipped_steps == 1


def test_nan_weights_are_never_saved_or_exported(tmp_path):
    # rejects: a NaN model written by model.save, kerasgen.io.save_model, or either export; batch-norm
    # moving statistics (not trainable) left out of the check
    model = kg.models.get("dcgan", data_shape=(8, 8, 1), base_filters=8, seed=0)
    model.compile()
    variance = next(w for w in model.generator.weights if "moving_variance" in w.path)
    variance.assign(np.full(variance.shape, np.inf, "float32"))
    for save in (lambda p: model.save(p), lambda p: kg.io.save_model(model, p)):
        with pytest.raises(NonFiniteWeightsError, match="moving_variance"):
            save(str(tmp_path / "m.keras"))
    with pytest.raises(NonFiniteWeightsError, match="refusing to export"):
        kg.export.saved_model(model, str(tmp_path / "saved_models" / "dcgan"))
    with pytest.raises(NonFiniteWeightsError, match="refusing to export"):
        kg.export.onnx(model, str(tmp_path / "export" / "dcgan.onnx"))
    assert sorted(os.listdir(tmp_path)) == []


def test_a_failed_rename_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    # rejects: a checkpoint written in place (a kill mid-write corrupts the only copy), a .json
    # written before its model, or pruning that deletes the good checkpoint before the new one exists
    model = kg.models.get("realnvp", data_shape=(2,), hidden=(8,), num_steps=2, seed=0)
    model.compile()
    model.fit(np.zeros((8, 2), "float32"), epochs=1, verbose=0)
    folder = str(tmp_path / "ckpt")
    checkpoint = Checkpoint(folder, keep=1)
    checkpoint.set_model(model)
    flushed = []
    fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: flushed.append(os.readlink(f"/proc/self/fd/{fd}")) or fsync(fd))
    first = checkpoint.save(1, 0)
    monkeypatch.undo()
    # both files and the folder's entries are flushed to disk (each file before its rename)
    assert [os.path.basename(p) for p in flushed] == ["ckpt-00001-000000.partial.keras", "ckpt",
                                                       "ckpt-00001-000000.json.partial", "ckpt"]
    for w in model.trainable_weights:
        w.assign(np.asarray(w) + 1.0)

    replace = os.replace

    def crash(src, dst):  # the model's rename fails; a .json written first would still land
        if dst.endswith(".keras"):
            raise OSError("killed between write and rename")
        return replace(src, dst)

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="killed"):
        checkpoint.save(2, 0)
    monkeypatch.undo()
    assert sorted(os.listdir(folder)) == ["ckpt-00001-000000.json", "ckpt-00001-000000.keras"]
    path, meta = latest(folder)
    assert path == first and meta["epoch"] == 1
    kg.models.load(path)  # complete and loadable
    # leftovers of a write killed earlier are cleared by the next save
    with open(os.path.join(folder, "ckpt-00001-000004.partial.keras"), "wb") as f:
        f.write(b"half a model")
    checkpoint.save(3, 0)
    assert sorted(os.listdir(folder)) == ["ckpt-00003-000000.json", "ckpt-00003-000000.keras"]


def test_unwritable_output_and_bad_checkpoint_settings_are_refused_before_training(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(GAN_RUN + ["--epochs", "1", "--out", str(blocker / "run")]) == 2
    assert "cannot write to" in capsys.readouterr().err
    for bad in (["--keep", "0"], ["--checkpoint-every", "0"], ["--checkpoint-minutes", "0"],
                ["--checkpoint-minutes", "1", "--strategy", "multiworker"]):
        assert main(GAN_RUN + ["--epochs", "1", "--out", str(tmp_path / "r")] + bad) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert not os.path.exists(tmp_path / "r" / "checkpoints")


@pytest.mark.xdist_group("faults-gan-run")  # shares the uninterrupted run
def test_resuming_a_finished_run_needs_a_larger_total(uninterrupted, tmp_path, capsys):
    import shutil

    assert main(GAN_RUN + ["--out", uninterrupted, "--resume"]) == 2
    assert "pass --epochs with a larger total" in capsys.readouterr().err
    # killed after its last checkpoint, before model.keras: the resume writes the results, trains nothing
    run = str(tmp_path / "run")
    shutil.copytree(uninterrupted, run)
    os.remove(os.path.join(run, "model.keras"))
    assert main(GAN_RUN + ["--out", run, "--resume"]) == 0
    assert _history(run) == _history(uninterrupted)
    for a, b in zip(_weights(run), _weights(uninterrupted)):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    """A good kerasgen file and damaged or foreign ones, by name."""
    import zipfile

    folder = tmp_path_factory.mktemp("bad-files")
    model = kg.models.get("realnvp", data_shape=(2,), hidden=(8,), num_steps=2, seed=0)
    model.compile()
    good = str(folder / "good.keras")
    model.save(good)
    data = open(good, "rb").read()
    files = {"good": good}

    def write(name, content):
        files[name] = str(folder / f"{name}.keras")
        with open(files[name], "wb") as f:
            f.write(content)

    write("truncated", data[: len(data) // 2])
    with zipfile.ZipFile(good) as archive:  # a class this kerasgen does not have (a newer version's)
        members = {n: archive.read(n) for n in archive.namelist()}
    config = json.loads(members["config.json"])
    config.update(class_name="FutureFlow", registered_name="kerasgen>FutureFlow")
    files["future"] = str(folder / "future.keras")
    with zipfile.ZipFile(files["future"], "w") as archive:
        for name, content in {**members, "config.json": json.dumps(config).encode()}.items():
            archive.writestr(name, content)
    write("random", np.random.default_rng(0).bytes(4000))
    write("empty", b"")
    with zipfile.ZipFile(good) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    offset = data.index(members["model.weights.h5"][:64]) + len(members["model.weights.h5"]) // 2
    write("bit-rot", data[:offset] + bytes(b ^ 0xFF for b in data[offset: offset + 8]) + data[offset + 8:])
    files["not-a-model"] = str(folder / "not-a-model.keras")
    with zipfile.ZipFile(files["not-a-model"], "w") as archive:
        archive.writestr("notes.txt", "hello")
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    files["foreign"] = str(folder / "foreign.keras")
    plain.save(files["foreign"])
    w = model.trainable_weights[0]
    w.assign(np.full(w.shape, np.nan, "float32"))
    files["nan-weights"] = str(folder / "nan-weights.keras")
    keras.Model.save(model, files["nan-weights"])  # past GenerativeModel.save's own refusal
    return files


@pytest.mark.xdist_group("faults-files")  # shares the damaged files
@pytest.mark.parametrize("name, message", [
    ("truncated", "not a .keras file"), ("random", "not a .keras file"), ("empty", "not a .keras file"),
    ("bit-rot", "fails its checksum"), ("not-a-model", "not a .keras model"),
    ("foreign", "not a kerasgen model; load it with keras.saving.load_model"),
    ("nan-weights", "holds NaN or infinite weights"), ("future", "FutureFlow that this kerasgen could not rebuild")])
def test_damaged_and_foreign_model_files_get_one_clear_error(bad_files, name, message, tmp_path, capsys):
    # rejects: Keras' misleading "File not found" for a truncated file, a corrupted file loading with
    # garbage weights, a plain Keras model passed off as a kerasgen one, a traceback in the CLI
    with pytest.raises(kg.models.ModelFileError, match=message):
        kg.models.load(bad_files[name])
    for command in (["sample", bad_files[name], "--out", str(tmp_path / "s.npy")],
                    ["export", bad_files[name], "--out", str(tmp_path)]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert err.startswith("kerasgen: error: ") and err.count("\n") == 1 and message in err
    assert os.listdir(tmp_path) == []
    kg.models.load(bad_files["good"])


def test_python_code_in_a_model_file_is_refused_unless_trusted(tmp_path, capsys):
    # rejects: a Lambda layer's code run on load (Keras' safe mode off), or a refusal that does not
    # name the way to override it
    generator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Lambda(lambda t: t * 2),
                                  keras.layers.Dense(4)])
    model = kg.models.GAN(data_shape=(4,), latent_dim=4, generator=generator, discriminator="mlp", seed=0)
    model.compile()
    path = str(tmp_path / "lambda.keras")
    model.save(path)
    with pytest.raises(kg.models.ModelFileError, match="safe_mode=False"):
        kg.models.load(path)
    assert main(["sample", path, "--n", "2", "--out", str(tmp_path / "s.npy")]) == 2
    assert "--unsafe" in capsys.readouterr().err
    assert main(["sample", path, "--n", "2", "--out", str(tmp_path / "s.npy"), "--unsafe"]) == 0
    assert np.load(tmp_path / "s.npy").shape == (2, 4)


@pytest.mark.xdist_group("faults-gan-run")  # shares the uninterrupted run
def test_a_run_folder_from_a_newer_version_or_with_a_cut_json_is_refused(uninterrupted, tmp_path, capsys):
    import shutil

    run = str(tmp_path / "run")
    shutil.copytree(uninterrupted, run)
    with open(os.path.join(run, "run.json")) as f:
        info = json.load(f)
    with open(os.path.join(run, "run.json"), "w") as f:
        json.dump({**info, "kerasgen_version": "99.0.0"}, f)
    assert main(["sample", run, "--out", str(tmp_path / "s.npy")]) == 2
    assert "written by kerasgen 99.0.0" in capsys.readouterr().err
    with open(os.path.join(run, "run.json"), "w") as f:
        f.write('{"preset": "ga')
    assert main(["export", run, "--out", str(tmp_path)]) == 2
    assert "not JSON" in capsys.readouterr().err


def test_the_python_recipe_resumes_exactly_from_an_epoch_checkpoint(tmp_path):
    # rejects: kg.data.stream epochs whose order depends on how many epochs the process iterated
    # (a restarted process would replay epoch 0's order), a resume helper that loses the history
    def stream(start=0):
        return kg.data.stream("toy2d:moons", batch_size=128, n_samples=512, seed=3, start_epoch=start)

    def new_model():
        model = kg.models.get("realnvp", data_shape=(2,), hidden=(8,), num_steps=2, seed=0)
        model.compile(run_eagerly=True)  # the same steps as traced ones (tests/test_presets.py), without tracing
        return model

    ds, steps, _ = stream()
    assert steps == 4
    keras.utils.set_random_seed(0)
    whole = new_model()
    whole_history = whole.fit(ds, steps_per_epoch=steps, epochs=2, verbose=0).history
    folder = str(tmp_path / "ckpt")
    assert kg.callbacks.resume(folder) == (None, None)
    keras.utils.set_random_seed(0)
    first = new_model()
    first.fit(stream()[0], steps_per_epoch=steps, epochs=1, verbose=0,
              callbacks=[Checkpoint(folder, steps_per_epoch=steps)])
    model, meta = kg.callbacks.resume(folder)  # a new process would start here
    model.run_eagerly = True
    assert (meta["epoch"], meta["batch"]) == (1, 0)
    checkpoint = Checkpoint(folder, history=meta["history"], steps_per_epoch=steps)
    model.fit(stream(meta["epoch"])[0], steps_per_epoch=steps, initial_epoch=meta["epoch"], epochs=2, verbose=0,
              callbacks=[checkpoint])
    assert checkpoint.history == {k: [float(x) for x in v] for k, v in whole_history.items()}
    for a, b in zip(model.weights, whole.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_stop_on_non_finite_watches_every_metric_and_counts_from_the_epoch_start():
    # rejects: a watch on `loss` only (Keras' TerminateOnNaN), a position without the resumed epoch's offset
    stop = StopOnNonFinite(start_batch=8)
    stop.set_model(kg.models.get("realnvp", data_shape=(2,), hidden=(8,), num_steps=2, seed=0))
    stop.on_epoch_begin(1)
    stop.on_train_batch_end(2, {"d_loss": 1.0, "g_loss": 2.0})
    assert stop.stopped is None
    stop.on_train_batch_end(3, {"d_loss": 1.0, "g_loss": np.inf})
    assert (stop.stopped["metric"], stop.stopped["epoch"], stop.stopped["batch"]) == ("g_loss", 2, 12)


def test_a_second_ctrl_c_stops_at_once():
    checkpoint = Checkpoint("unused")
    previous = signal.signal(signal.SIGINT, checkpoint.signal_handler)
    try:
        signal.raise_signal(signal.SIGINT)
        assert checkpoint.stop_requested == "SIGINT"
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)

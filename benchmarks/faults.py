"""Fault injection: kill -9 during `kerasgen train` and resume, NaN injection, malformed inputs.

Prints three Markdown tables:
1. kills: per preset, a run killed with SIGKILL `--kills` times, each time a uniform random moment
   (at most 1.6/kills of the run's duration) after the start's first training step, and resumed with
   `--resume` after each, until it finishes: the resumes that ran, the work lost per kill (steps
   done at the kill, read from the child's unbuffered progress bar, minus the newest complete
   checkpoint's position, in epochs), the checkpoints that failed to load after a kill (corrupted)
   out of those checked, and whether the final weights equal an uninterrupted run's bit for bit;
2. NaN injection: a weight set to NaN after step k; where training stopped and whether the newest
   checkpoint is finite and loads;
3. bad inputs: malformed files and requests per entry point, and how many got a one-line error of
   the documented kind (no traceback, no crash, no output).

    python benchmarks/faults.py [--kills 20] [--seed 0] [--presets dcgan:digits vae:digits realnvp:toy2d:moons]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from common import machine, print_table  # noqa: E402

PRESET_RUNS = {  # preset:data -> extra train arguments (runs of 30-60 s on 2 CPU cores, most of it training)
    "dcgan:digits": ["--epochs", "12", "--batch-size", "64", "--checkpoint-every", "8"],
    "vae:digits": ["--epochs", "30", "--batch-size", "64", "--checkpoint-every", "8"],
    "realnvp:toy2d:moons": ["--epochs", "6", "--batch-size", "128", "--n-samples", "8192", "--checkpoint-every", "16"],
}


def _train_argv(spec, out, resume=False, quiet=True):
    preset, data = spec.split(":", 1)
    argv = [sys.executable, "-m", "kerasgen", "train", preset, "--data", data, "--out", out, "--seed", "1",
            "--sample-every", "1000", *PRESET_RUNS[spec]]
    return argv + (["--quiet"] if quiet else []) + (["--resume"] if resume else [])


def _env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1"}


def _final_weights(out):
    import kerasgen as kg

    return [np.asarray(w) for w in kg.models.load(os.path.join(out, "model.keras")).weights]


def _checkpoints_load(folder):
    """(number of complete checkpoints, number that failed to load or hold non-finite weights)."""
    import kerasgen as kg
    from kerasgen.callbacks.checkpoint import complete_checkpoints

    found = complete_checkpoints(folder)
    bad = 0
    for _, _, stem in found:
        try:
            kg.models.load(os.path.join(folder, stem + ".keras"))
        except Exception:
            bad += 1
    return len(found), bad


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _Progress:
    """Reads a `kerasgen train` child's unbuffered progress bar as it runs: the last epoch header
    and the last "steps done/steps" count after it."""

    def __init__(self, proc):
        self.text, self._proc = "", proc
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        fd = self._proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                return
            self.text += _ANSI.sub("", chunk.decode(errors="replace"))

    def training(self) -> bool:
        """Whether a step has run (a progress count after the first epoch header: tracing is over)."""
        header = re.search(r"Epoch \d+/\d+", self.text)
        return bool(header and re.search(r"(\d+)/\d+ ", self.text[header.end():]))

    def position(self):
        """(epoch header number, steps done in it, whether it is this process's first bar) of the last
        progress update, or None before the first epoch header."""
        headers = list(re.finditer(r"Epoch (\d+)/\d+", self.text))
        if not headers:
            return None
        counts = re.findall(r"(\d+)/\d+ ", self.text[headers[-1].end():])
        return int(headers[-1].group(1)), int(counts[-1]) if counts else 0, len(headers) == 1

    def join(self):
        self._thread.join(timeout=10)


def _absolute_step(position, steps_per_epoch, resumed_from):
    """Training steps done at a progress-bar position; the first bar of a start resumed inside an epoch
    counts the rest of that epoch only."""
    epoch, done, first_bar = position
    skip = resumed_from[1] if resumed_from else 0
    return (epoch - 1) * steps_per_epoch + done + (skip if first_bar else 0)


def kill_runs(spec, kills, rng, work):
    """Runs `spec` once uninterrupted, then killed `kills` times during training (each start is killed
    a uniform random time of at most 1.6/kills of the run's training time after its first step) and
    resumed after each; returns a table row."""
    from kerasgen.callbacks.checkpoint import complete_checkpoints

    reference = os.path.join(work, spec.replace(":", "-") + "-reference")
    began = time.time()
    subprocess.run(_train_argv(spec, reference), env=_env(), check=True, capture_output=True)
    wall = time.time() - began
    with open(os.path.join(reference, "run.json")) as f:
        epochs = json.load(f)["epochs"]
    with open(os.path.join(reference, "checkpoints", complete_checkpoints(
            os.path.join(reference, "checkpoints"))[-1][2] + ".json")) as f:
        steps_per_epoch = json.load(f)["steps_per_epoch"]
    training = wall * 0.7  # a rough share of the wall time spent in steps: only spreads the kills
    folder = os.path.join(work, spec.replace(":", "-") + "-killed")
    ckpts = os.path.join(folder, "checkpoints")
    done_kills, resumes, failed, lost, corrupted, checked = 0, 0, 0, [], 0, 0
    for k in range(kills + 1):
        if _finished(folder):
            break
        found = complete_checkpoints(ckpts)
        resumed_from = found[-1][:2] if found else None
        resumes += int(resumed_from is not None)
        proc = subprocess.Popen(_train_argv(spec, folder, resume=resumed_from is not None, quiet=False), env=_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        progress = _Progress(proc)
        if k == kills:  # the last start runs to the end
            failed += int(proc.wait() != 0)
            progress.join()
            break
        while not progress.training() and proc.poll() is None:
            time.sleep(0.05)
        if proc.poll() is None:
            time.sleep(rng.uniform(0.0, 1.6 * training / kills))
        if proc.poll() is not None:  # it ended by itself: finished, or a resume that failed
            progress.join()
            failed += int(proc.returncode != 0)
            if proc.returncode == 0:
                break
            continue
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        progress.join()
        done_kills += 1
        at_kill = _absolute_step(progress.position(), steps_per_epoch, resumed_from)
        found = complete_checkpoints(ckpts)
        saved = found[-1][0] * steps_per_epoch + found[-1][1] if found else 0
        lost.append(max(0, at_kill - saved) / steps_per_epoch)
        n, bad = _checkpoints_load(ckpts)
        checked += n
        corrupted += bad
    same = all(np.array_equal(a, b) for a, b in zip(_final_weights(folder), _final_weights(reference)))
    lost_cell = f"{np.mean(lost):.2f} / {np.max(lost):.2f}" if lost else "-"
    return [spec, epochs, f"{wall:.0f} s", done_kills, f"{resumes - failed} of {resumes}", lost_cell,
            f"{corrupted} of {checked}", "yes" if same else "NO"]


def _finished(run):
    """Whether the run wrote model.keras after its newest checkpoint."""
    from kerasgen.callbacks.checkpoint import latest

    model = os.path.join(run, "model.keras")
    found = latest(os.path.join(run, "checkpoints"))
    return os.path.isfile(model) and found is not None and os.path.getmtime(model) >= found[1]["time"]


def nan_injection(work, step=37):
    """A weight set to NaN after step `step` of a GAN on the digits; returns a table row."""
    import keras

    import kerasgen as kg
    from kerasgen.callbacks import Checkpoint, StopOnNonFinite
    from kerasgen.callbacks.checkpoint import latest

    class Poison(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.seen = getattr(self, "seen", 0) + 1
            if self.seen == step:
                w = self.model.generator.trainable_weights[0]
                w.assign(np.full(w.shape, np.nan, w.dtype))

    ds, info = kg.data.load("digits", batch_size=64, seed=0, return_info=True)
    model = kg.models.get("dcgan", data=info, seed=0)
    model.compile(steps_per_execution=1)
    folder = os.path.join(work, "nan-checkpoints")
    stop, checkpoint = StopOnNonFinite(), Checkpoint(folder, every_steps=10, steps_per_epoch=len(ds))
    model.fit(ds, epochs=10, callbacks=[stop, checkpoint, Poison()], verbose=0)
    path, meta = latest(folder)
    try:
        kg.models.load(path)
        loads = "finite, loads"
    except Exception as err:  # reported, not hidden
        loads = f"FAILS: {err}"
    steps_per_epoch = len(ds)
    stopped = stop.stopped
    stopped_step = (stopped["epoch"] - 1) * steps_per_epoch + stopped["batch"] if stopped else None
    return ["dcgan, digits", f"after step {step}", f"step {stopped_step}" if stopped else "did not stop",
            stop.message or "-", f"epoch {meta['epoch']}, batch {meta['batch']}", loads]


def bad_inputs(work):
    """Malformed inputs per entry point; returns table rows (entry point, tried, clear errors)."""
    import zipfile

    import keras
    import tensorflow as tf

    import kerasgen as kg
    from kerasgen.cli import main
    from kerasgen.export.savedmodel import serve_rest

    def clear(fn, kinds=(ValueError, FileNotFoundError, TypeError)):
        try:
            fn()
        except kinds as err:
            return "\n" not in str(err) and "Traceback" not in str(err)
        except Exception:
            return False
        return False

    rows = []
    # loaders
    def npz(name, **arrays):
        path = os.path.join(work, name + ".npz")
        np.savez(path, **arrays)
        return "npz:" + path

    specs = [npz("nan", x=np.full((10, 2), np.nan, np.float32)), npz("empty", x=np.zeros((0, 2), np.float32)),
             npz("ragged-labels", x=np.zeros((10, 2), np.float32), y=np.zeros(3)),
             npz("no-x", z=np.zeros((10, 2))), npz("strings", x=np.array([["a", "b"]] * 4)),
             "toy2d:nothing", "folder:" + os.path.join(work, "missing-folder"), "unknown:spec", "tfds:not_a_dataset"]
    rows.append(["data loaders (`kg.data.load`)", len(specs), sum(clear(lambda s=s: kg.data.load(s)) for s in specs)])
    # model files
    model = kg.models.get("realnvp", data_shape=(2,), hidden=(8,), num_steps=2, seed=0)
    model.compile()
    good = os.path.join(work, "good.keras")
    model.save(good)
    data = open(good, "rb").read()
    files = {}
    for name, content in [("truncated", data[: len(data) // 2]), ("random", os.urandom(4096)), ("empty", b""),
                          ("flipped", data[: len(data) // 2] + bytes(b ^ 0xFF for b in data[len(data) // 2:]))]:
        files[name] = os.path.join(work, name + ".keras")
        open(files[name], "wb").write(content)
    files["zip"] = os.path.join(work, "zip.keras")
    with zipfile.ZipFile(files["zip"], "w") as z:
        z.writestr("a.txt", "x")
    files["foreign"] = os.path.join(work, "foreign.keras")
    keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).save(files["foreign"])
    files["missing"] = os.path.join(work, "missing.keras")
    rows.append(["`kg.models.load`", len(files), sum(clear(lambda p=p: kg.models.load(p)) for p in files.values())])
    devnull = open(os.devnull, "w")
    stderr, sys.stderr = sys.stderr, devnull
    try:
        cli = sum(main(["sample", p, "--out", os.path.join(work, "s.npy")]) == 2 for p in files.values())
    finally:
        sys.stderr = stderr
    rows.append(["`kerasgen sample/export/evaluate` on those files", len(files), cli])
    # export of non-finite models
    nan_models = []
    for preset, shape in (("dcgan", (8, 8, 1)), ("vae", (8, 8, 1)), ("realnvp", (2,))):
        m = kg.models.get(preset, data_shape=shape, seed=0)
        m.compile()
        w = m.weights[-1]
        w.assign(np.full(w.shape, np.nan, w.dtype))
        nan_models.append(m)
    tried = ok = 0
    for m in nan_models:
        for fn in (lambda: m.save(os.path.join(work, "n.keras")),
                   lambda: kg.export.saved_model(m, os.path.join(work, "sm", "n")),
                   lambda: kg.export.onnx(m, os.path.join(work, "n.onnx"))):
            tried += 1
            ok += clear(fn)
    rows.append(["save / SavedModel / ONNX export of NaN weights", tried, ok])
    # REST and ONNX runtime
    gan = kg.models.get("cgan", data_shape=(8, 8, 1), num_classes=10, base_filters=8, seed=0)
    gan.compile()
    folder = kg.export.saved_model(gan, os.path.join(work, "sm", "cgan"), verify=False)
    onnx_files = kg.export.onnx(gan, os.path.join(work, "cgan.onnx"), verify=False)
    loaded = tf.saved_model.load(folder)
    dim = gan.generator_input_dim
    requests = [{"instances": [{"z": [float("nan")] * dim, "labels": 1}]},
                {"instances": [{"z": [0.0] * dim, "labels": 10}]},
                {"inputs": {"z": np.zeros((4097, dim)).tolist(), "labels": [0] * 4097}},
                {"signature_name": "sample", "inputs": {"num_samples": 10**6, "seed": 1}},
                {"inputs": {"z": [[0.0] * dim]}}, {"instances": [{"z": [0.0] * dim}]},
                {"inputs": {"z": [[0.0] * (dim + 1)], "labels": [0]}}, {"inputs": {"z": [["a"] * dim], "labels": [0]}},
                {"signature_name": "serving_default"}, {"signature_name": "nope", "instances": []}]
    answered = sum(set(serve_rest(loaded, r)) == {"error"} for r in requests)
    rows.append(["REST predict (TF Serving contract, `serve_rest`)", len(requests), answered])
    generator = kg.export.OnnxGenerator(onnx_files["generate"], max_batch=64)
    calls = [lambda: generator.generate(np.zeros((2, 3), np.float32), [0, 1]),
             lambda: generator.generate(np.array([["a"] * dim]), [0]),
             lambda: generator.generate(np.full((1, dim), np.nan, np.float32), [0]),
             lambda: generator.generate(np.zeros((1, dim), np.float32)),
             lambda: generator.sample(2, labels=[0, 10]), lambda: generator.sample(65),
             lambda: generator.sample(-1), lambda: generator.log_prob(np.zeros((1, 8, 8, 1)))]
    rows.append(["`OnnxGenerator`", len(calls), sum(clear(c) for c in calls)])
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--presets", nargs="*", default=list(PRESET_RUNS), choices=list(PRESET_RUNS))
    args = p.parse_args()
    rng = random.Random(args.seed)
    print(f"machine: {machine()}; kerasgen fault injection, {args.kills} kills per run, seed {args.seed}\n")
    with tempfile.TemporaryDirectory() as work:
        rows = [kill_runs(spec, args.kills, rng, work) for spec in args.presets]
        print_table(["preset:data", "epochs", "uninterrupted", "kills (during training)", "resumes that ran",
                     "epochs lost per kill (mean / max)", "checkpoints corrupted / loaded", "final weights = uninterrupted"],
                    rows)
        print()
        print_table(["model", "NaN injected", "stopped at", "message", "newest checkpoint", "checkpoint"],
                    [nan_injection(work)])
        print()
        print_table(["entry point", "malformed inputs tried", "clear errors"], bad_inputs(work))


if __name__ == "__main__":
    main()

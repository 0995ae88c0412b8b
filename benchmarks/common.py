"""What the benchmark scripts share: the machine's description and Markdown tables."""

from __future__ import annotations

import os
import platform
import time

import keras
import numpy as np

DEFAULT_MNIST = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist-8k.npz")


def machine() -> str:
    """e.g. "x86_64 CPU x2"."""
    return f"{platform.machine()} CPU x{os.cpu_count()}"


def print_table(headers, rows) -> None:
    """Prints a Markdown table; rows are sequences of already formatted cells."""
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")


def train_for(model, density, budget_s, batch_size, seed, max_steps=None, chunk_steps=200):
    """Trains on fresh samples until the time budget or `max_steps` is spent; returns steps, seconds."""
    rng_seed = seed
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < budget_s and (max_steps is None or steps < max_steps):
        x = density.sample(batch_size * chunk_steps, seed=rng_seed)
        rng_seed += 1
        model.fit(x, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        steps += chunk_steps
    return steps, time.perf_counter() - start


class TimeBudget(keras.callbacks.Callback):
    """Stops training at the end of the epoch in which `seconds` have passed."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds, self.start = seconds, None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def load_mnist(path):
    """Grey levels in [0, 1]: train (7,000, 28, 28, 1) and test (1,000, 28, 28, 1)."""
    if not os.path.isfile(path):
        raise SystemExit(f"no MNIST file at {path}; pass --data PATH (an .npz with x of shape (N, 28, 28))")
    x = np.load(path)["x"].astype(np.float32) / 255.0
    if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) < 8000:
        raise SystemExit(f"expected at least 8,000 images of 28x28, got {x.shape}")
    x = x[..., None]
    return x[:7000], x[7000:8000]


def run_grid(run, args):
    """`run(preset, data, args)` for every data set and preset, printing each result as it comes."""
    rows = []
    for data in args.data:
        for preset in args.presets:
            rows.append(run(preset, data, args))
            print(f"# {rows[-1]}", flush=True)
    return rows


def matmul_peak_gflops(dtype="float32", size=2048, repeats=10) -> float:
    """This machine's measured matrix-multiply rate in GFLOP/s: the best of `repeats` timed
    (size x size) @ (size x size) products in TensorFlow (dtype "float32" or "bfloat16")."""
    import tensorflow as tf

    a = tf.random.normal((size, size), dtype=tf.float32)
    a = tf.cast(a, dtype)
    matmul = tf.function(lambda x: tf.matmul(x, x))
    matmul(a).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def cpu_flags_summary() -> str:
    """The CPU (model name, family, model and stepping: `kerasgen.precision.cpu_identity`) and its vector /
    matrix extensions that matter for float32 and bfloat16."""
    from kerasgen.precision import cpu_flags, cpu_identity

    flags = cpu_flags()
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")
    return f"{cpu_identity()}; flags: {' '.join(f for f in wanted if f in flags) or 'none of ' + '/'.join(wanted)}"

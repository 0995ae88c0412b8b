"""Fixed costs of short runs: the time to the first step and the cost of many short epochs.

Each model trains on the same cached dataset of 2-D points (30,000 by default, batch 256: 118
batches, the last one partial) in two ways, each in its own fresh model:
- "10 epochs": `fit(ds, epochs=10)`, 10 epochs of 118 steps;
- "1 epoch": `fit(ds.repeat(10), epochs=1)`, one epoch of 1,172 steps (the same points, batched
  across the epoch boundaries, so one partial batch instead of ten).
Times come from batch-end timestamps inside `fit` (Keras callbacks): the first step (tracing,
graph optimisation, the first execution), then the rest, and for the 10 epochs the wait from the
start of each epoch (from the third on) to the end of its first execution of steps (median); medians
of `--rounds` rounds, the two ways alternating. The penalty is what the 10 epochs take after their first step beyond the single
epoch's, as a share of the single epoch's. "plain keras"
is a Keras `Sequential` MLP (64-64) with `compile("adam", "mse")`, the reference a user knows.

    python benchmarks/epoch_overhead.py                       # plain keras, gan, realnvp, maf, vae; 3 rounds
    python benchmarks/epoch_overhead.py --models gan --points 60000 --epochs 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerasgen as kg  # noqa: E402
from common import machine, print_table  # noqa: E402

PLAIN = "plain keras"


class _BatchTimes(keras.callbacks.Callback):
    """Seconds from the start of `fit` to the end of the first execution, and to the end of training;
    and, per epoch, from its start to the end of its first execution."""

    def on_train_begin(self, logs=None):
        self.start, self.first, self.total, self.epoch_firsts = time.perf_counter(), None, None, []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()
        self.epoch_firsts.append(None)

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if self.first is None:
            self.first = now - self.start
        if self.epoch_firsts[-1] is None:
            self.epoch_firsts[-1] = now - self.epoch_start

    def on_train_end(self, logs=None):
        self.total = time.perf_counter() - self.start


def _model(name):
    if name == PLAIN:
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(64, activation="relu"),
                                  keras.layers.Dense(64, activation="relu"), keras.layers.Dense(2)])
        model.compile("adam", "mse")
        return model
    model = kg.models.get(name, data_shape=(2,), seed=0)
    model.compile()
    return model


def _fit(name, dataset, epochs):
    times = _BatchTimes()
    _model(name).fit(dataset, epochs=epochs, verbose=0, callbacks=[times])
    later_firsts = times.epoch_firsts[2:] or [float("nan")]
    return times.first, times.total - times.first, statistics.median(later_firsts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=[PLAIN, "gan", "realnvp", "maf", "vae"])
    parser.add_argument("--points", type=int, default=30_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(args.points, 2)) * [1.0, 0.5] + rng.integers(0, 2, (args.points, 1)) * 2).astype("float32")
    rows = []
    for name in args.models:
        base = tf.data.Dataset.from_tensor_slices((x, x) if name == PLAIN else x).cache()
        steps = int(base.batch(args.batch_size).cardinality())
        runs = [(_fit(name, base.batch(args.batch_size), args.epochs),
                 _fit(name, base.repeat(args.epochs).batch(args.batch_size), 1)) for _ in range(args.rounds)]
        first_many, rest_many, epoch_first, first_one, rest_one = (
            statistics.median(run[way][part] for run in runs) for way, part in ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1)))
        rows.append([name, f"{first_many:.2f} / {first_one:.2f}", f"{epoch_first * 1000:.0f}", f"{rest_many:.2f}",
                     f"{rest_one:.2f}", f"{rest_many - rest_one:+.2f} s ({(rest_many - rest_one) / rest_one:+.0%})"])
        print(f"# {name} done", flush=True)
    print(f"\n{machine()}, TensorFlow {tf.__version__}, Keras {keras.__version__}; {args.points} points, batch "
          f"{args.batch_size}: {args.epochs} epochs of {steps} steps against 1 epoch of "
          f"{-(-args.points * args.epochs // args.batch_size)}; medians of {args.rounds} rounds\n")
    print_table(["model", "first step (s): epochs / one", "first execution of epochs 3+ (ms)",
                 f"{args.epochs} epochs after the first step (s)",
                 "1 epoch after the first step (s)", "short-epoch penalty"], rows)


if __name__ == "__main__":
    main()
